from pathlib import Path

from django.apps import AppConfig


class AcademySiteConfig(AppConfig):
    name = "academy_site"
    verbose_name = "Academy site"

    def ready(self):
        from django.conf import settings

        # WhiteNoise expects the static folder to exist (collectstatic fills it); made here, at
        # start-up, rather than as a side effect of importing the settings.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
