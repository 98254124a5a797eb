import pytest


@pytest.fixture
def root(settings, tmp_path):
    """The one folder git repositories may live under (GIT_ALLOWED_ROOTS) for a git test."""
    settings.GIT_ALLOWED_ROOTS = [tmp_path / "work"]
    (tmp_path / "work").mkdir()
    return tmp_path / "work"
