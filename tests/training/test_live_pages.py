import json

import pytest
from django.urls import reverse

from tests.training.factories import add_points, make_run

pytestmark = pytest.mark.django_db


def _page(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_run_page_shows_run_and_loads_plotly_locally(client, viewer):
    run = make_run(hyperparameters={"lr": 0.001, "epochs": 3})
    response = _page(client, viewer, reverse("run_detail", args=[run.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-ws-path="/ws/runs/{run.pk}/"' in html
    assert "/static/vendor/plotly.min.js" in html and "cdn" not in html.lower()
    assert "/static/js/run_live.js" in html
    assert 'id="loss-chart"' in html and "0.001" in html


def test_cancel_button_is_shown_to_operators_only(client, bob, viewer):
    run = make_run()
    cancel = reverse("run_cancel", args=[run.pk])
    assert cancel in _page(client, bob, reverse("run_detail", args=[run.pk])).content.decode()
    client.logout()
    assert cancel not in _page(client, viewer, reverse("run_detail", args=[run.pk])).content.decode()


def test_run_page_rejects_outsider_and_unknown_run(client, dave, viewer):
    run = make_run()
    assert _page(client, dave, reverse("run_detail", args=[run.pk])).status_code == 403
    client.logout()
    assert _page(client, viewer, reverse("run_detail", args=[run.pk + 1000])).status_code == 404


def test_run_page_sends_anonymous_to_login(client):
    run = make_run()
    response = client.get(reverse("run_detail", args=[run.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_compare_overlays_runs_and_highlights_differing_settings(client, viewer):
    first = make_run(hyperparameters={"lr": 0.001, "epochs": 3})
    second = make_run(hyperparameters={"lr": 0.002, "epochs": 3}, base_model=first.base_model, dataset=first.dataset)
    add_points(first, [1, 2, 3])
    add_points(second, [1, 2])
    add_points(second, [2], kind="eval")
    response = _page(client, viewer, reverse("run_compare") + f"?runs={first.pk},{second.pk}")
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.context["rows"]}
    assert rows["lr"]["differs"] and rows["lr"]["values"] == [0.001, 0.002]
    assert not rows["epochs"]["differs"] and not rows["base model"]["differs"]
    html = response.content.decode()
    assert 'class="differs"' in html
    series = json.loads(html.split('id="compare-data" type="application/json">')[1].split("</script>")[0])
    assert [s["id"] for s in series] == [first.pk, second.pk]
    assert series[0]["train"]["step"] == [1, 2, 3] and series[0]["train"]["epoch"] == [0.1, 0.2, 0.3]
    assert series[1]["eval"]["step"] == [2]


def test_compare_names_bad_and_unknown_ids(client, viewer):
    run = make_run()
    response = _page(client, viewer, reverse("run_compare") + f"?runs={run.pk},abc&run=999999")
    assert response.status_code == 200
    assert [r.pk for r in response.context["runs"]] == [run.pk]
    assert response.context["errors"] == ["'abc' is not a run id", "no run with id 999999"]


def test_compare_rejects_outsider(client, dave):
    assert _page(client, dave, reverse("run_compare")).status_code == 403


def test_overview_lists_runs_with_latest_loss(client, viewer):
    run = make_run()
    add_points(run, [1, 2])
    response = _page(client, viewer, reverse("overview"))
    listed = {r["id"]: r for r in response.context["runs"]}
    assert listed[run.pk]["step"] == 2 and listed[run.pk]["loss"] == pytest.approx(1.0)
    assert reverse("run_detail", args=[run.pk]) in response.content.decode()
