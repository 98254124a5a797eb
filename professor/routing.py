from django.urls import path

from professor.consumers import CycleConsumer

# The cycle's own socket path; listed before the generic /ws/jobs/<kind>/<pk>/ route, which it extends.
urlpatterns = [
    path("ws/jobs/cycle/<int:pk>/", CycleConsumer.as_asgi()),
]
