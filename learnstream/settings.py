"""LearnStream settings: everything comes from the environment (django-environ).

`DJANGO_ENV` picks the profile:
- `development` (default): embedded defaults — SQLite under var/, a local MongoDB-compatible server,
  in-process cache, immediate tasks and the local Mux emulator. Safe to run with no configuration.
- `test`: like development but pointed at the real services `make test` starts.
- `production`: every secret and store URL must be set; the process refuses to start otherwise.
"""

import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime data of the embedded default (SQLite, SecantusDB files, emulator state); overridable for tests.
VAR_DIR = Path(os.environ.get("LS_VAR_DIR", str(BASE_DIR / "var")))

VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

_running_pytest = "pytest" in sys.modules
DJANGO_ENV = env.str("DJANGO_ENV", default="test" if _running_pytest else "development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}")
IS_PRODUCTION = DJANGO_ENV == "production"
IS_TEST = DJANGO_ENV == "test"

# Credentials of the local Mux emulator only (it accepts nothing else; real Mux never sees them).
DEV_MUX_TOKEN_ID = "emulator-token-id"  # noqa: S105
DEV_MUX_TOKEN_SECRET = "emulator-token-secret"  # noqa: S105

# Outside production, secrets that are not set are generated once per checkout into this file (mode
# 0600, under var/, which git ignores): a development key is never a constant anyone can read in the
# repository, and every process of one checkout (runserver, the Mux emulator, manage.py) agrees on it.
DEV_SECRETS_FILE = VAR_DIR / "dev-secrets.json"
_DEV_SECRET_BYTES = {
    "DJANGO_SECRET_KEY": 48,
    "JWT_SIGNING_KEY": 48,
    "MUX_WEBHOOK_SECRET": 32,
    "STRIPE_WEBHOOK_SECRET": 32,
}


def _read_dev_secrets() -> dict[str, str]:
    try:
        values = json.loads(DEV_SECRETS_FILE.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"{DEV_SECRETS_FILE} is unreadable; delete it to regenerate") from exc
    return {k: v for k, v in values.items() if isinstance(v, str) and v} if isinstance(values, dict) else {}


def _dev_secret(name: str) -> str:
    """This checkout's generated development secret `name` (created on first use, race-free)."""
    values = _read_dev_secrets()
    if name in values:
        return values[name]
    wanted = {**{k: secrets.token_urlsafe(n) for k, n in _DEV_SECRET_BYTES.items()}, **values}
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    tmp = DEV_SECRETS_FILE.with_name(f".dev-secrets.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(wanted, handle)
    try:
        if values:  # an older file without this name: extend it
            os.replace(tmp, DEV_SECRETS_FILE)
        else:
            os.link(tmp, DEV_SECRETS_FILE)  # first process wins; the others read its values
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read_dev_secrets()[name]


def _secret(name: str, *, min_length: int = 32) -> str:
    """Read a secret; in production it must be set, not a placeholder, and long enough."""
    value: str = env.str(name, default="")
    if not IS_PRODUCTION:
        return value or _dev_secret(name)
    if not value or "insecure" in value or len(value) < min_length:
        raise ImproperlyConfigured(
            f"{name} must be set to a strong secret (>= {min_length} chars) in production"
        )
    return value


def _required_in_production(name: str, dev_default: str) -> str:
    value: str = env.str(name, default="")
    if IS_PRODUCTION and not value:
        raise ImproperlyConfigured(f"{name} must be set in production")
    return value or dev_default


def _bounded_int(name: str, default: int, *, low: int, high: int) -> int:
    """An integer setting that must lie in [low, high]; anything else stops the process at start."""
    value: int = env.int(name, default=default)
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, not {value}")
    return value


SECRET_KEY = _secret("DJANGO_SECRET_KEY", min_length=50)
DEBUG = env.bool("DJANGO_DEBUG", default=DJANGO_ENV == "development")
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production")
ALLOWED_HOSTS: list[str] = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=[] if IS_PRODUCTION else ["127.0.0.1", "localhost", "testserver"],
)
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt",
    # Required: without it BLACKLIST_AFTER_ROTATION silently does nothing (simplejwt #985).
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "django_tasks",
    "django_tasks_db",
    "learnstream",
    "accounts",
    "catalog",
    "streaming",
    "commerce",
    "webhooks",
]

MIDDLEWARE = [
    "learnstream.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Before anything can read a body (none of the above does), and after CORS and the security headers
    # so a refused body still reaches a browser as a 413: one size cap, none read on safe methods.
    "learnstream.body_limit.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The admin's flash messages live in its session. The default (cookie, then session) builds a signed
# cookie reader on every request, /api/ included, for messages only the admin sends.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "learnstream.urls"
WSGI_APPLICATION = "learnstream.wsgi.application"
ASGI_APPLICATION = "learnstream.asgi.application"

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
            ],
        },
    },
]

# --- stores -----------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=_required_in_production("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
    )
}
# A hung or partitioned PostgreSQL must cost a request seconds and a 503, never a pinned worker.
# Server side: statement, lock and idle-in-transaction timeouts (milliseconds, 0 = off; a migration
# that needs longer: DATABASE_STATEMENT_TIMEOUT_MS=0 python manage.py migrate). Network: TCP keepalives
# and tcp_user_timeout drop a vanished peer. Client side: the backend (learnstream/pgbackend) gives up
# on a server that accepts packets but never answers (DATABASE_CLIENT_TIMEOUT_MS).
DATABASE_STATEMENT_TIMEOUT_MS = _bounded_int("DATABASE_STATEMENT_TIMEOUT_MS", 5000, low=0, high=3_600_000)
DATABASE_LOCK_TIMEOUT_MS = _bounded_int("DATABASE_LOCK_TIMEOUT_MS", 3000, low=0, high=3_600_000)
DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS = _bounded_int(
    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", 30_000, low=0, high=3_600_000
)
DATABASE_CLIENT_TIMEOUT_MS = _bounded_int(
    "DATABASE_CLIENT_TIMEOUT_MS",
    DATABASE_STATEMENT_TIMEOUT_MS + 1000 if DATABASE_STATEMENT_TIMEOUT_MS else 0,
    low=0,
    high=3_600_000,
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "learnstream.pgbackend"
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    # Short connect timeout: PostgreSQL down must become a quick 503, not a hung worker.
    _pg_options["connect_timeout"] = _bounded_int("DATABASE_CONNECT_TIMEOUT", 3, low=1, high=60)
    _pg_options["options"] = (
        f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}"
        f" -c lock_timeout={DATABASE_LOCK_TIMEOUT_MS}"
        f" -c idle_in_transaction_session_timeout={DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS}"
    )
    _pg_options.update(
        keepalives=1,
        keepalives_idle=_bounded_int("DATABASE_KEEPALIVES_IDLE", 30, low=1, high=7200),
        keepalives_interval=_bounded_int("DATABASE_KEEPALIVES_INTERVAL", 10, low=1, high=600),
        keepalives_count=_bounded_int("DATABASE_KEEPALIVES_COUNT", 3, low=1, high=30),
        tcp_user_timeout=_bounded_int("DATABASE_TCP_USER_TIMEOUT_MS", 10_000, low=0, high=600_000),
    )
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.str("DATABASE_TEST_NAME", default=""):
    # Lets several test runs share one PostgreSQL server without clobbering each other.
    DATABASES["default"]["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MONGO_URI = _required_in_production("MONGO_URI", "mongodb://127.0.0.1:27017")
MONGO_DB = env.str("MONGO_DB", default="learnstream")
# The deadline of one MongoDB operation (server selection, connect and the one automatic retry included).
MONGO_TIMEOUT_MS = env.int("MONGO_TIMEOUT_MS", default=2000)

REDIS_URL = _required_in_production("REDIS_URL", "")
# Circuit breaker (learnstream/redis_breaker.py): after this many consecutive failures a Redis address
# is skipped for the cooldown, so a hung Redis costs one socket timeout per cooldown, not one per call.
REDIS_BREAKER_THRESHOLD = _bounded_int("REDIS_BREAKER_THRESHOLD", 2, low=1, high=100)
REDIS_BREAKER_COOLDOWN_SECONDS = _bounded_int("REDIS_BREAKER_COOLDOWN_SECONDS", 1, low=1, high=300)
if REDIS_URL:
    from learnstream import redis_breaker

    redis_breaker.configure(threshold=REDIS_BREAKER_THRESHOLD, cooldown=REDIS_BREAKER_COOLDOWN_SECONDS)
    _redis_options: dict[str, Any] = {
        "SOCKET_CONNECT_TIMEOUT": 0.5,
        "SOCKET_TIMEOUT": 0.5,
    }
    _breaker_class = redis_breaker.connection_class_for(REDIS_URL)
    if _breaker_class is not None:
        _redis_options["CONNECTION_POOL_KWARGS"] = {"connection_class": _breaker_class}
    CACHES: dict[str, dict[str, Any]] = {
        # The cache is a cache: a Redis outage must degrade to "slower", never to 500s.
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ls",
            "OPTIONS": {**_redis_options, "IGNORE_EXCEPTIONS": True},
        },
        # Counters raise on errors so their callers decide: the auth limits fall back to per-process
        # counters (accounts/ratelimits.py); the paid Mux upload quota refuses (503).
        "ratelimit": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ls-rl",
            "OPTIONS": _redis_options,
        },
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
        "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit"},
    }

# --- auth -------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if IS_TEST:
    # Same argon2id format, cheap parameters: keeps the suite fast while exercising the real hasher.
    PASSWORD_HASHERS.insert(0, "learnstream.hashers.FastArgon2PasswordHasher")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1024
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

JWT_SIGNING_KEY = _secret("JWT_SIGNING_KEY")
if IS_PRODUCTION and JWT_SIGNING_KEY == SECRET_KEY:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from DJANGO_SECRET_KEY")
# Token lifetimes, bounded so a typo cannot mint day-long access tokens or year-long sessions. The
# names are py-LearnStream's (docs/migrating-from-fastapi.md), so its .env values carry over.
ACCESS_TOKEN_EXPIRE_MINUTES = _bounded_int("ACCESS_TOKEN_EXPIRE_MINUTES", 5, low=1, high=60)
REFRESH_TOKEN_EXPIRE_DAYS = _bounded_int("REFRESH_TOKEN_EXPIRE_DAYS", 7, low=1, high=90)
# No login lasts longer than this, however often it is refreshed (ASVS 7.3.2).
JWT_ABSOLUTE_SESSION_DAYS = _bounded_int("JWT_ABSOLUTE_SESSION_DAYS", 30, low=1, high=90)
if REFRESH_TOKEN_EXPIRE_DAYS > JWT_ABSOLUTE_SESSION_DAYS:
    raise ImproperlyConfigured(
        f"REFRESH_TOKEN_EXPIRE_DAYS ({REFRESH_TOKEN_EXPIRE_DAYS}) exceeds JWT_ABSOLUTE_SESSION_DAYS "
        f"({JWT_ABSOLUTE_SESSION_DAYS}), the cap of every login"
    )
JWT_ABSOLUTE_SESSION_LIFETIME = timedelta(days=JWT_ABSOLUTE_SESSION_DAYS)
# A duplicate refresh of one token within this window (two tabs, a lost response) gets the same child;
# later reuse revokes the family. Auth0/Okta use 0-60 s; 0 turns the window off.
JWT_REFRESH_GRACE_SECONDS = _bounded_int("JWT_REFRESH_GRACE_SECONDS", 15, low=0, high=60)
# Browser sessions (admin site, browsable API): a working day, and bound to the auth epoch
# (accounts.models.User.get_session_auth_hash).
SESSION_COOKIE_AGE = _bounded_int("SESSION_COOKIE_AGE", 8 * 3600, low=300, high=7 * 86400)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=REFRESH_TOKEN_EXPIRE_DAYS),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUDIENCE": "learnstream-api",
    "ISSUER": "learnstream",
    "LEEWAY": 5,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "CHECK_USER_IS_ACTIVE": True,
}

# --- DRF --------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.RevocableJWTAuthentication",
        # For the browsable API (instructors). DRF enforces CSRF on unsafe session-authenticated requests.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "learnstream.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "learnstream.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

SPECTACULAR_SETTINGS = {
    "TITLE": "LearnStream API",
    "DESCRIPTION": "Courses, enrollments, progress, analytics and secure Mux video. Errors always use "
    '`{"error": {"code", "message", "details"}}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Public in development so a newcomer can explore; admin-only in production (ASVS 13.4.5).
    "SERVE_PUBLIC": not IS_PRODUCTION,
    "SERVE_PERMISSIONS": (
        ["rest_framework.permissions.IsAdminUser"]
        if IS_PRODUCTION
        else ["rest_framework.permissions.AllowAny"]
    ),
    "ENUM_NAME_OVERRIDES": {},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "learnstream.openapi.document_body_limit",
        "learnstream.openapi.document_server_limits",
    ],
}

# --- rate limits ------------------------------------------------------------------------------------
# Set to False only for benchmarks; tests exercise the limits against real Redis.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# Auth surfaces (accounts/ratelimits.py): fixed windows; per-process counters while Redis cannot count.
AUTH_RATE_LIMITS = {
    "login_ip": "20/m",  # per client network (IPv4 address, IPv6 /64), every account
    "login_account_net": "5/m",  # per account and client network
    "login_account": "100/h",  # per account, from networks without a recent successful login
    "register_ip": "10/h",
    "refresh_ip": "30/m",
    "password_user": "5/m",  # current-password guesses with a stolen access token
    # Mail-sending endpoints (mailbombing, abuse of our sender reputation) and the token confirmations.
    "reset_ip": "10/h",  # password-reset requests per client network
    "reset_account": "3/h",  # per address asked about, whether or not it has an account
    "mail_ip": "20/h",  # verification resends and email changes per client network
    "verify_resend_user": "3/h",
    "email_change_user": "5/h",
    "token_ip": "30/m",  # one-time token confirmations per client network
}
# A network the account logged in from successfully is exempt from "login_account" for this long.
LOGIN_KNOWN_NETWORK_DAYS = _bounded_int("LOGIN_KNOWN_NETWORK_DAYS", 30, low=1, high=365)

# --- tasks (Django Tasks API backport) --------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env.str(
            "TASKS_BACKEND",
            default=(
                "django_tasks_db.DatabaseBackend"
                if IS_PRODUCTION
                else "django_tasks.backends.immediate.ImmediateBackend"
            ),
        )
    }
}

# --- catalog caching (seconds) ---------------------------------------------------------------------
# Fresh for the TTL (a backstop: every write invalidates explicitly); the last copy is kept for the stale
# window and served only while MongoDB is down. Enrollment lookups back the hot paths (playback, progress).
CATALOG_CACHE_TTL_SECONDS = env.int("CATALOG_CACHE_TTL_SECONDS", default=60)
CATALOG_CACHE_STALE_SECONDS = env.int("CATALOG_CACHE_STALE_SECONDS", default=15 * 60)
ENROLLMENT_CACHE_SECONDS = env.int("ENROLLMENT_CACHE_SECONDS", default=5 * 60)
# Course analytics need no read-your-writes: a copy at most this old is served (0 disables the cache).
CATALOG_ANALYTICS_CACHE_SECONDS = env.int("CATALOG_ANALYTICS_CACHE_SECONDS", default=60)
# Share (0-1] of a lesson's video a learner must have watched (union of played intervals) to complete it.
COMPLETION_COVERAGE = env.float("COMPLETION_COVERAGE", default=0.9)
if not 0 < COMPLETION_COVERAGE <= 1:
    raise ImproperlyConfigured("COMPLETION_COVERAGE must be in (0, 1].")

# --- Mux --------------------------------------------------------------------------------------------
MUX_TOKEN_ID = _required_in_production("MUX_TOKEN_ID", DEV_MUX_TOKEN_ID)
MUX_TOKEN_SECRET = _required_in_production("MUX_TOKEN_SECRET", DEV_MUX_TOKEN_SECRET)
MUX_API_BASE_URL = env.str("MUX_API_BASE_URL", default="https://api.mux.com")
MUX_STREAM_BASE_URL = env.str("MUX_STREAM_BASE_URL", default="https://stream.mux.com")
MUX_IMAGE_BASE_URL = env.str("MUX_IMAGE_BASE_URL", default="https://image.mux.com")
MUX_WEBHOOK_SECRETS: list[str] = [
    s.strip() for s in _secret("MUX_WEBHOOK_SECRET", min_length=16).split(",") if s.strip()
]
MUX_WEBHOOK_TOLERANCE_SECONDS = 300
MUX_SIGNING_KEY_ID = _required_in_production("MUX_SIGNING_KEY_ID", "")
MUX_SIGNING_PRIVATE_KEY = _required_in_production("MUX_SIGNING_PRIVATE_KEY", "")
MUX_CORS_ORIGIN = env.str("MUX_CORS_ORIGIN", default="*" if not IS_PRODUCTION else "")
MUX_REQUEST_TIMEOUT_SECONDS = env.float("MUX_REQUEST_TIMEOUT_SECONDS", default=5.0)
MUX_PLAYBACK_TOKEN_TTL_SECONDS = env.int("MUX_PLAYBACK_TOKEN_TTL_SECONDS", default=3600)
# Direct uploads one user may start per hour. A real course is 50-200 lessons, uploaded in one sitting
# (often a multi-file pick), so the quota must fit a whole course; it still bounds what a stolen
# instructor token can do, and an unused upload URL expires at Mux without cost.
MUX_UPLOADS_PER_HOUR = env.int("MUX_UPLOADS_PER_HOUR", default=200)
# The app's externally reachable origin: Mux fetches uploaded caption files from URLs built on it. Empty
# in production until set (caption uploads then answer 503 instead of handing Mux an unreachable URL).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="" if IS_PRODUCTION else "http://127.0.0.1:8000")
CAPTION_FILE_URL_TTL_SECONDS = env.int("CAPTION_FILE_URL_TTL_SECONDS", default=3600)

# --- Stripe (commerce/) -------------------------------------------------------------------------------
# Outside production an unset key means the local Stripe emulator (`make run` starts it); in production an
# unset key switches selling off (checkout answers 503) rather than refusing to start a free-only site.
DEV_STRIPE_SECRET_KEY = "sk_test_emulator"  # noqa: S105 - accepted by the local emulator only
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="" if IS_PRODUCTION else DEV_STRIPE_SECRET_KEY)
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
# Comma-separated: during a secret roll both the old and the new signing secret verify.
STRIPE_WEBHOOK_SECRETS: list[str] = [
    s.strip()
    for s in env.str(
        "STRIPE_WEBHOOK_SECRET", default="" if IS_PRODUCTION else _dev_secret("STRIPE_WEBHOOK_SECRET")
    ).split(",")
    if s.strip()
]
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
STRIPE_REQUEST_TIMEOUT_SECONDS = env.float("STRIPE_REQUEST_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = _bounded_int("STRIPE_MAX_NETWORK_RETRIES", 1, low=0, high=5)
# Checkout success/cancel URLs must start with one of these origins exactly (no open redirect).
CHECKOUT_REDIRECT_ORIGINS: list[str] = env.list(
    "CHECKOUT_REDIRECT_ORIGINS",
    default=[] if IS_PRODUCTION else ["http://127.0.0.1:8000", "http://localhost:8000"],
)

# --- HTTP hardening ---------------------------------------------------------------------------------
# The one body cap (learnstream/body_limit.py enforces it on Content-Length, files included): video goes
# browser → Mux directly, never through us. Uploaded files stay in memory, never in a temp file.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = False  # JWT travels in a header, never in cookies
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if IS_PRODUCTION:
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # TLS terminates at the proxy, which redirects browsers; APIs must not be redirected transparently
    # (ASVS 4.1.2), so the app itself does not redirect (security.W008 is silenced below for that reason).
    SECURE_SSL_REDIRECT = False
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS: list[str] = []
if IS_PRODUCTION:
    # W008: SSL redirect happens at the TLS-terminating proxy; see the comment above.
    SILENCED_SYSTEM_CHECKS.append("security.W008")
    if not SECURE_HSTS_PRELOAD:
        # W021: preload-list submission commits every subdomain to HTTPS for good; it is the operator's
        # call (SECURE_HSTS_PRELOAD=true), not a default.
        SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- outgoing mail (learnstream/mail.py) ------------------------------------------------------------
# One URL configures Django's email framework (django-environ): `smtp+tls://user:pass@host:587`
# (STARTTLS), `smtp+ssl://user:pass@host:465` (implicit TLS), `smtp://host:25`, `consolemail://`
# (stdout), `filemail:///absolute/dir`. Development writes every message to a file under var/mail/
# (readable without a mail account; scripts/run.sh says where); tests point EMAIL_HOST/PORT at a
# loopback SMTP server (tests/support/smtp.py) and otherwise discard mail.
EMAIL_DEV_DIR = VAR_DIR / "mail"
_email_default = {
    "development": f"filemail://{EMAIL_DEV_DIR}",
    "test": "dummymail://",
    "production": "smtp://localhost:25",
}[DJANGO_ENV]
_email_config = env.email_url("EMAIL_URL", default=_email_default)
EMAIL_BACKEND = _email_config["EMAIL_BACKEND"]
EMAIL_HOST = _email_config.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email_config.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email_config.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email_config.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email_config.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email_config.get("EMAIL_USE_SSL", False))
if EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":
    # Taken from the URL itself: django-environ drops the leading "/" of `filemail:///abs/dir`.
    EMAIL_FILE_PATH = env.str("EMAIL_URL", default=_email_default).partition("://")[2] or str(EMAIL_DEV_DIR)
# A hung mail server must cost a worker seconds, never a pinned process (Django's default is no timeout).
EMAIL_TIMEOUT = _bounded_int("EMAIL_TIMEOUT", 10, low=1, high=120)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="LearnStream <no-reply@learnstream.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the client app's pages live (reset password, verify email, confirm an email change): links in
# mail point there. Defaults to the first CORS origin (the client app calling this API), else a local
# single-page-app dev server.
FRONTEND_BASE_URL: str = env.str(
    "FRONTEND_BASE_URL", default=CORS_ALLOWED_ORIGINS[0] if CORS_ALLOWED_ORIGINS else "http://localhost:3000"
).rstrip("/")
if not FRONTEND_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"FRONTEND_BASE_URL must be an http(s) URL, not {FRONTEND_BASE_URL!r}")

# --- i18n, static -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- logging ----------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=IS_PRODUCTION)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "learnstream.logging.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "learnstream.logging.JsonFormatter"},
        "plain": {"()": "learnstream.logging.PlainFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_JSON else "plain",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}
CSRF_FAILURE_VIEW = "learnstream.errors.csrf_failure"
