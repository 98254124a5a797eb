from django.apps import AppConfig


class ProfessorConfig(AppConfig):
    name = "professor"
    verbose_name = "Professor"

    def ready(self):
        # training cannot import professor: it offers hook lists that we fill in.
        from professor import hooks

        hooks.register()

    def overview_counts(self):
        from professor.overview import counts

        return counts()

    def overview_panel(self, request):
        """The readiness decision and the last cycles, as HTML for the Overview page."""
        from professor.overview import panel

        return panel(request)
