from functools import wraps

from flask import abort, flash, make_response, render_template, request, session, url_for
from flask_babel import gettext as _

from blueprints.backoffice import bp
from blueprints.backoffice.forms import AgentLoginForm, DecisionForm
from blueprints.errors import render_error
from blueprints.htmx import htmx_redirect
from blueprints.params import page_number
from models import Agent, Administration
from services import DomainError, certifications, clock

IDLE = 30 * 60  # seconds, as for people's sessions


@bp.errorhandler(DomainError)
def domain_error(error):
    return render_error(error.status, error.message)


def agent_required(view):
    """The agent of this browser session, idle for less than 30 minutes."""

    @wraps(view)
    def wrapper(**kwargs):
        state = session.get("agent") or {}
        agent = None
        if state.get("id") and clock.timestamp() - state.get("at", 0) <= IDLE:
            agent = Agent.select(Agent, Administration).join(Administration).where(Agent.id == state["id"]).first()
        if agent is None:
            session.pop("agent", None)
            return htmx_redirect(url_for("backoffice.login"))
        session["agent"] = {"id": agent.id, "at": clock.timestamp()}
        return view(agent, **kwargs)

    return wrapper


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    form = AgentLoginForm()
    error = None
    if form.validate_on_submit():
        try:
            agent = certifications.check_agent(form.userid.data, form.password.data, request.remote_addr)
        except DomainError as refused:
            error = refused
        else:
            lang = session.get("lang")
            session.clear()  # a new session at login
            if lang:
                session["lang"] = lang
            session["agent"] = {"id": agent.id, "at": clock.timestamp()}
            return htmx_redirect(url_for("backoffice.requests"))
    status = getattr(error, "status", 422) if request.method == "POST" else 200
    response = make_response(render_template("backoffice/login.html", form=form, error=error and error.message), status)
    if getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@bp.post("/deconnexion")
def logout():
    session.pop("agent", None)
    flash(_("Vous êtes déconnecté du back-office."), "success")
    return htmx_redirect(url_for("backoffice.login"))


@bp.get("")
@agent_required
def requests(agent):
    page = page_number()
    rows, total = certifications.pending_requests(agent, page)
    return render_template("backoffice/requests.html", agent=agent, rows=rows, total=total, page=page,
                           per_page=certifications.PAGE_SIZE, form=DecisionForm(formdata=None))


@bp.post("/demandes/<id:request_id>")
@agent_required
def decide(agent, request_id):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    approve = request.form.get("decision") == "approve"
    try:
        certifications.decide_request(agent, request_id, approve, form.reason.data)
    except certifications.InvalidMandate as refused:
        flash(refused.message, "error")
        return htmx_redirect(url_for("backoffice.requests"))
    flash(_("Demande approuvée : l'espace est certifié.") if approve else _("Demande refusée."), "success")
    return htmx_redirect(url_for("backoffice.requests"))


@bp.get("/demandes/<id:request_id>/piece-jointe")
@agent_required
def attachment(agent, request_id):
    request_ = certifications.request_attachment(agent, request_id)
    response = make_response(bytes(request_.attachment))
    response.headers["Content-Type"] = request_.attachment_type
    # Served as a download, never rendered in the back-office's origin.
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[request_.attachment_type]
    response.headers["Content-Disposition"] = f'attachment; filename="piece-jointe-{request_.id}.{extension}"'
    response.headers["Cache-Control"] = "no-store"
    return response
