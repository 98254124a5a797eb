import io
import logging

from academy_site.logging_filters import ScrubSecrets

SECRET = "sk-proj-Q7vXb2LmN9pRt4Kw8ZyA1cD3eF5gH6jK7mN8pQ9rS0tU"


def _logger(stream):
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(ScrubSecrets())
    logger = logging.getLogger("tests.log_scrubbing")
    logger.handlers = [handler]
    logger.propagate = False
    return logger


def test_a_secret_in_a_log_message_is_redacted():
    stream = io.StringIO()
    _logger(stream).warning("calling the API with key %s failed", SECRET)
    out = stream.getvalue()
    assert SECRET not in out
    assert "[REDACTED:" in out
    assert "calling the API with key" in out


def test_a_secret_in_a_traceback_is_redacted():
    stream = io.StringIO()
    try:
        raise RuntimeError(f"connect to postgres://app:{SECRET}@db:5432/academy refused")
    except RuntimeError:
        _logger(stream).exception("run 7 failed")
    out = stream.getvalue()
    assert "RuntimeError" in out and "Traceback" in out
    assert SECRET not in out


def test_ordinary_lines_pass_untouched():
    stream = io.StringIO()
    _logger(stream).info("token bucket refilled; max_tokens=%d", 512)
    assert stream.getvalue() == "INFO token bucket refilled; max_tokens=512\n"


def test_settings_wire_the_filter_on_the_console_handler(settings):
    assert "scrub_secrets" in settings.LOGGING["handlers"]["console"]["filters"]


def test_celery_workers_keep_the_django_logging_config():
    from celery.signals import setup_logging

    import academy_site.celery  # noqa: F401  (connects the receiver)

    assert setup_logging.receivers, "celery would replace the root handlers and drop the secret filter"
