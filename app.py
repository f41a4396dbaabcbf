"""Espace Pro: the application factory."""

import os
import re
import weakref

from babel import Locale
from flask import Flask, current_app, has_request_context, session
from flask_babel import (
    Babel,
    format_currency,
    format_date,
    format_datetime,
    format_number,
    format_percent,
    get_locale,
    get_translations,
)
from flask_wtf.csrf import CSRFProtect
from jinja2 import pass_context
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

import cli
import database
from blueprints import errors, request_log, templating
from blueprints.params import apply_upload_limit, refuse_control_characters
from config import INSTANCE_DIR, ensure_secret_key, load_config
from services import languages, mail, procedures, vault

csrf = CSRFProtect()
babel = Babel()


# The templates' messages without placeholders as a page prints them (translated, then
# formatted as Jinja's newstyle gettext does: "%%" gives "%"), by catalogue: made once while
# the app runs instead of at each of a page's dozens of calls. Catalogues never change.
_PRINTED_MESSAGES = weakref.WeakKeyDictionary()


def _catalogue():
    """Flask-Babel's translations for the request's language and their printed messages, kept
    for the template's gettext calls (hundreds a page)."""
    return languages.per_language("template_translations", _made_catalogue)


def _made_catalogue():
    translations = get_translations()
    return translations, _PRINTED_MESSAGES.setdefault(translations, {})


def _translations():
    return _catalogue()[0]


@pass_context
def template_gettext(context, message, /, **variables):
    """Jinja's newstyle gettext (jinja2.ext._make_new_gettext): the translation, escaped
    where the template escapes, formatted with `variables`."""
    translations, printed = _catalogue()
    if not context.eval_ctx.autoescape:
        return translations.ugettext(message) % variables
    if variables:
        return Markup(translations.ugettext(message)) % variables
    text = printed.get(message)
    if text is None:
        text = printed[message] = Markup(translations.ugettext(message)) % variables
    return text


def install_template_gettext(app):
    """The templates' gettext, ngettext, pgettext, npgettext: Flask-Babel's, through
    `_catalogue`. `_`, which the templates call (~1,300 places), is `template_gettext`
    itself rather than Jinja's alias that looks gettext up and calls it at each use."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals["_"] = template_gettext


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


# Outside a request (the CLI, cron jobs): the first of these the environment sets names the language.
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def environment_language():
    """The language of the environment's locale ("de_DE.UTF-8" and "de:en" give "de", "C" gives
    "c"), or "" when none is set."""
    value = next((os.environ[name] for name in LOCALE_VARIABLES if os.environ.get(name)), "")
    return re.split(r"[:_.@]", value)[0].lower()


def select_locale():
    """The session's choice in a request; outside one, the environment's (LANG=de_DE.UTF-8 …)."""
    lang = session.get("lang") if has_request_context() else environment_language()
    if lang not in current_app.config["LANGUAGES"]:
        return None  # BABEL_DEFAULT_LOCALE, French
    return languages.locale_of(lang)


def format_deadline(moment, time=True, seconds=False):
    """A deadline with its weekday, the date in figures and the time, as the language writes
    them: "samedi 28/03/2026 08:40", "Samstag 28.03.2026 08:40", "Saturday 28/03/2026 08:40" (en_GB)."""
    if not moment:
        return ""
    locale = get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])
    day = locale.date_formats["short"].pattern.replace("yy", "y")  # the year in full
    if not time:
        return format_date(moment, day)
    hour = locale.time_formats["medium" if seconds else "short"].pattern
    return format_datetime(moment, f"EEEE {day} {hour}")


def create_app(config=None):
    """`config`: None (ESPACE_ENV decides), a name ("development", "production", "test"), or
    a dict of settings on top of the class its "ESPACE_ENV" key (or the environment) names."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    overrides = dict(config) if isinstance(config, dict) else {}
    name = config if isinstance(config, str) else overrides.pop("ESPACE_ENV", None)
    app.config.from_object(load_config(name))
    app.config.update(overrides)
    ensure_secret_key(app)
    # A broken procedure definition stops the start with the file and the place in it.
    procedures.check_definitions(app.config["PROCEDURES_DIR"])
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    request_log.init_app(app)  # the request id and the clock before any hook may answer
    # Then: a control character is refused before the database or a view sees it
    # (within the size a view accepts, which must be known before the body is read).
    app.before_request(apply_upload_limit)
    app.before_request(refuse_control_characters)
    database.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_template_gettext(app)
    mail.init_app(app)
    app.jinja_env.add_extension("jinja2.ext.do")

    from blueprints.params import IdConverter

    app.url_map.converters["id"] = IdConverter  # before any blueprint's rules use it
    from blueprints.auth import init_app as init_auth
    from blueprints.backoffice import init_app as init_backoffice
    from blueprints.certifications import bp as certifications_bp
    from blueprints.dev import bp as dev_bp
    from blueprints.help import bp as help_bp
    from blueprints.impots import bp as impots_bp
    from blueprints.main import bp as main_bp
    from blueprints.procedures import bp as procedures_bp
    from blueprints.spaces import bp as spaces_bp

    init_auth(app)
    app.register_blueprint(main_bp)
    app.register_blueprint(spaces_bp)
    app.register_blueprint(certifications_bp)
    app.register_blueprint(procedures_bp)
    app.register_blueprint(help_bp)
    app.register_blueprint(impots_bp)
    init_backoffice(app)
    if app.config["OUTBOX_VIEWER"]:
        app.register_blueprint(dev_bp)
    errors.init_app(app)
    cli.init_app(app)

    # Dates (blueprints/templating.py), numbers, amounts (euros) and percentages as the
    # language writes them (1 234, 1.234, 1,234).
    templating.init_app(app)
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["currency"] = lambda value: format_currency(value, "EUR")
    app.jinja_env.filters["percent"] = format_percent
    app.jinja_env.filters["deadline"] = format_deadline

    # The data's texts (catalogue, news, procedures, the vault's labels) in the page's language.
    app.jinja_env.filters["localized"] = languages.localized
    app.jinja_env.filters["vault_label"] = vault.label
    app.jinja_env.globals["procedure_text"] = languages.procedure_text

    @app.context_processor
    def locale_context():
        return {"current_locale": languages.current_language}  # fr, de or en (not en_GB)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config["HSTS"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")  # pages carry personal data
        return response

    return app
