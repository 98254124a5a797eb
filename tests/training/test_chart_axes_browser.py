"""The run chart's axes in a real headless Chromium: learning-rate ticks read as plain scientific numbers."""

import re

import pytest

from tests.browser import academy_base_url, needs_chromium, signed_in_page

pytestmark = needs_chromium
PASSWORD = "chart-axes-password-1"

# A run whose learning rate decays linearly from 2.5e-5, the range that drew ticks like "0.225e−4".
SETUP = """
import time
from jobs.models import JobStatus
from training.models import MetricPoint
from tests.training.factories import make_run
run = make_run(status=JobStatus.SUCCEEDED, hyperparameters={"lr": 2.5e-5, "epochs": 1})
MetricPoint.objects.bulk_create([MetricPoint(run=run, step=step, epoch=step / 40, loss=2.0 / step,
                                             learning_rate=2.5e-5 * (1 - step / 41), ts=time.time())
                                 for step in range(1, 41)])
print(run.pk)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from academy_base_url(tmp_path_factory, "chart-axes", PASSWORD, setup=SETUP)


def test_learning_rate_ticks_are_one_digit_mantissas_not_fractions_of_a_power(server):
    with signed_in_page(server, "olga", PASSWORD, viewport={"width": 1280, "height": 1000}) as page:
        page.goto("/training/runs/1/")  # the only run of a fresh database
        page.wait_for_function("() => document.querySelectorAll('#loss-chart .y2tick text').length >= 3")
        ticks = page.eval_on_selector_all("#loss-chart .y2tick text", "nodes => nodes.map((n) => n.textContent)")
    nonzero = [tick for tick in ticks if tick not in ("0", "0e+0")]
    assert nonzero, ticks
    for tick in nonzero:
        # "2.5e−5", "1e−5": a mantissa from 1 to 9.99, never "0.225e−4"
        assert re.fullmatch(r"[1-9](\.\d{1,2})?e[−-]\d+", tick), ticks
