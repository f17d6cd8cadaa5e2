"""One environment-driven settings module.

Every knob that differs between a laptop, CI and production comes from the
environment; the defaults are the embedded development set-up of `make run`
(SQLite, a filesystem Celery broker, console email and SMS).
"""

import importlib
import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from config.layers import LAYERS

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False) or "pytest" in sys.modules

INSECURE_DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY if (DEBUG or TESTING) else "")
if not DEBUG and not TESTING and (not SECRET_KEY or SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or is the development default. Set a long random SECRET_KEY "
        "in the environment (or DEBUG=1 for local development)."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if (DEBUG or TESTING) else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    # project apps, lowest layer first (config/layers.py; tests/test_layers.py checks the imports)
    *LAYERS,
]

MIDDLEWARE = [
    # Probes and /metrics first: answered before the host check, the HTTPS redirect and the session
    # (load balancers probe by IP over plain HTTP); then a request id for every log line.
    "ops.middleware.OpsEndpointsMiddleware",
    "ops.middleware.RequestIdMiddleware",
    "ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # a person with a second factor confirms it once per session (accounts.mfa)
    "accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "agency.middleware.AdminScopesMiddleware",
    # the agency's time zone, activated by the agency-scoped views, reset after each request
    "agency.middleware.AgencyTimezoneMiddleware",
    "axes.middleware.AxesMiddleware",
    # with DATABASE_REPLICA_URL: a request that wrote reads its writes back from the primary
    "agency.db.ReadYourWritesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "backoffice.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        # Persistent connections (a request or task reuses the worker's connection for 60 s) with a
        # health check before reuse; DB_CONN_MAX_AGE=0 behind PgBouncer in transaction mode.
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
    )
}
# PostgreSQL: the few statements a worker runs thousands of times (an email's record) are prepared
# once per connection (agency.bulksql.prepared_cursor). DB_PREPARED_STATEMENTS=0 behind a pooler
# in transaction mode that does not keep prepared statements (PgBouncer before 1.21).
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
if DB_PREPARED_STATEMENTS and DATABASES["default"].get("ENGINE") == "django.db.backends.postgresql":
    # psycopg ignores a request to prepare when its threshold is None (Django's default); Django's
    # own cursors bind on the client and never prepare, so only prepared_cursor's statements are.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 1_000_000)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL: readers never wait for the writer (web, worker and beat share the file), and a commit
    # does not wait for fsync (synchronous=NORMAL: never corrupts, a power cut may lose the last commits).
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE",
                                            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"})


def replica_database(url: str) -> dict:
    """The `replica` alias from DATABASE_REPLICA_URL, parsed like DATABASE_URL. In tests it mirrors
    `default` (the same test database through a second connection)."""
    config = dj_database_url.parse(
        url,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
    )
    config["TEST"] = {"MIRROR": "default"}
    return config


# A read replica (streaming replication) for lists and exports (agency/db.py, docs/scaling.md).
# Unset: one database, no router, nothing changes.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = replica_database(DATABASE_REPLICA_URL)
    DATABASE_ROUTERS = ["agency.db.PrimaryReplicaRouter"]
# After a user's request that wrote (or their background job), their lists and exports read from
# the primary for this long: more than the replica's usual lag (alert when the lag exceeds it).
REPLICA_PIN_SECONDS = int(os.environ.get("REPLICA_PIN_SECONDS", "10"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.throttle.AddressLockBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Fast hashing in the test suite only (fixtures create a dozen users per test).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Repeated failed logins are throttled (django-axes): 5 failures per user+IP lock for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_CLIENT_IP_CALLABLE = "accounts.net.client_ip"
# Password spraying: this many failed logins from one address (any usernames) within the
# cool-off window lock that address (accounts/throttle.py). 0 disables.
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "20"))

# Second factor (django-otp, accounts/mfa.py): TOTP apps with recovery codes; a step-up is a
# check within MFA_STEP_UP_SECONDS; MFA_LOCKOUT_FAILURES wrong codes in a row lock the checks
# for MFA_LOCKOUT_MINUTES (besides django-otp's own exponential back-off).
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "MCN Shutdown")
MFA_STEP_UP_SECONDS = int(os.environ.get("MFA_STEP_UP_SECONDS", "300"))
MFA_LOCKOUT_FAILURES = int(os.environ.get("MFA_LOCKOUT_FAILURES", "5"))
MFA_LOCKOUT_MINUTES = int(os.environ.get("MFA_LOCKOUT_MINUTES", "15"))
# Passkeys (django-otp-webauthn, accounts/passkeys.py): a second factor on top of the app, never a
# password-less login. The relying party is the site's host name as the browser sees it
# (PASSKEY_RP_ID to fix it); PASSKEY_ORIGINS are the exact origins pages are served from
# (https://…, or http://localhost:PORT in development).
PASSKEY_RP_ID = os.environ.get("PASSKEY_RP_ID", "")
OTP_WEBAUTHN_RP_ID_CALLABLE = "accounts.passkeys.relying_party_id"
OTP_WEBAUTHN_RP_NAME = os.environ.get("PASSKEY_RP_NAME", "MCN 关停后台")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list("PASSKEY_ORIGINS") or ["http://localhost:8000"]
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Uploaded files (task documents, appeal evidence, execution screenshots) go through Django's
# storage API: the local disk under MEDIA_ROOT by default (one machine), S3-compatible object
# storage when STORAGE_S3_BUCKET is set (AWS S3, Aliyun OSS, Tencent COS, MinIO). Either way they
# are served only by the agency- and role-checked download view (agency/files.py): nothing is
# mounted at MEDIA_URL, and the bucket stays private (short-lived signed URLs).
STORAGE_S3_BUCKET = os.environ.get("STORAGE_S3_BUCKET", "")
STORAGE_SIGNED_URL_SECONDS = int(os.environ.get("STORAGE_SIGNED_URL_SECONDS", "60"))


def s3_storage_options(bucket: str, **overrides) -> dict:
    """django-storages S3Storage options from the environment (also used by the tests)."""
    options = {
        "bucket_name": bucket,
        "endpoint_url": os.environ.get("STORAGE_S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("STORAGE_S3_REGION") or None,
        "access_key": os.environ.get("STORAGE_S3_ACCESS_KEY_ID") or None,
        "secret_key": os.environ.get("STORAGE_S3_SECRET_ACCESS_KEY") or None,
        "location": os.environ.get("STORAGE_S3_PREFIX", ""),
        "addressing_style": os.environ.get("STORAGE_S3_ADDRESSING_STYLE") or None,  # "virtual" for Aliyun OSS
        "signature_version": os.environ.get("STORAGE_S3_SIGNATURE_VERSION", "s3v4"),
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": STORAGE_SIGNED_URL_SECONDS,
        "file_overwrite": False,
        "custom_domain": None,
    }
    options.update(overrides)
    return options


STORAGES = {
    "default": (
        {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options(STORAGE_S3_BUCKET)}
        if STORAGE_S3_BUCKET
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not (DEBUG or TESTING)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# WhiteNoise: hashed names are cached "forever" (immutable); unhashed ones for a minute.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
# Every spreadsheet/CSV the product reads is bounded before and while it is read
# (agency/importers/reader.py): rows and columns (declared and real), an XLSX's unpacked size
# and compression ratio (from the zip entries, before openpyxl opens it), and a wall-clock budget.
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "100000"))
IMPORT_MAX_COLUMNS = int(os.environ.get("IMPORT_MAX_COLUMNS", "200"))
IMPORT_MAX_UNPACKED_BYTES = int(os.environ.get("IMPORT_MAX_UNPACKED_BYTES", str(200 * 1024 * 1024)))
IMPORT_MAX_COMPRESSION_RATIO = int(os.environ.get("IMPORT_MAX_COMPRESSION_RATIO", "100"))
IMPORT_TIME_BUDGET_SECONDS = float(os.environ.get("IMPORT_TIME_BUDGET_SECONDS", "60"))
# An import with more rows than this runs as a background job (agency.jobs) instead of in the request.
IMPORT_JOB_THRESHOLD_ROWS = int(os.environ.get("IMPORT_JOB_THRESHOLD_ROWS", "5000"))
# Likewise an export of more accounts than this, and a bulk action over more accounts than this:
# they run in a Celery worker with a progress page, the API answers 202 with the job to poll.
EXPORT_JOB_THRESHOLD_ROWS = int(os.environ.get("EXPORT_JOB_THRESHOLD_ROWS", "5000"))
BULK_JOB_THRESHOLD_ACCOUNTS = int(os.environ.get("BULK_JOB_THRESHOLD_ACCOUNTS", "1000"))
# Inside a shutdown task: a bulk action over more items than this, and the confirmation of a platform
# receipts file of more rows than this (each row marks an account done: ~40 queries), run as jobs too.
SHUTDOWN_BULK_JOB_THRESHOLD = int(os.environ.get("SHUTDOWN_BULK_JOB_THRESHOLD", "200"))
SHUTDOWN_RECEIPTS_JOB_THRESHOLD = int(os.environ.get("SHUTDOWN_RECEIPTS_JOB_THRESHOLD", "50"))
# Every background job stops (and says which limit it hit) past its time or row budget.
JOB_TIME_BUDGET_SECONDS = int(os.environ.get("JOB_TIME_BUDGET_SECONDS", "900"))
JOB_MAX_ROWS = int(os.environ.get("JOB_MAX_ROWS", "200000"))
# An export job's file (personal data) is deleted from storage this many days after the job ends.
JOB_FILE_RETENTION_DAYS = int(os.environ.get("JOB_FILE_RETENTION_DAYS", "7"))
# A previewed import nobody confirmed: its uploaded file is deleted from storage after this long (jobs sweep).
IMPORT_PENDING_RETENTION_HOURS = int(os.environ.get("IMPORT_PENDING_RETENTION_HOURS", "24"))
# PostgreSQL: a bulk write of at least this many rows refreshes the tables' statistics after commit
# (agency.bulksql.analyze_after_commit), so the next list query is planned for the rows now there.
BULK_ANALYZE_MIN_ROWS = int(os.environ.get("BULK_ANALYZE_MIN_ROWS", "1000"))
# How often the job page polls while a job runs (milliseconds).
JOB_POLL_MS = int(os.environ.get("JOB_POLL_MS", "1500"))

# Cache: Redis when REDIS_URL is set, local memory otherwise. Keys always carry the agency
# (nothing caches tenant data today; any such key must carry the agency id).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Security headers -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Lax (the default, stated because the signing pages rely on it against forged POSTs).
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not (DEBUG or TESTING))
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not (DEBUG or TESTING))
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if (DEBUG or TESTING) else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
# Load balancers probe over plain HTTP; Prometheus scrapes inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
# How many reverse proxies in front of the app append to X-Forwarded-For. The client address
# is that many entries from the right (accounts/net.py); 0 = no proxy, use REMOTE_ADDR.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- Email and SMS ------------------------------------------------------------------------
# Django 6.1 MAILERS. EMAIL_BACKEND picks the backend (console by default for `make run`;
# smtp in production, with EMAIL_HOST/EMAIL_PORT/EMAIL_HOST_USER/EMAIL_HOST_PASSWORD/EMAIL_USE_TLS).
EMAIL_BACKEND_PATH = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if (DEBUG or TESTING) else "django.core.mail.backends.smtp.EmailBackend",
)
_email_options: dict = {}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    _email_options = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS"),
        "use_ssl": env_bool("EMAIL_USE_SSL"),
        "timeout": 20,
    }
elif EMAIL_BACKEND_PATH.endswith("filebased.EmailBackend"):
    _email_options = {"file_path": os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "outbox" / "email"))}
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "MCN Shutdown <no-reply@mcn-shutdown.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# SMS: a dotted path to a backend class (see notifications/sms/); provider credentials from env.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "notifications.sms.backends.console.SmsBackend")
SMS_FILE_PATH = os.environ.get("SMS_FILE_PATH", str(VAR_DIR / "outbox" / "sms"))
SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "MCN关停助手")
ALIYUN_SMS_ACCESS_KEY_ID = os.environ.get("ALIYUN_SMS_ACCESS_KEY_ID", "")
ALIYUN_SMS_ACCESS_KEY_SECRET = os.environ.get("ALIYUN_SMS_ACCESS_KEY_SECRET", "")
ALIYUN_SMS_ENDPOINT = os.environ.get("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com")
TENCENT_SMS_SECRET_ID = os.environ.get("TENCENT_SMS_SECRET_ID", "")
TENCENT_SMS_SECRET_KEY = os.environ.get("TENCENT_SMS_SECRET_KEY", "")
TENCENT_SMS_SDK_APP_ID = os.environ.get("TENCENT_SMS_SDK_APP_ID", "")
TENCENT_SMS_REGION = os.environ.get("TENCENT_SMS_REGION", "ap-guangzhou")
# Per message kind, per provider: the registered template's id, sign name and variable order
# (JSON in the environment; see notifications/sms/config.py and the README, "SMS templates").
# Checked at start-up: a mistake stops `manage.py check`, runserver and migrate.
SMS_TEMPLATES = os.environ.get("SMS_TEMPLATES", "{}")
# No SMS between these local hours (agency time zone): they wait for the morning.
SMS_QUIET_HOURS_START = int(os.environ.get("SMS_QUIET_HOURS_START", "22"))
SMS_QUIET_HOURS_END = int(os.environ.get("SMS_QUIET_HOURS_END", "8"))
# Delivery: failed sends are retried with exponential backoff, then marked failed.
NOTIFY_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "5"))
NOTIFY_RETRY_BASE_SECONDS = int(os.environ.get("NOTIFY_RETRY_BASE_SECONDS", "60"))
NOTIFY_RETRY_MAX_SECONDS = int(os.environ.get("NOTIFY_RETRY_MAX_SECONDS", "3600"))
# The sweep claims this many due rows per transaction, and stops after this many seconds
# (the next beat run continues).
NOTIFY_SWEEP_BATCH = int(os.environ.get("NOTIFY_SWEEP_BATCH", "200"))
NOTIFY_SWEEP_MAX_SECONDS = int(os.environ.get("NOTIFY_SWEEP_MAX_SECONDS", "50"))
# A message claimed (`sending`) longer ago than this by a worker that died is sent again by the
# sweep. Keep it well above the longest transport call (SMTP/SMS timeouts).
NOTIFY_SENDING_TIMEOUT_SECONDS = int(os.environ.get("NOTIFY_SENDING_TIMEOUT_SECONDS", "600"))

# --- Celery -------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # Embedded broker for `make run`: nothing else to install.
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "out").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic sweeps: each app declares its own in `<app>/beat.py` (a plain BEAT_SCHEDULE dict).
CELERY_BEAT_SCHEDULE: dict = {}
for _app in ("agency", "notifications", "rulebook", "shutdown", "approvals", "deadlines"):
    try:
        CELERY_BEAT_SCHEDULE.update(importlib.import_module(f"{_app}.beat").BEAT_SCHEDULE)
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{_app}.beat":
            raise

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # personal API tokens, one agency each, stored as hashes (accounts.authentication); first,
        # so that a refused token answers 401 with WWW-Authenticate: Bearer
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "agency.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "agency.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "agency.api.errors.exception_handler",
    # Per client address (accounts/net.py): the owner's signing pages, and code requests on them.
    "DEFAULT_THROTTLE_RATES": {"signing": os.environ.get("SIGNING_RATE", "30/min"),
                               "signing_code": os.environ.get("SIGNING_CODE_RATE", "10/hour")},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
# The schema, Swagger UI and Redoc (config/api_docs.py): public only when this is on; by default
# on with DEBUG, so in production only logged-in users (session or token) see them.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", DEBUG)
SPECTACULAR_SETTINGS = {
    "TITLE": "MCN Shutdown API",
    "DESCRIPTION": "Sub-accounts, shutdown tasks, approvals, signatures, deadlines and reminders, per agency.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "DEFAULT_GENERATOR_CLASS": "agency.api.schema.ScopedSchemaGenerator",
    "ENUM_NAME_OVERRIDES": {
        "SubAccountStatusEnum": "agency.models.SubAccountStatus",
        "AccountKindEnum": "agency.models.AccountKind",
        "DeadlineKindEnum": "deadlines.models.DeadlineKind",
        "TaskStateEnum": "shutdown.states.TaskState",
        "JobKindEnum": "agency.models.JobKind",
        "JobStateEnum": "agency.models.JobState",
        "JobStageEnum": "agency.models.JobStage",
    },
}

# --- Logs, metrics, error reporting (ops/) -------------------------------------------------
# One JSON object per line (LOG_FORMAT=json, the default with DEBUG off) with the request id
# that follows a request into the Celery jobs it starts; credentials are redacted by
# ops.log_secrets.CredentialRedactionFilter on every handler.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "ops.logs.RequestIdFilter"},
        "credentials": {"()": "ops.log_secrets.CredentialRedactionFilter"},
        # signing tokens (/sign/<token>/) never reach a log line, access log included
        "signing_tokens": {"()": "config.log_filters.RedactSigningTokens"},
    },
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
                          "style": "{"},
        "json": {"()": "ops.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT if LOG_FORMAT in ("json", "text") else "json",
            "filters": ["request_id", "credentials", "signing_tokens"],
        },
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server",
                          "filters": ["credentials", "signing_tokens"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Our request line (ops.middleware) replaces gunicorn's access log; the development
        # server keeps its own, through the same redaction.
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["console"], "propagate": False},
    },
}
# Workers log through the same handlers (JSON, request id, redaction) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_REDIRECT_STDOUTS = False

# /metrics (Prometheus): open to loopback, to METRICS_ALLOWED_IPS (addresses or networks) and to
# `Authorization: Bearer $METRICS_BEARER_TOKEN`; 403 to everybody else.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS")
METRICS_BEARER_TOKEN = os.environ.get("METRICS_BEARER_TOKEN", "")

# Sentry when SENTRY_DSN is set; nothing is sent otherwise (no PII, credentials redacted).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN and not TESTING:
    from ops.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN)

# --- Domain policy ------------------------------------------------------------------------
# Every number of shared/domain.md lives in rulebook.policy (one table, agency-readable);
# nothing here repeats them.
SIGNING_LINK_TTL_HOURS = int(os.environ.get("SIGNING_LINK_TTL_HOURS", "72"))
# After its first visit a signing link is exchanged for a session this long, bound to that
# request (the token leaves the address bar).
SIGNING_SESSION_MINUTES = int(os.environ.get("SIGNING_SESSION_MINUTES", "30"))
# Fernet keys sealing one-time secrets in the outbox until sent (newest first); empty = a key
# derived from SECRET_KEY. Only the delivery path unseals (notifications/secrets.py).
OUTBOX_SEAL_KEYS = env_list("OUTBOX_SEAL_KEYS")
# Fernet keys sealing the identity providers' client secrets (agency/sso.py), newest first; empty =
# a key derived from SECRET_KEY under its own label.
SSO_SEAL_KEYS = env_list("SSO_SEAL_KEYS")
