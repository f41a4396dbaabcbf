from functools import wraps

from flask import abort, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from blueprints.auth.forms import OTPForm
from blueprints.backoffice import HOME, bp
from blueprints.backoffice.forms import AgentLoginForm, DecisionForm
from blueprints.errors import with_retry_after
from blueprints.htmx import htmx_redirect
from blueprints.params import page_number
from blueprints.responses import file_response, qr_response
from blueprints.sessions import adopt_language, fresh_session
from database import PAGE_SIZE
from models import AGENT_ROLES
from services import DomainError, agents, auth, certification_requests, crypto, files


def agent_required(view=None, *, roles=("agent",)):
    """The agent of a live back-office session (services/agents.py); a copied cookie dies
    with the session at logout, after 30 minutes idle or 12 hours. An agent whose role is
    not among `roles` is refused (403): an administration's work is its agents', the
    portal's is the helpdesk's. The services check the administration again."""

    def decorate(view):
        @wraps(view)
        def wrapper(**kwargs):
            agent = agents.load_session(session.get("agent_session"))
            if agent is None:
                session.pop("agent_session", None)
                return htmx_redirect(url_for("backoffice.login"))
            g.agent = agent  # for the request's log line
            if agent.role not in roles:
                abort(403)
            return view(agent, **kwargs)

        return wrapper

    return decorate(view) if view else decorate


helpdesk_required = agent_required(roles=("helpdesk",))
any_agent_required = agent_required(roles=AGENT_ROLES)


def gone_page(agent, section, title, gone, back_endpoint, back_label):
    """What is no longer there (a posted letter's PDF, a batch's codes downloaded already):
    said with the refusal's status, and the way back to its section."""
    context = {
        "title": title,
        "message": gone.message,
        "back": url_for(back_endpoint),
        "back_label": back_label,
    }
    return render_template("backoffice/gone.html", agent=agent, section=section, **context), gone.status


def login_page(template, form, error, **context):
    """A login page again, with the refusal's message and status (422 for a bad form)."""
    status = getattr(error, "status", 422) if request.method == "POST" else 200
    response = make_response(
        render_template(
            "page.html",
            partial=template,
            title=_("Back-office"),
            form=form,
            error=error and error.message,
            **context,
        ),
        status,
    )
    return with_retry_after(response, error)


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    form = AgentLoginForm()
    error = None
    if form.validate_on_submit():
        try:
            agent = agents.check_password(form.userid.data, form.password.data, request.remote_addr)
        except DomainError as refusal:
            error = refusal
        else:
            # Half-way: the agent's id for the next 5 minutes, no session yet (agent_required refuses).
            fresh_session(agent_login=auth.password_accepted(agent))
            return htmx_redirect(
                url_for("backoffice.login_code" if agent.enrolled_at else "backoffice.enrol")
            )
    return login_page("backoffice/_login.html", form, error)


def second_step(view):
    """The code pages: back to the password when it is missing or too old."""

    @wraps(view)
    def wrapper():
        agent = auth.pending_login(session.get("agent_login"), agents.AGENTS)
        if agent is None:
            session.pop("agent_login", None)
            flash(_("Veuillez vous authentifier à nouveau."), "warning")
            return htmx_redirect(url_for("backoffice.login"))
        return view(agent)

    return wrapper


def code_step(agent, template, **context):
    """The one-time code: a good one opens the session (and the back-office)."""
    form = OTPForm()
    error = None
    if form.validate_on_submit():
        try:
            token = agents.check_code(agent, form.otp.data, request.remote_addr)
        except DomainError as refusal:
            error = refusal
        else:
            session.pop("agent_login", None)
            session["agent_session"] = token
            adopt_language(agent)
            return htmx_redirect(url_for(HOME[agent.role]))
    return login_page(template, form, error, **context)


@bp.route("/connexion/code", methods=["GET", "POST"])
@second_step
def login_code(agent):
    if agent.enrolled_at is None:
        return htmx_redirect(url_for("backoffice.enrol"))
    return code_step(agent, "backoffice/_login_code.html")


@bp.route("/connexion/activation", methods=["GET", "POST"])
@second_step
def enrol(agent):
    """The first login: the secret as a QR code and as text, confirmed by a current code."""
    secret = agents.enrolment_secret(agent)
    if secret is None:
        return htmx_redirect(url_for("backoffice.login_code"))
    return code_step(agent, "backoffice/_enrol.html", secret=crypto.group(secret), userid=agent.userid)


@bp.get("/connexion/activation/qr.svg")
@second_step
def enrol_qr(agent):
    secret = agents.enrolment_secret(agent) or abort(404)
    return qr_response(auth.provisioning_uri(secret, agent.userid))


@bp.post("/deconnexion")
@any_agent_required
def logout(agent):
    agents.log_out(agent)
    session.pop("agent_session", None)
    flash(_("Vous êtes déconnecté du back-office."), "success")
    return htmx_redirect(url_for("backoffice.login"))


@bp.get("")
@any_agent_required
def requests(agent):
    if agent.is_helpdesk:
        return redirect(url_for(HOME[agent.role]))
    page = page_number()
    rows, total = certification_requests.pending_requests(agent, page)
    return render_template(
        "backoffice/requests.html",
        agent=agent,
        rows=rows,
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        form=DecisionForm(formdata=None),
    )


@bp.post("/demandes/<id:request_id>")
@agent_required
def decide(agent, request_id):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    approve = request.form.get("decision") == "approve"
    try:
        certification_requests.decide_request(agent, request_id, approve, form.reason.data)
    except certification_requests.RequestRefused as refused:
        flash(refused.message, "error")
        return htmx_redirect(url_for("backoffice.requests"))
    flash(_("Demande approuvée : l'espace est certifié.") if approve else _("Demande refusée."), "success")
    return htmx_redirect(url_for("backoffice.requests"))


@bp.get("/demandes/<id:request_id>/piece-jointe")
@agent_required
def attachment(agent, request_id):
    request_ = certification_requests.request_attachment(agent, request_id)
    extension = files.EXTENSIONS[request_.attachment_type]
    # Sent by a person: a download, never rendered in the back-office's origin.
    return file_response(
        bytes(request_.attachment),
        request_.attachment_type,
        f"piece-jointe-{request_.id}.{extension}",
        download=True,
    )
