"""Reasons given for promotions, rollbacks and rejections are stored with secrets redacted."""

import pytest

from models_registry import services
from models_registry.models import ModelVersion
from tests.models_registry.factories import make_line, make_version

TOKEN = "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"


@pytest.fixture
def line(db):
    return make_line()


def test_a_promotion_reason_is_stored_redacted(line, alice):
    activation = services.promote_version(make_version(line), alice, f"retrained with HF_TOKEN={TOKEN}")
    activation.refresh_from_db()
    assert activation.reason == "retrained with HF_TOKEN=[REDACTED:huggingface_token]"


def test_a_rollback_reason_is_stored_redacted(line, alice):
    services.promote_version(make_version(line), alice, "first")
    services.promote_version(make_version(line), alice, "second")
    activation = services.rollback_line(line, alice, "v2 leaked the admin password is Tr0pical-Fish")
    activation.refresh_from_db()
    assert "Tr0pical-Fish" not in activation.reason and "[REDACTED:password]" in activation.reason


def test_a_rejection_reason_is_stored_redacted(line, alice):
    version = make_version(line)
    services.reject_version(version, alice, f"trained on a dataset holding {TOKEN}")
    assert TOKEN not in ModelVersion.objects.get(pk=version.pk).notes
