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
    "milepost.core",
    "milepost.team",
    "milepost.accounts",
    "milepost.process",
    "milepost.pipeline",
    "milepost.evidence",
    "milepost.methodology",
    "milepost.playbooks",
    "milepost.imports",
    "milepost.inspection",
    "milepost.coaching",
    "milepost.demo",
    "milepost.designer",
    "milepost.deals",
    "milepost.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "milepost.web.middleware.PrivateResponseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside the two above, so a 413 carries their headers too; it still answers before any
    # view or CSRF check reads the body (those run after every middleware's __call__).
    "milepost.web.middleware.RequestSizeLimitMiddleware",
    "milepost.team.middleware.VisibilityCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

if PRODUCTION:
    # Serve collected, compressed static files from the app server (``milepost collectstatic``).
    # In development ``runserver`` serves them from the apps' static folders.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

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


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "team.User"
AUTHENTICATION_BACKENDS = [
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
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Vendored front-end assets and Milepost's own CSS/JS live beside the settings, not in an app.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("MILEPOST_STATIC_ROOT", DATA_DIR / "staticfiles"))
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

# Inspection reads its queries on this many database connections at once (outside a
# transaction; on PostgreSQL each a native Arrow connection on one exported snapshot). 1 = one
# after the other. Unset: 2 on PostgreSQL (on the 2-core reference machine about 0.5 s of 11
# faster) and 1 on SQLite (where it was slower); see benchmarks/README.md.
_READ_THREADS = os.environ.get("MILEPOST_INSPECTION_READ_THREADS", "")
MILEPOST_INSPECTION_READ_THREADS: int | None = int(_READ_THREADS) if _READ_THREADS else None
