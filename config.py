"""Configuration read from the environment (README, "Configuration").

`ESPACE_ENV` picks the class: `development` (the default, what `make run` uses),
`production` (what `make serve` uses) or `test`.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("ESPACE_INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'espace-pro.db'}")
    # PostgreSQL: connections each process keeps open (a gunicorn worker uses one at a time),
    # and how long a request waits for one before the page says the database is unavailable.
    DATABASE_POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
    DATABASE_POOL_TIMEOUT = 10  # seconds

    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Espace Pro <no-reply@espace-pro.local>")
    MAIL_TIMEOUT = 10  # seconds; a dead SMTP server must not hang a worker
    MAIL_MAX_ATTEMPTS = 12  # with exponential backoff capped at one hour: about half a day

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Luxembourg"
    LANGUAGES = {"fr": "Français", "de": "Deutsch", "en": "English"}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "espace_session"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024  # a request's attachment is at most 5 MB
    # The online procedures' definitions, checked at start-up and loaded by seed-demo.
    PROCEDURES_DIR = BASE_DIR / "data" / "procedures"
    # The cookie is sent only when the session changes: a static file answered while a POST
    # runs must not send back the older cookie over the new one. Idle time is kept in the
    # database (UserSession.last_seen_at), not in the cookie.
    SESSION_REFRESH_EACH_REQUEST = False
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    HSTS = True
    OUTBOX_VIEWER = False  # the development page listing queued mails
    # Sender block printed on every postal letter.
    LETTER_SENDER = os.environ.get("LETTER_SENDER", "Espace Pro · Helpdesk · L-0000 Luxembourg")
    # Who runs the portal, named on Aspects légaux and Accessibilité (its address: LETTER_SENDER).
    OPERATOR_NAME = os.environ.get("OPERATOR_NAME", "Espace Pro")
    PUBLIC_URL = os.environ.get("PUBLIC_URL")  # absolute links in mails outside a request
    # The key and self-signed certificate that sign the receipts of dossiers (PEM files,
    # generated on first use; default: instance/receipt-key.pem and instance/receipt-cert.pem).
    RECEIPT_KEY_FILE = os.environ.get("RECEIPT_KEY_FILE")
    RECEIPT_CERT_FILE = os.environ.get("RECEIPT_CERT_FILE")
    # The audit chain's last checkpoint, outside the database (default: instance/audit-checkpoint).
    AUDIT_CHECKPOINT = os.environ.get("AUDIT_CHECKPOINT")
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (0: none);
    # throttling per client address needs the real address.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # One JSON line per request on stderr (blueprints/request_log.py); tests turn it on where they read it.
    LOG_REQUESTS = _bool("LOG_REQUESTS", True)
    # The administration of the impots way in (seed 004): its services are adhered to.
    IMPOTS_ADMINISTRATION = os.environ.get("IMPOTS_ADMINISTRATION", "DGFIP")
    TERMS_VERSION = "2026-01"  # raise it when templates/auth/_terms_text.html changes
    # argon2id, the library's recommended profile; tests lower it for speed.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = False  # served over plain http://127.0.0.1
    HSTS = False
    OUTBOX_VIEWER = True


class ProductionConfig(Config):
    ENV_NAME = "production"
    # The browser keeps a __Host- cookie only when Secure, for Path=/ and without Domain:
    # no subdomain or plain-http page can set or shadow the session.
    SESSION_COOKIE_NAME = "__Host-espace_session"
    SESSION_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = None


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SESSION_COOKIE_SECURE = False
    HSTS = False
    OUTBOX_VIEWER = True
    MAIL_SERVER = None
    DATABASE_POOL_SIZE = 100  # tests run dozens of threads at once against one process
    LOG_REQUESTS = False
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1


CONFIGS = {c.ENV_NAME: c for c in (DevelopmentConfig, ProductionConfig, TestConfig)}


def load_config(name=None):
    name = name or os.environ.get("ESPACE_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"ESPACE_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None


def ensure_secret_key(app):
    """Development keeps a generated key under instance/; production must be given one."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config["ENV_NAME"] == "production":
        raise RuntimeError("SECRET_KEY must be set in production (see README, Configuration).")
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    app.config["SECRET_KEY"] = path.read_text().strip()
