import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from academy_site.env import ConfigError, env_bool, env_choice, env_float, env_int, env_list, env_secret, env_str

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("Yes", True), ("on", True),
                                          ("0", False), ("false", False), ("no", False), ("", False)])
def test_env_bool_reads_common_spellings(raw, expected):
    assert env_bool("DEBUG", not expected, environ={"DEBUG": raw}) is expected


def test_env_bool_rejects_garbage_naming_the_variable():
    with pytest.raises(ConfigError, match="ENABLE_GPU must be a boolean.*'maybe'"):
        env_bool("ENABLE_GPU", environ={"ENABLE_GPU": "maybe"})


def test_env_int_uses_default_when_unset_and_parses_when_set():
    assert env_int("DEFAULT_LORA_RANK", 16, environ={}) == 16
    assert env_int("DEFAULT_LORA_RANK", 16, environ={"DEFAULT_LORA_RANK": " 32 "}) == 32


def test_env_int_rejects_non_integers_and_out_of_range():
    with pytest.raises(ConfigError, match="DEFAULT_LORA_RANK must be an integer, got 'sixteen'"):
        env_int("DEFAULT_LORA_RANK", 16, environ={"DEFAULT_LORA_RANK": "sixteen"})
    with pytest.raises(ConfigError, match="DEFAULT_LORA_RANK must be at least 1, got 0"):
        env_int("DEFAULT_LORA_RANK", 16, min_value=1, environ={"DEFAULT_LORA_RANK": "0"})


def test_env_float_parses_scientific_notation_and_rejects_text():
    assert env_float("DEFAULT_LEARNING_RATE", 1.0, environ={"DEFAULT_LEARNING_RATE": "2e-4"}) == 2e-4
    with pytest.raises(ConfigError, match="DEFAULT_LEARNING_RATE must be a number"):
        env_float("DEFAULT_LEARNING_RATE", 1.0, environ={"DEFAULT_LEARNING_RATE": "fast"})


def test_env_choice_and_list():
    assert env_choice("LOG_LEVEL", "INFO", ("INFO", "DEBUG"), environ={"LOG_LEVEL": "DEBUG"}) == "DEBUG"
    with pytest.raises(ConfigError, match="LOG_LEVEL must be one of INFO, DEBUG"):
        env_choice("LOG_LEVEL", "INFO", ("INFO", "DEBUG"), environ={"LOG_LEVEL": "LOUD"})
    assert env_list("ALLOWED_HOSTS", environ={"ALLOWED_HOSTS": "a.example, b.example,"}) == ["a.example", "b.example"]
    assert env_str("X", "fallback", environ={"X": "  "}) == "fallback"


def test_env_secret_reads_from_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    assert env_secret("SECRET_KEY", environ={"SECRET_KEY_FILE": str(secret)}) == "s3cret"


def test_env_secret_refuses_missing_file_and_both_forms(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE points to .* cannot be read"):
        env_secret("SECRET_KEY", environ={"SECRET_KEY_FILE": str(tmp_path / "absent")})
    with pytest.raises(ConfigError, match="either SECRET_KEY or SECRET_KEY_FILE"):
        env_secret("SECRET_KEY", environ={"SECRET_KEY": "a", "SECRET_KEY_FILE": "b"})


def _manage(env_overrides, tmp_path, *args):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ACADEMY_DATA_DIR": str(tmp_path / "var")}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_start_without_secret_key_stops_with_one_clear_line(tmp_path):
    result = _manage({}, tmp_path, "check")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "academy: configuration error: SECRET_KEY is not set: set SECRET_KEY or SECRET_KEY_FILE, or write a key to "
        f"{tmp_path / 'var' / 'secret_key'} (`make run` does); only DEBUG=true may run without"
    ]


def test_every_manage_command_finds_the_key_in_the_data_root(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret_key").write_text("key-written-by-make-run\n")
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    result = _manage({}, tmp_path, "shell", "--no-imports", "-c", code)
    assert result.stdout.strip() == "key-written-by-make-run", result.stderr
    # An explicit key still wins over the file.
    result = _manage({"SECRET_KEY": "from-the-environment"}, tmp_path, "shell", "--no-imports", "-c", code)
    assert result.stdout.strip() == "from-the-environment", result.stderr


def test_an_empty_key_file_in_the_data_root_is_no_key(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret_key").write_text("\n")
    result = _manage({}, tmp_path, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_writes_the_key_where_settings_look(tmp_path):
    data = tmp_path / "data"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ACADEMY_DATA_DIR": str(data)}
    target = ["make", "--no-print-directory", f"BIN={Path(sys.executable).parent}", str(data / "secret_key")]
    made = subprocess.run(target, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert (data / "secret_key").stat().st_mode & 0o077 == 0  # only its owner reads it
    result = _manage({"ACADEMY_DATA_DIR": str(data)}, tmp_path, "shell", "--no-imports", "-c",
                     "from django.conf import settings; print(settings.SECRET_KEY)")
    assert result.stdout.strip() == (data / "secret_key").read_text().strip() != "", result.stderr


def test_start_with_bad_value_names_the_variable(tmp_path):
    result = _manage({"SECRET_KEY": "x" * 50, "DEFAULT_NUM_EPOCHS": "many"}, tmp_path, "check")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "DEFAULT_NUM_EPOCHS must be an integer, got 'many'" in result.stderr


def test_dotenv_file_in_working_folder_is_read(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / ".env").write_text("SECRET_KEY=from-dotenv-file\nDEFAULT_LORA_RANK=64\n")
    code = "from django.conf import settings; print(settings.SECRET_KEY, settings.DEFAULT_LORA_RANK)"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ACADEMY_DATA_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "academy_site.settings", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["from-dotenv-file", "64"], result.stderr


def test_services_mode_is_chosen_by_environment(tmp_path):
    code = ("from django.conf import settings; print(settings.ACADEMY_MODE, settings.DATABASES['default']['ENGINE'],"
            " settings.CELERY_BROKER_URL, settings.CHANNEL_LAYERS['default']['BACKEND'])")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ACADEMY_DATA_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "academy_site.settings", "PYTHONPATH": str(ROOT), "SECRET_KEY": "k",
           "DATABASE_URL": "postgres://u@db.example:5432/academy", "REDIS_URL": "redis://cache.example:6379/0"}
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["services", "django.db.backends.postgresql", "redis://cache.example:6379/0",
                                     "academy_site.channel_layer.RedisChannelLayer"], result.stderr
