"""Server log hygiene: a refused request is one line, not a traceback."""

import logging

from academy_site.logging_filters import ExpectedRefusals


def _record(status: int) -> logging.LogRecord:
    try:
        raise PermissionError("nope")
    except PermissionError:
        import sys

        info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/x",), info)
    record.status_code = status
    return record


def test_a_403_is_logged_without_its_traceback():
    record = _record(403)
    assert ExpectedRefusals().filter(record) and record.exc_info is None
    assert "Traceback" not in logging.Formatter().format(record)


def test_other_errors_keep_their_traceback():
    record = _record(500)
    assert ExpectedRefusals().filter(record) and record.exc_info is not None


def test_the_console_handler_uses_the_filter():
    handler = next(h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)
    assert any(isinstance(f, ExpectedRefusals) for f in handler.filters)

