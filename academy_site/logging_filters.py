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


class ScrubSecrets(logging.Filter):
    """Redact credentials from every log line and traceback before a handler writes it.

    Exceptions can carry what a run or a request was given (a URL with a password, a token in
    a header); the server log is read by more people than the data, so it gets the same
    scrubber as stored text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from curation.secrets import scrub_text  # imported late: logging is configured before apps load

        message = record.getMessage()
        scrubbed, found = scrub_text(message)
        if found:
            record.msg, record.args = scrubbed, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_text(record.exc_text)[0]
        return True
