"""DatasetBuild.config has a typed shape whose ranges and choices come from the build configuration's own tables."""

import copy

import pytest
from django.core.exceptions import ValidationError

from curation.models import DatasetBuild
from curation.pipeline import config as build_config_module
from curation.pipeline.config import build_config
from curation.services.datasets import start_build
from curation.shapes import BuildConfig, check_build_config


def _config_with(change) -> dict:
    config = copy.deepcopy(build_config({}))
    change(config)
    return config


def test_the_default_configuration_fits_the_shape():
    check_build_config(build_config({}))
    check_build_config(build_config({"sources": "lessons", "split": {"seed": 7}, "mix": {"weights": {"lessons": 2}}}))


def test_the_shapes_ranges_are_the_configuration_tables():
    schema = BuildConfig.model_json_schema()
    for section, key, _kind, low, high in build_config_module._NUMBERS:
        name = f"Build{section.capitalize()}"
        assert schema["$defs"][name]["properties"][key]["minimum"] == low
        assert schema["$defs"][name]["properties"][key]["maximum"] == high


@pytest.mark.parametrize("change, field", [
    (lambda c: c["filters"].update(min_chars=-1), "config.filters.min_chars"),
    (lambda c: c["dedup"].update(num_perm=2.5), "config.dedup.num_perm"),
    (lambda c: c["filters"].update(drop_failed="yes"), "config.filters.drop_failed"),
    (lambda c: c.update(format="csv"), "config.format"),
    (lambda c: c.update(secrets_mode="keep"), "config.secrets_mode"),
    (lambda c: c.update(sources=[]), "config.sources"),
    (lambda c: c["mix"]["caps"].update(forum=3), "config.mix.caps.forum"),
    (lambda c: c["mix"]["weights"].update(lessons=-1), "config.mix.weights.lessons"),
    (lambda c: c["mix"].update(min_reviewed_share=1.0), "config.mix.min_reviewed_share"),
    (lambda c: c.update(colour="red"), "config.colour"),
])
def test_a_bad_configuration_is_refused_naming_the_field(change, field):
    with pytest.raises(ValidationError) as caught:
        check_build_config(_config_with(change))
    assert field in caught.value.message_dict
    assert caught.value.message_dict[field][0].startswith(f"{field}: ")


def test_min_chars_above_max_chars_is_refused():
    with pytest.raises(ValidationError, match="min_chars must not exceed"):
        check_build_config(_config_with(lambda c: c["filters"].update(min_chars=50, max_chars=10)))


@pytest.mark.django_db
def test_a_build_is_not_recorded_when_its_configuration_does_not_fit(alice, monkeypatch):
    broken = _config_with(lambda c: c["dedup"].update(shingle_words=0))
    monkeypatch.setattr("curation.services.datasets.build_config", lambda overrides: broken)
    with pytest.raises(ValidationError) as caught:
        start_build(alice, name="n", format="alpaca", queue=False)
    assert "config.dedup.shingle_words" in caught.value.message_dict
    assert not DatasetBuild.objects.exists()


@pytest.mark.django_db
def test_a_recorded_build_keeps_its_configuration_as_built(alice):
    build = start_build(alice, name="n", format="sharegpt", overrides={"split": {"seed": 3}}, queue=False)
    build.refresh_from_db()
    assert build.config == build_config({"format": "sharegpt", "split": {"seed": 3}})
