from django.urls import path

from professor import api

urlpatterns = [
    path("professor/readiness", api.readiness, name="api_professor_readiness"),
    path("professor/ask", api.ask, name="api_professor_ask"),
    path("professor/cycles", api.cycles, name="api_professor_cycles"),
    path("professor/cycles/<int:cycle_id>", api.cycle_detail, name="api_professor_cycle"),
    path("professor/suggest", api.suggest, name="api_professor_suggest"),
]
