from flask import abort, current_app, session
from flask_login import current_user
from peewee import InterfaceError, OperationalError

from blueprints.htmx import htmx_redirect, render_page_or_partial
from blueprints.main import bp
from blueprints.main.forms import LanguageForm
from blueprints.params import search_query
from models import db
from services import agents, catalogue, languages
from services.urls import safe_next


@bp.get("/")
def home():
    query = search_query()
    return render_page_or_partial(
        "main/home.html",
        "main/_catalogue.html",
        services=catalogue.search_services(query),
        news=catalogue.latest_news(),
        query=query,
    )


@bp.get("/healthz")
def healthz():
    """For load balancers and monitoring: 200 when the database answers, 503 otherwise."""
    try:
        db.execute_sql("SELECT 1")
    except (OperationalError, InterfaceError):
        return {"status": "unavailable"}, 503, {"Retry-After": "30", "Cache-Control": "no-store"}
    return {"status": "ok"}, 200, {"Cache-Control": "no-store"}


@bp.post("/langue")
def set_language():
    form = LanguageForm()
    if not form.validate_on_submit() or form.lang.data not in current_app.config["LANGUAGES"]:
        abort(400)
    session["lang"] = form.lang.data
    # Logged in: the account keeps the choice (its mails and letters are written in it).
    languages.choose_for_session(
        current_user._get_current_object() if current_user.is_authenticated else None,
        agents.load_session(session.get("agent_session")),
        form.lang.data,
    )
    return htmx_redirect(safe_next(form.next.data) or "/")
