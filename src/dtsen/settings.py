"""Settings, all configurable from environment variables.

DATABASE_URL      default: SQLite file in DTSEN_DATA_DIR (embedded mode); postgres://... in production
DTSEN_DATA_DIR    where the SQLite database, media and generated files live (default: ./var)
DTSEN_SECRET_KEY  Django secret key (a development key is generated into DTSEN_DATA_DIR when absent)
DTSEN_NIK_KEY     64 hex chars: key for NIK encryption (AES-256-GCM) and the NIK blind index (HMAC-SHA256)
DTSEN_DEBUG       1 to enable debug mode (never in production)
DTSEN_ALLOWED_HOSTS comma-separated host names
DTSEN_REDIS_URL   redis://host:6379/0: shared cache for rate limits (production). Unset: local memory
                  (development)
DTSEN_TRUSTED_PROXY comma-separated addresses/networks of the reverse proxies whose X-Forwarded-For and
                  X-Forwarded-Proto are trusted (unset: the client is REMOTE_ADDR, the scheme is the socket's)
DTSEN_SESSION_IDLE_MINUTES log staff out after this many minutes without a request (default 30)
DTSEN_LINKAGE_PARAMS_FILE trained linkage parameters for the check at the door, overriding the latest linkage run
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("DTSEN_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _dev_secret(name: str, nbytes: int) -> str:
    """A per-installation secret kept in DATA_DIR, used only when the environment gives none."""
    path = DATA_DIR / f".{name}"
    if not path.exists():
        path.write_text(secrets.token_hex(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DTSEN_SECRET_KEY") or _dev_secret("secret_key", 32)
NIK_KEY = os.environ.get("DTSEN_NIK_KEY") or _dev_secret("nik_key", 32)
DEBUG = os.environ.get("DTSEN_DEBUG", "0") == "1"
ALLOWED_HOSTS = [
    h for h in os.environ.get("DTSEN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "django_ratelimit",
    "dtsen.core",
    "dtsen.accounts",
    "dtsen.audit",
    "dtsen.documents",
    "dtsen.regions",
    "dtsen.registry",
    "dtsen.ranking",
    "dtsen.updates",
    "dtsen.programs",
    "dtsen.transparency",
    "dtsen.dashboards",
    "dtsen.dci",
    "dtsen.fieldforms",
    "dtsen.exchange",
    "dtsen.linkage",
    "dtsen.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "dtsen.audit.middleware.AuditContextMiddleware",
    "dtsen.core.middleware.SignedMessagesMiddleware",  # /dci/ stops here (see the class)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "dtsen.core.middleware.IndonesianFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dtsen.core.middleware.NulCharacterMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "dtsen.accounts.middleware.SessionTimeoutMiddleware",
    "dtsen.accounts.middleware.TwoFactorMiddleware",
    "dtsen.core.ratelimits.RateLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "dtsen.core.middleware.ApplicationErrorMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into the lockout page
]

ROOT_URLCONF = "dtsen.urls"
WSGI_APPLICATION = "dtsen.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dtsen.core.context_processors.navigation",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'dtsen.sqlite3'}"
# Persistent database connections: a worker keeps its connection (and the statements prepared on it) for its
# whole life; one that fails is closed after the request that saw the error. A limited age made every worker
# reconnect at the same moment (they start together) and re-plan its hot statements: at 500 searches a second
# that showed as a 5-second burst of 100-250 ms latencies each minute (docs/benchmarks.md). DTSEN_DB_CONN_MAX_AGE
# (seconds) sets an age for a deployment behind a pooler that wants one.
_conn_max_age = os.environ.get("DTSEN_DB_CONN_MAX_AGE", "")
DATABASES = {
    "default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db),
                                     conn_max_age=int(_conn_max_age) if _conn_max_age else None),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers (the web app) work while the importer writes; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username+IP before the password
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise looks for it at start-up
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = 8 * 3600  # also the absolute limit of a staff session (accounts.middleware)
SESSION_IDLE_SECONDS = int(os.environ.get("DTSEN_SESSION_IDLE_MINUTES", "30")) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and os.environ.get("DTSEN_INSECURE_COOKIES", "0") != "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
TRUSTED_PROXIES = tuple(p.strip() for p in os.environ.get("DTSEN_TRUSTED_PROXY", "").split(",") if p.strip())
for _proxy in TRUSTED_PROXIES:
    ipaddress.ip_network(_proxy, strict=False)  # a typo stops the start, rather than every request later
if TRUSTED_PROXIES:
    # The proxy terminates TLS and must overwrite X-Forwarded-Proto; only then may Django believe it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp 4): nothing inline, nothing from other origins, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # data: for the 2FA QR code, rendered server-side as an SVG data URI
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
CSRF_FAILURE_VIEW = "dtsen.core.error_views.csrf_failure"

# Lockout (django-axes, database handler): 5 failures for the same username from the same address lock that
# pair for 30 minutes; failures while locked do not extend the lock; a successful login clears the count.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "dtsen.audit.middleware.client_ip"
AXES_LOCKOUT_CALLABLE = "dtsen.accounts.auth_views.lockout_response"
AXES_ENABLE_ADMIN = False  # unlock: the cool-off or `dtsen axes_reset_username`; lockouts are audited
AXES_VERBOSE = False

# Two-factor authentication (django-otp, TOTP). Enforced for staff whose roles can write or ratify
# (accounts.auth_selectors.requires_2fa) and for superusers. Not an environment switch on purpose.
TWO_FACTOR_ENFORCED = True
OTP_TOTP_ISSUER = "DTSEN"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True


def _caches(redis_url: str) -> tuple[dict[str, Any], list[str]]:
    """The cache and the system checks to silence. Rate limits (django-ratelimit) need a cache shared by all
    workers with atomic increments: Redis in production. Without DTSEN_REDIS_URL (development, the embedded
    demo) the cache is local memory, counted per worker process; django-ratelimit refuses that (E003, W001),
    so its check is silenced then and only then (docs/authentication.md)."""
    if redis_url:
        redis = {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "dtsen",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},
        }
        return {"default": redis}, []
    return (
        {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dtsen"}},
        ["django_ratelimit.E003", "django_ratelimit.W001"],
    )


REDIS_URL = os.environ.get("DTSEN_REDIS_URL", "")
CACHES, SILENCED_SYSTEM_CHECKS = _caches(REDIS_URL)
RATELIMIT_USE_CACHE = "default"
# Redis down: rate limits stop counting (logged) rather than refusing every public request; the lockout
# (django-axes, in the database) still holds.
RATELIMIT_FAIL_OPEN = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
RATE_LIMITS: dict[str, str] = {}  # rates by group name (dtsen.core.ratelimits), e.g. {"public": "300/m"}

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DTSEN_LOG_LEVEL", "WARNING")},
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

EMAIL_BACKEND = os.environ.get("DTSEN_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DTSEN_FROM_EMAIL", "dtsen@localhost")
PRIVATE_ROOT = (
    DATA_DIR / "private"
)  # documents and photos: never served statically, only through access checks

# The check at the door (dtsen.linkage.door) scores with the parameters of the latest finished linkage run; this
# file (a ModelParams JSON, `dtsen linkage --train-only --out FILE`) overrides them when set.
LINKAGE_PARAMS_FILE = os.environ.get("DTSEN_LINKAGE_PARAMS_FILE", "")
