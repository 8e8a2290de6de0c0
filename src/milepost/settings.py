"""Django settings for Milepost.

One settings module, driven by environment variables, so the demo, the tests and production
differ only in their environment:

- ``MILEPOST_ENV``: ``development`` (default), ``test`` or ``production``.
- ``DATABASE_URL``: any dj-database-url URL; default is an SQLite file in ``MILEPOST_DATA_DIR``.
- ``MILEPOST_DATA_DIR``: where the embedded database lives (default ``./var``).
- ``SECRET_KEY`` (required in production), ``ALLOWED_HOSTS`` (comma separated).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent
ENV = os.environ.get("MILEPOST_ENV", "development")
PRODUCTION = ENV == "production"
DATA_DIR = Path(os.environ.get("MILEPOST_DATA_DIR", Path.cwd() / "var")).resolve()

DEBUG = ENV == "development" and os.environ.get("MILEPOST_DEBUG", "1") == "1"

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when MILEPOST_ENV=production")
    SECRET_KEY = "milepost-insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]"
    ).split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tables2",
    "ninja",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "milepost.core",
    "milepost.team",
    "milepost.accounts",
    "milepost.process",
    "milepost.pipeline",
    "milepost.evidence",
    "milepost.methodology",
    "milepost.playbooks",
    "milepost.imports",
    "milepost.security",
    "milepost.inspection",
    "milepost.coaching",
    "milepost.demo",
    "milepost.designer",
    "milepost.analytics",
    "milepost.deals",
    "milepost.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "milepost.web.middleware.PrivateResponseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside the two above, so a 413 carries their headers too; it still answers before any
    # view or CSRF check reads the body (those run after every middleware's __call__).
    "milepost.web.middleware.RequestSizeLimitMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "milepost.security.middleware.SessionTimeoutMiddleware",
    "milepost.security.middleware.TwoFactorRequiredMiddleware",
    "milepost.security.middleware.PermissionDeniedLogMiddleware",
    "milepost.team.middleware.VisibilityCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# WhiteNoise serves static files in every environment, so a server with DEBUG off (production,
# the demo) needs no web server in front for them. In production it serves what
# ``milepost collectstatic`` collected (compressed, with hashed names); elsewhere it finds them in
# the static folders as requested, so neither the demo nor the tests need collectstatic.
MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

ROOT_URLCONF = "milepost.urls"
WSGI_APPLICATION = "milepost.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # The formatting filters (money, percent, date_short, ...) in every template.
            "builtins": ["milepost.core.templatetags.milepost_format"],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        config = dj_database_url.parse(f"sqlite:///{DATA_DIR / 'milepost.sqlite3'}")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers proceed while one writer commits; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue instead of failing with "database is locked" mid-transaction.
        config.setdefault("OPTIONS", {}).update(
            {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            }
        )
    return config


def _jobs_database(default: dict) -> dict:
    """Where job progress is written: a connection of its own, outside any job's transaction.

    A job that writes in one transaction (a publish) reports progress as it goes; on the same
    connection nobody would see it before the commit. PostgreSQL: a second connection to the
    same database (in tests a mirror of ``default``). SQLite: a small file of its own, since
    the main file's write lock is held by the job (``milepost migrate --database jobs``).
    """
    if default["ENGINE"] != "django.db.backends.sqlite3":
        return {**default, "TEST": {"MIRROR": "default"}}
    return {**default, "NAME": str(Path(default["NAME"]).with_name("jobs.sqlite3"))}


DATABASES = {"default": _database()}
DATABASES["jobs"] = _jobs_database(DATABASES["default"])
DATABASE_ROUTERS = ["milepost.core.jobs.JobsRouter"]

# Background jobs (publishing a process version; later imports, digests, snapshots) run on
# django-tasks' database backend: no extra service, a worker process (``milepost db_worker``).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "team.User"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username+address is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "milepost.team.backends.RoleBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "pipeline:board"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# English is the only language shipped; user-facing strings are marked for translation so
# ``milepost makemessages -l <code>`` collects them into ``locale/`` (see locale/README.md).
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Vendored front-end assets and Milepost's own CSS/JS live beside the settings, not in an app.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("MILEPOST_STATIC_ROOT", DATA_DIR / "staticfiles"))
# Uploaded files (evidence artefacts): never served by URL, only by permission-checked views.
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

DJANGO_TABLES2_TEMPLATE = "web/table.html"

# Security: safe defaults everywhere, strict in production (``check --deploy`` is clean there).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Bodies past this are a 413 (milepost.web.middleware); Django's default, stated so it is seen.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Content-Security-Policy (django-csp): everything from our own origin, no inline script or
# style, no plugins, no framing; violations are logged by /csp-report/ (docs/security.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "report-uri": "/csp-report/",
    },
}
if PRODUCTION:
    DEBUG = False
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = os.environ.get("MILEPOST_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("MILEPOST_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [
        o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
    ]

# Production reads the SMTP server from the environment (EMAIL_HOST, EMAIL_PORT, ...).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "milepost@localhost")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("MILEPOST_LOG_LEVEL", "WARNING")},
}

# Milepost's own knobs.
MILEPOST_DEFAULT_CURRENCY = os.environ.get("MILEPOST_DEFAULT_CURRENCY", "USD")
MILEPOST_API_PAGE_SIZE_MAX = 500
# Dates on pages (CLDR widths or Babel patterns, see core/formatting.py and docs/ui.md): "short"
# in tables and lists ("Oct 16, 2026"), "long" in page headers and sentences ("October 16, 2026").
MILEPOST_DATE_FORMAT = {"short": "medium", "long": "long"}

# Inspection reads its queries on this many database connections at once (outside a
# transaction; on PostgreSQL each a native Arrow connection on one exported snapshot). 1 = one
# after the other. Unset: 2 on PostgreSQL (on the 2-core reference machine about 0.5 s of 11
# faster) and 1 on SQLite (where it was slower); see benchmarks/README.md.
_READ_THREADS = os.environ.get("MILEPOST_INSPECTION_READ_THREADS", "")
MILEPOST_INSPECTION_READ_THREADS: int | None = int(_READ_THREADS) if _READ_THREADS else None

# Accounts and sessions (docs/security.md). Sign-in throttling by django-axes: this many
# failures for one username from one address lock that pair out for the cool-off time.
AXES_FAILURE_LIMIT = int(os.environ.get("MILEPOST_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("MILEPOST_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "security/locked_out.html"
# Milepost's own security log records sign-ins; axes keeps only the failure counters.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# A signed-in session ends after this long without a request, and this long after sign-in.
MILEPOST_SESSION_IDLE_MINUTES = int(os.environ.get("MILEPOST_SESSION_IDLE_MINUTES", "30"))
MILEPOST_SESSION_ABSOLUTE_HOURS = int(os.environ.get("MILEPOST_SESSION_ABSOLUTE_HOURS", "12"))
# Roles whose users must enrol a TOTP authenticator before using Milepost (e.g. "admin").
MILEPOST_OTP_REQUIRED_ROLES = [
    r.strip() for r in os.environ.get("MILEPOST_OTP_REQUIRED_ROLES", "").split(",") if r.strip()
]
OTP_TOTP_ISSUER = "Milepost"
# Personal API tokens expire: this many days unless the user picks fewer (at most the max).
MILEPOST_API_TOKEN_DEFAULT_DAYS = 90
MILEPOST_API_TOKEN_MAX_DAYS = 365
