"""PROFESSOR_CYCLE_LOST_AFTER_SECONDS is read from the environment, and so is its former name,
PROFESSOR_LEASE_SECONDS, for deployments that still set it."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _lost_after(tmp_path, **variables) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ACADEMY_DATA_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "academy_site.settings", "PYTHONPATH": str(ROOT), "SECRET_KEY": "k",
           **variables}
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("variables,expected", [
    ({}, "600"),
    ({"PROFESSOR_CYCLE_LOST_AFTER_SECONDS": "120"}, "120"),
    ({"PROFESSOR_LEASE_SECONDS": "90"}, "90"),
    ({"PROFESSOR_CYCLE_LOST_AFTER_SECONDS": "120", "PROFESSOR_LEASE_SECONDS": "90"}, "120"),
])
def test_the_new_name_wins_and_the_former_one_is_still_read(tmp_path, variables, expected):
    assert _lost_after(tmp_path, **variables) == expected
