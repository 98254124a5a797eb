"""Logging filters wired in settings.LOGGING."""

import logging


class ExpectedRefusals(logging.Filter):
    """Keep a refused request (403, e.g. a Viewer on an Operator page) to one line, without a traceback.

    Django logs PermissionDenied with the exception attached; a refusal is the app working as
    designed, and a traceback per refusal buries real errors.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.request" and getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
