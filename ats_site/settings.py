"""Django settings for ATS. Everything comes from the environment (and an optional .env at the repo root)."""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.csp import CSP

from ats_site.alert_config import load_email_settings, mailer_entry
from ats_site.config import ConfigError, check_production_secret_key, development_secret_key, load_config, parse_bool

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    environ.Env.read_env(str(_env_file), overwrite=False)

# Off unless asked for: `make run` and the test suite turn it on for the embedded demo.
DEBUG = parse_bool("DEBUG", env.str("DEBUG", default="false"))

SECRET_KEY = env.str("SECRET_KEY", default="")
if SECRET_KEY and not DEBUG:
    check_production_secret_key(SECRET_KEY)
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY: required when DEBUG is false")
    # Development only: a random key per installation, never a known one, kept in var/ (mode 0600) so every process
    # of the embedded demo signs and checks with it: the stack's web server and workers, the session hosts, and a
    # command in another terminal that queues work for those workers. Exported for the processes this one starts.
    SECRET_KEY = os.environ["SECRET_KEY"] = development_secret_key(VAR_DIR / "dev-secret-key")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

ATS = load_config(env)

# Outgoing mail (the email alert channel, ATS_ALERT_EMAIL_TO): the EMAIL_* variables, validated like ATS, become
# Django 6.1's MAILERS (its EMAIL_* settings are deprecated; the variables keep their familiar names).
_email = load_email_settings(lambda name, default: str(env.str(name, default=default)))
MAILERS = {"default": mailer_entry(_email)}
DEFAULT_FROM_EMAIL = SERVER_EMAIL = _email.from_email

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_q",
    "axes",
    "audit",
    "approvals",
    "trading",
    "research",
    "studio",
    "notifications",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "console.middleware.OperatorTimeZoneMiddleware",  # after authentication: the user's saved zone
    "audit.middleware.ActingUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Inside the CSP middleware: with DEBUG on, a missing page still gets the console's 404 page.
    "ats_site.site_views.FriendlyNotFoundMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one username, or from one address, further
# attempts are refused for the cool-off, correct password or not. Each failure and lockout is audited.
AUTHENTICATION_BACKENDS = [
    "audit.auth_backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ATS_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ATS_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Content-Security-Policy: scripts only from our own static files (no inline script, no eval), nothing framed,
# forms and websockets to this origin only. Inline style attributes stay allowed: a few templates still use them,
# and styles cannot run code.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],  # blob: the gateway screens, fetched once each
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Debug pages and error reports hide every ATS secret, even with DEBUG=true.
DEFAULT_EXCEPTION_REPORTER_FILTER = "ats_site.reporting.AtsExceptionReporterFilter"

ROOT_URLCONF = "ats_site.urls"

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
                "trading.context_processors.console",
            ],
        },
    },
]

WSGI_APPLICATION = "ats_site.wsgi.application"
ASGI_APPLICATION = "ats_site.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ats.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: every transaction takes the write lock up front, which serializes the audit chain head
        # across processes and avoids lock-upgrade deadlocks between workers.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so tests can write to the test database from several processes; one per test run,
    # so runs side by side do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_ats_{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

# Channel layers: one per environment, so paper and live telemetry never share a namespace (with Redis, separate
# key prefixes). Without Redis the layer is in-memory, per process: pages then follow the persisted telemetry rows.
CHANNEL_LAYER_ALIASES = ("default", "paper", "live")
if REDIS_URL:
    CHANNEL_LAYERS = {
        alias: {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"ats:{alias}"},
        }
        for alias in CHANNEL_LAYER_ALIASES
    }
else:
    CHANNEL_LAYERS = {alias: {"BACKEND": "channels.layers.InMemoryChannelLayer"} for alias in CHANNEL_LAYER_ALIASES}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []

# Production hardening, on whenever DEBUG is off (`manage.py check --deploy` is clean then).
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # container health checks speak plain HTTP inside the network
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Relative paths are taken from the repo root, whatever the working directory.
ATS_DATA_DIR = BASE_DIR / env.str("ATS_DATA_DIR", default="data")
ATS_CATALOG_DIR = BASE_DIR / env.str("ATS_CATALOG_DIR", default="var/catalog")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# django-q: the ORM broker needs nothing beyond the database (embedded default); Redis when REDIS_URL is set.
Q_CLUSTER = {
    "name": "ats",
    "workers": env.int("ATS_Q_WORKERS", default=2),
    "timeout": 3600,
    "retry": 4000,
    "max_attempts": 1,
    "orm": "default",
    "catch_up": False,
    # Sessions get their own cluster (`Q_CLUSTER_NAME=sessions manage.py qcluster`): django-q re-delivers a task
    # that outlasts `retry` and has no stop API, so no timeout, a retry far beyond any session, one attempt; the
    # session lease refuses any duplicate that still arrives.
    "ALT_CLUSTERS": {
        "sessions": {
            # "No timeout": nine years (django-q warns on None), and a retry beyond it.
            "timeout": 9 * 365 * 24 * 3600,
            "retry": 10 * 365 * 24 * 3600,
            "max_attempts": 1,
            "workers": env.int("ATS_SESSION_WORKERS", default=4),
        },
    },
}
if REDIS_URL:
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = REDIS_URL
