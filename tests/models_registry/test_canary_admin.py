"""Per-line canary settings in the Django admin: Admins set them, checked like the API's; others only read canaries."""

from models_registry import canary as canaries
from models_registry.models import CanaryPolicy
from tests.factories import make_user
from tests.models_registry.factories import make_line


def test_an_admin_overrides_a_lines_canary_settings_and_bad_values_are_refused(client, alice):
    line = make_line()
    client.force_login(alice)
    bad = client.post("/admin/models_registry/canarypolicy/add/", {"line": line.pk, "confidence": "2"})
    assert bad.status_code == 200 and "confidence must be between" in bad.content.decode()
    assert not CanaryPolicy.objects.exists()
    good = client.post("/admin/models_registry/canarypolicy/add/", {"line": line.pk, "confidence": "0.99",
                                                                     "share": "0.2"})
    assert good.status_code == 302
    policy = canaries.line_policy(line)
    assert policy["confidence"] == 0.99 and policy["share"] == 0.2
    assert policy["max_samples"] == canaries.default_policy()["max_samples"]


def test_staff_without_the_admin_role_cannot_change_canary_settings(client, db):
    operator = make_user("otto", "Operator", is_staff=True)
    line = make_line()
    client.force_login(operator)
    assert client.post("/admin/models_registry/canarypolicy/add/",
                       {"line": line.pk, "confidence": "0.99"}).status_code == 403
    assert client.get("/admin/models_registry/canary/").status_code == 200
