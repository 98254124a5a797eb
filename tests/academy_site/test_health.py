import pytest
from django.urls import reverse


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_service_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "broker"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_names_a_stopped_redis(client, settings, monkeypatch):
    closed = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    # A refused connection answers at once, but a loaded machine can take longer than the 2 s bound to say so.
    monkeypatch.setattr("academy_site.readiness.TIMEOUT_S", 30.0)
    settings.CELERY_BROKER_URL = closed
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [closed]}}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        response = client.get("/readyz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["broker", "channel_layer"]
    assert body["checks"]["database"] == {"ok": True}
    assert "Error" in body["checks"]["broker"]["error"]


@pytest.mark.django_db
def test_readyz_names_an_unreachable_database(client, monkeypatch):
    from django.db.utils import OperationalError

    from academy_site import readiness

    def broken():
        raise OperationalError("connection refused")

    monkeypatch.setitem(readiness.CHECKS, "database", broken)
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert "connection refused" in response.json()["checks"]["database"]["error"]


@pytest.mark.django_db
def test_error_pages_are_friendly_when_debug_is_off(client, bob, settings):
    settings.DEBUG = False
    client.force_login(bob)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Not found" in response.content
    assert b"Traceback" not in response.content


@pytest.mark.django_db
def test_plotly_is_served_from_our_own_static_files(client):
    from django.contrib.staticfiles import finders

    path = finders.find("vendor/plotly.min.js")
    assert path and path.endswith("plotly.min.js")
    with open(path, encoding="utf-8") as handle:
        assert "plotly" in handle.read(2000).lower()


@pytest.mark.django_db
def test_unknown_api_path_gets_json_404(client, settings):
    settings.DEBUG = False
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"error": "not found: /api/v1/no-such-endpoint", "details": []}


@pytest.mark.django_db
def test_plotly_is_served_over_http_without_a_cdn(client):
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert len(body) > 1_000_000
