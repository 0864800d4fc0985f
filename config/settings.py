"""Settings for the rare-metastasis registry, read from the environment.

One module for every environment: what differs between a laptop, CI and a
hospital's server is in environment variables (see .env.example), never in code.
"""

import datetime
import hashlib
import hmac
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str, weak_secret_reason

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

# A development key is allowed only with DEBUG on, so a forgotten SECRET_KEY can
# never reach a server that holds clinical data.
_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", _DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "Set SECRET_KEY (a long random string), or DEBUG=true for a local development run "
        "(`make run` writes .env.local with it for manage.py)."
    )

# Case keys derived from FHIR identifiers are HMAC-SHA256 pseudonyms under this
# secret (registry/pseudonyms.py). Changing it changes every derived key: set it
# once per registry and keep it apart from SECRET_KEY, which may be rotated.
_DEV_PSEUDONYM_KEY = "dev-only-pseudonym-key-never-use-in-production"
REGISTRY_PSEUDONYM_KEY = env_str("REGISTRY_PSEUDONYM_KEY", _DEV_PSEUDONYM_KEY if DEBUG else None)
if not DEBUG and REGISTRY_PSEUDONYM_KEY == _DEV_PSEUDONYM_KEY:
    raise ImproperlyConfigured("Set REGISTRY_PSEUDONYM_KEY: the development key needs DEBUG=true.")
if not DEBUG and (
    _weakness := weak_secret_reason(REGISTRY_PSEUDONYM_KEY, other_secrets=(SECRET_KEY,))
):
    raise ImproperlyConfigured(
        f"REGISTRY_PSEUDONYM_KEY is refused: {_weakness}. Generate one with "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )

# The secret of the analysts' noise (registry/disclosure.py): whoever holds it can
# compute every perturbation and undo it. Like the pseudonym key, set it once per
# registry (changing it redraws every published number, and two draws of one count
# average); only a development run derives one from SECRET_KEY.
REGISTRY_CELL_KEY_SECRET = env_str("REGISTRY_CELL_KEY_SECRET", "")
if not REGISTRY_CELL_KEY_SECRET and DEBUG:
    REGISTRY_CELL_KEY_SECRET = hmac.new(
        SECRET_KEY.encode(), b"registry.disclosure cell key secret", hashlib.sha256
    ).hexdigest()
if len(REGISTRY_CELL_KEY_SECRET) < 32:
    raise ImproperlyConfigured(
        "Set REGISTRY_CELL_KEY_SECRET (at least 32 random characters): it keys the noise "
        "on analysts' counts. Only DEBUG=true derives one."
    )

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "registry",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "api.middleware.ContentSecurityPolicyMiddleware",
    "api.middleware.ApiCachingHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Outside the guards below: their 400 on the FHIR import becomes an OperationOutcome.
    "api.fhir.middleware.FhirImportOutcomeMiddleware",
    "api.middleware.UrlLengthMiddleware",
    "api.middleware.RequestCharsetMiddleware",
    "api.middleware.RejectNulInQueryMiddleware",
    "api.middleware.RequestBodyGuardMiddleware",
    "api.middleware.RequestBudgetMiddleware",
    "api.middleware.StatisticsPoolMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.routers.StatsOnReplicaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Attributes every history row written during a request to its user.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 (api.login_limits).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ]
        },
    }
]

# ---------------------------------------------------------------- database
# PostgreSQL in production and tests; a SQLite file when DATABASE_URL is unset so
# that `make run` works on a machine with nothing but Python.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Aggregate reads may go to a streaming replica (config/routers.py); unset, all is primary.
if env_str("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = dj_database_url.parse(
        env_str("DATABASE_REPLICA_URL"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
    # Tests create no second database: the replica mirrors the primary's.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.postgresql":
        # A lost database is a 503 within seconds, not a request hanging on TCP.
        _database.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3)
        )
        # PgBouncer in transaction mode cannot keep a server-side cursor across statements.
        _database["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
            "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
        )
DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
# Requests (GET) whose reads may be served by the replica: the aggregates.
REPLICA_READ_PATH_PREFIXES = ("/api/v1/stats/",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "registry.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Messages live in the session, not a cookie: the admin shows a new API token once
# through a message, and a cookie would carry it readable to the browser.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Analysts sign in with a plain form (they are not staff) and land on the dashboard.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# ---------------------------------------------------------------- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every view names who may use it.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.GuardedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env_str("API_RATE_PER_TOKEN", "6000/minute"),
        # Failed bearer tokens per client address before its bearer requests wait (429).
        "failed_token": env_str("API_FAILED_TOKENS_PER_CLIENT", "30/minute"),
        # Fetches of the OpenAPI document per client (it is anonymous and costs CPU).
        "schema": env_str("API_SCHEMA_RATE", "60/minute"),
    },
    # Proxies in front of the app that append to X-Forwarded-For (0: the peer is the client);
    # never trust the header further, or a client could pick its own address.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.RegistryAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Rare-metastasis registry API",
    "DESCRIPTION": (
        "Hospitals submit de-identified cases of cancers that spread to unusual sites; "
        "curators review them; analysts count them. Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from the sidecar's local files: hospitals run air-gapped.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets used by several fields get one name each in the schema.
    "ENUM_NAME_OVERRIDES": {
        "LateralityEnum": "registry.models.choices.Laterality",
        "ReviewStatusEnum": "registry.models.choices.ReviewStatus",
        "BatchItemResultEnum": "api.serializers.batch.BATCH_RESULTS",
        "StatsDimensionEnum": "api.serializers.stats.DIMENSIONS",
        "FlagCodeEnum": "registry.models.choices.FlagCode",
        "ReceptorStatusEnum": "registry.models.choices.ReceptorStatus",
    },
}

# Seconds the rendered OpenAPI document is kept in the shared cache (api/schema_view.py).
SCHEMA_CACHE_SECONDS = env_int("SCHEMA_CACHE_SECONDS", 300)
# Request bodies above this are refused before parsing (a batch of 1,000 cases fits).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 10 * 1024 * 1024)
# Longer URLs get a 414 problem; below gunicorn's limit_request_line (gunicorn.conf.py).
MAX_URL_LENGTH = env_int("MAX_URL_LENGTH", 8000)
# JSON nested deeper than this is refused (400) before json.loads could recurse.
MAX_JSON_DEPTH = env_int("MAX_JSON_DEPTH", 64)
# A JSON number longer than this is refused (400): no registry value needs more digits, and
# Python's int() is quadratic in them.
MAX_JSON_NUMBER_CHARS = env_int("MAX_JSON_NUMBER_CHARS", 40)

# Answers under these prefixes vary by credentials; those about single cases are never stored.
API_PATH_PREFIX = "/api/v1/"
# No SQL statement of an API request may run longer (0: no limit); PostgreSQL only. The
# slowest valid requests (a full batch, a million-case aggregate) take about a second
# (docs/limits-and-errors.md), so this only stops what would hold a worker for minutes.
API_STATEMENT_TIMEOUT_MS = env_int("API_STATEMENT_TIMEOUT_MS", 5000)
# Wall-clock time of one API request, all its statements and Python work (0: none); past it
# the request answers 503 with nothing written. Well under gunicorn's 30 s worker timeout.
API_REQUEST_BUDGET_MS = env_int("API_REQUEST_BUDGET_MS", 10_000)
# Statistics requests running at once across every worker and server (0: no pool); more
# wait for nothing: 503 with Retry-After, so hospitals' reads and writes keep their workers.
API_STATISTICS_CONCURRENCY = env_int("API_STATISTICS_CONCURRENCY", 2)
# How long a statistics request waits for a free slot before its 503.
API_STATISTICS_WAIT_MS = env_int("API_STATISTICS_WAIT_MS", 5000)
STATISTICS_PATH_PREFIXES = ("/api/v1/stats/",)
PATIENT_LEVEL_PATH_PREFIXES = ("/api/v1/cases/", "/api/v1/fhir/")

# ---------------------------------------------------------------- registry
# Cells of aggregate tables below this count are suppressed for non-curators.
REGISTRY_MIN_CELL_COUNT = env_int("REGISTRY_MIN_CELL_COUNT", 11)
# Bounded use of the statistics (api/statistics_limits.py): requests per person, token and
# dashboard session together, and distinct tables an analyst may ask per UTC day.
API_STATISTICS_RATE_PER_PERSON = env_str("API_STATISTICS_RATE_PER_PERSON", "120/minute")
REGISTRY_ANALYST_DAILY_TABLES = env_int("REGISTRY_ANALYST_DAILY_TABLES", 500)
# Hours an Idempotency-Key is remembered; a resend after that is a new request.
REGISTRY_IDEMPOTENCY_TTL_HOURS = env_int("REGISTRY_IDEMPOTENCY_TTL_HOURS", 24)
if REGISTRY_IDEMPOTENCY_TTL_HOURS < 1:
    raise ImproperlyConfigured("REGISTRY_IDEMPOTENCY_TTL_HOURS must be 1 or more.")
# The literature atlas (docs/atlas.md): published case reports row by row. Anonymous
# visitors read it only where this is on; fetching citations needs PubMed and Crossref.
REGISTRY_ATLAS_PUBLIC = env_bool("REGISTRY_ATLAS_PUBLIC", default=False)
REGISTRY_CITATION_FETCH = env_bool("REGISTRY_CITATION_FETCH", default=False)

# ---------------------------------------------------------------- security
# Behind a TLS-terminating proxy in production; the proxy must set this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A refused form (admin, sign-in) answers in the API's problem shape, not Django's HTML page.
CSRF_FAILURE_VIEW = "api.problems.csrf_failure"
# Failed logins per account before a wait, counted by django-axes (api/login_limits.py)
# in its database tables, so every worker and server sees the same count.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out account before the password
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = datetime.timedelta(seconds=LOGIN_FAILURE_WINDOW_SECONDS)
# Per account, not per address: behind the proxy every client has the proxy's address.
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "api.login_limits.account_username"
AXES_LOCKOUT_CALLABLE = "api.login_limits.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# axes.W006 asks for a count per address too; per account is the point (module docstring of
# api/login_limits.py), and behind the proxy one address would lock every user out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# ---------------------------------------------------------------- shared cache
# Every counter (API throttles, failed bearer tokens) lives here, shared by all workers:
# Redis when REDIS_URL is set, else a table of the registry's own database (created by
# `migrate`, migration registry 0007), so even `make run` has no per-process limit.
if env_str("REDIS_URL", ""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("REDIS_URL"),
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "registry"),
            # A Redis that vanishes from the network is a 503 within a second, not a hang.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "registry_cache",  # registry.cache_table: made by every migrate
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "registry"),
            # Django culls a third of the keys past 300 entries (MAX_ENTRIES), live throttle
            # histories included, so a flood of junk keys would reset everyone's budget.
            # Expired keys are deleted as they are read and by each cull past this bound.
            "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 10_000_000)},
        }
    }

# Free text never reaches the logs (config/logging.py): exceptions without their messages,
# which quote values; SQL and its parameters never, whatever LOG_LEVEL says.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"value_free": {"()": "config.logging.ValueFreeFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "value_free"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
