from django.urls import path

from professor import views

urlpatterns = [
    path("", views.professor, name="professor"),
    path("ask", views.ask, name="professor_ask"),
    path("cycles/start", views.cycle_start, name="professor_cycle_start"),
    path("cycles/<int:cycle_id>/", views.cycle_detail, name="professor_cycle"),
]
