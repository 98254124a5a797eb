import pytest

from academy_site.env import ConfigError, env_choice_map

ACTIONS = ("redact", "quarantine", "drop")


def test_secret_policy_pairs_override_the_default():
    policy = env_choice_map("SECRET_POLICY", {"default": "redact"}, ACTIONS,
                            environ={"SECRET_POLICY": "private_key=quarantine, default=drop"})
    assert policy == {"default": "drop", "private_key": "quarantine"}
    assert env_choice_map("SECRET_POLICY", {"default": "redact"}, ACTIONS, environ={}) == {"default": "redact"}


@pytest.mark.parametrize("value", ["private_key", "private_key=burn", "=drop", "bad kind=drop"])
def test_a_bad_secret_policy_names_the_variable(value):
    with pytest.raises(ConfigError, match="SECRET_POLICY"):
        env_choice_map("SECRET_POLICY", {"default": "redact"}, ACTIONS, environ={"SECRET_POLICY": value})
