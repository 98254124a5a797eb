"""Academy settings, read from the environment only.

Two modes, chosen by environment alone:
- embedded (no DATABASE_URL / REDIS_URL): SQLite in WAL mode under the data folder,
  in-memory channel layer, Celery on the in-memory broker with a worker inside the server;
- services: DATABASE_URL (PostgreSQL) and REDIS_URL (Celery broker and result backend,
  channels_redis layer), with web, workers and beat as separate processes.
"""

import os
from pathlib import Path

import dj_database_url
from dotenv import load_dotenv

from academy_site.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_path,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# A .env file in the working folder is read if present; real environment variables win.
load_dotenv(Path.cwd() / ".env", override=False)

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY is not set (set SECRET_KEY or SECRET_KEY_FILE; only DEBUG=true may run without)")
    SECRET_KEY = "insecure-debug-only-key"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATA_DIR = env_path("ACADEMY_DATA_DIR", BASE_DIR / "var")

# Names kept from the original agent's configuration.
WORKSPACE_ROOT = env_path("WORKSPACE_ROOT", Path.home())
MEMORY_ROOT = env_path("MEMORY_ROOT", DATA_DIR / "memory")
DEFAULT_BASE_MODEL = env_str("DEFAULT_BASE_MODEL", "")  # empty: the locally built toy model
DEFAULT_LORA_RANK = env_int("DEFAULT_LORA_RANK", 16, min_value=1, max_value=1024)
DEFAULT_LEARNING_RATE = env_float("DEFAULT_LEARNING_RATE", 2e-4, min_value=1e-8, max_value=1.0)
DEFAULT_NUM_EPOCHS = env_int("DEFAULT_NUM_EPOCHS", 3, min_value=1, max_value=1000)
ENABLE_GPU = env_bool("ENABLE_GPU", True)
TRAINING_IMAGE = env_str("TRAINING_IMAGE", "unsloth/unsloth:latest")
MIN_LESSONS_FOR_TRAINING = env_int("MIN_LESSONS_FOR_TRAINING", 100, min_value=0)
MIN_TRAINING_INTERVAL_HOURS = env_int("MIN_TRAINING_INTERVAL_HOURS", 24, min_value=0)

# ---------------------------------------------------------------------------- mode
DATABASE_URL = env_secret("DATABASE_URL")
REDIS_URL = env_secret("REDIS_URL")
ACADEMY_MODE = "services" if (DATABASE_URL or REDIS_URL) else "embedded"
# The in-process worker runs inside the ASGI server in embedded mode only.
EMBEDDED_WORKER = env_bool("ACADEMY_EMBEDDED_WORKER", REDIS_URL is None)
EMBEDDED_WORKER_CONCURRENCY = env_int("ACADEMY_EMBEDDED_WORKER_CONCURRENCY", 2, min_value=1, max_value=32)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_celery_beat",
    "accounts",
    "curation",
    "training",
    "models_registry",
    "academy_site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "academy_site.urls"
ASGI_APPLICATION = "academy_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "academy_site.context_processors.academy",
            ],
        },
    },
]

# ---------------------------------------------------------------------------- database
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL we understand: {exc}") from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "academy.sqlite3",
            "OPTIONS": {
                # WAL lets the embedded worker write while pages read; IMMEDIATE avoids
                # "database is locked" upgrades from read to write transactions.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------- auth
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# ---------------------------------------------------------------------------- i18n, static
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # Plotly.js comes from the installed plotly package: no CDN, works offline.
    "academy_site.staticfinders.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

# ---------------------------------------------------------------------------- channels
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

# ---------------------------------------------------------------------------- celery
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"training.tasks.*": {"queue": "training"}}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {}

# ---------------------------------------------------------------------------- API
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 10 * 1024 * 1024, min_value=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

# ---------------------------------------------------------------------------- logging
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"celery": {"level": "WARNING"}, "django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

os.makedirs(STATIC_ROOT, exist_ok=True)
