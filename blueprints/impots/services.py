"""An impots space's services, the tab "Mes services impots": Activer mon espace in a Mode
simplifié space (its one adhesion), and in a Mode expert space the adhesions, J'adhère, the
code of each, a new code, Retirer l'adhésion (which asks first). Every form is a real form
(a 303 to the tab after a POST without JavaScript, the tab in place with htmx); a refusal is
said beside its field with its status."""

from flask import abort, flash, request, url_for
from flask_babel import format_date, gettext as _
from flask_login import current_user

import clock
from blueprints.errors import with_retry_after
from blueprints.forms import refused_beside
from blueprints.htmx import htmx_location, is_htmx
from blueprints.impots import bp
from blueprints.impots.adhesion_forms import ActivationCodeForm, AdhesionForm, SirenForm
from blueprints.params import page_number, search_query
from blueprints.space_pages import confirmation, space_page, space_view
from database import PAGE_SIZE
from services import InvalidInput, adhesions, companies, languages, throttle
from services.spaces import require

TAB = "impots"
TARGET = "#space-tab"


def tab_url(member):
    return url_for("impots.services", space_id=member.space_id)


def services_tab(member, status=200, code_form=None, error=None, **context):
    """The tab: the Mode simplifié space's activation, or the expert space's adhesions."""
    space = member.space
    if not adhesions.is_impots_space(space):
        abort(404)
    if adhesions.is_expert(space):
        query, page = search_query(), page_number()
        lines, total = adhesions.listing(member, query, page=page)
        context.update(lines=lines, total=total, query=query, page=page, per_page=PAGE_SIZE)
        partial = "impots/_services_expert.html"
    else:
        adhesion = adhesions.own_adhesion(space)
        context.update(
            adhesion=adhesion,
            services=adhesions.services_of(adhesion) if adhesion else [],
            code_form=code_form or ActivationCodeForm(formdata=None),
        )
        partial = "impots/_services_simplified.html"
    return space_page(
        member,
        TAB,
        status=status,
        partial=partial,
        error=error,
        now=clock.now(),
        statuses=adhesions.STATUS_LABELS,
        inline_flashes=is_htmx(),
        **context,
    )


def done(member, message):
    flash(message, "success")
    return htmx_location(tab_url(member), TARGET)


@bp.get("/espaces/<id:space_id>/impots")
@space_view
def services(member):
    return services_tab(member)


# --- J'adhère (Mode expert) -----------------------------------------------------------------


def adhere_page(member, status=200, siren_form=None, form=None, company=None):
    """J'adhère: the SIREN, then (a company found) the services and what they ask. htmx shows
    the e-mail and bank fields once their service is ticked; a page without JavaScript shows
    them all, each saying when it is needed."""
    context = {"siren_form": siren_form or SirenForm(formdata=None), "form": form, "company": company}
    if company is not None:
        offered = adhesions.offered_services()
        chosen = [service for service in offered if service.id in (form.services.data or ())]
        wants_email, wants_bank = adhesions.needs(chosen, company)
        context.update(
            offered=offered,
            show_all=not is_htmx(),
            wants_email=wants_email,
            wants_bank=wants_bank,
            masked_iban=adhesions.mask_iban(company.iban) if company.iban else "",
        )
    return space_page(member, TAB, status=status, partial="impots/_adhesion_form.html", error=None, **context)


def _adhesion_form(company, formdata):
    form = AdhesionForm(formdata=formdata)
    form.services.choices = [
        (service.id, languages.localized(service, "name")) for service in adhesions.offered_services()
    ]
    if formdata is not None and "company_email" not in formdata:
        form.company_email.data = company.email  # prefilled from the register
    return form


@bp.get("/espaces/<id:space_id>/impots/adherer")
@space_view
def adhere(member):
    require(member, "manage_certifications")
    if not adhesions.is_expert(member.space):
        raise adhesions.NotAnExpertSpace()
    if "siren" not in request.args:
        return adhere_page(member)
    siren_form = SirenForm(formdata=request.args)
    if not siren_form.validate():
        return adhere_page(member, status=422, siren_form=siren_form)
    try:
        company = adhesions.company_to_adhere(member, siren_form.siren.data)
    except (companies.InvalidSiren, companies.UnknownCompany, adhesions.AlreadyAdhered) as error:
        refused_beside(siren_form.siren, error.message)
        return adhere_page(member, status=error.status, siren_form=siren_form)
    form = _adhesion_form(company, request.args)
    form.siren.data = company.identifier
    return adhere_page(member, siren_form=siren_form, form=form, company=company)


@bp.post("/espaces/<id:space_id>/impots/adherer")
@space_view
def adhere_post(member):
    require(member, "manage_certifications")
    siren_form = SirenForm(formdata=request.form)
    try:
        company = adhesions.company_to_adhere(member, request.form.get("siren", ""))
    except (companies.InvalidSiren, companies.UnknownCompany, adhesions.AlreadyAdhered) as error:
        refused_beside(siren_form.siren, error.message)
        return adhere_page(member, status=error.status, siren_form=siren_form)
    form = _adhesion_form(company, request.form)
    if not form.validate_on_submit():
        return adhere_page(member, status=422, siren_form=siren_form, form=form, company=company)
    try:
        adhesion = adhesions.request_adhesion(
            member,
            current_user,
            company.identifier,
            form.services.data,
            company_email=form.company_email.data or "",
            iban=form.iban.data or "",
            account_holder=form.account_holder.data or "",
        )
    except (adhesions.AlreadyAdhered, companies.UnknownCompany, companies.InvalidSiren) as error:
        refused_beside(siren_form.siren, error.message)
        return adhere_page(member, status=error.status, siren_form=siren_form)
    except InvalidInput as error:
        for refusal in getattr(error, "refusals", [error]):
            refused_beside(form[refusal.field], refusal.message)
        return adhere_page(member, status=error.status, siren_form=siren_form, form=form, company=company)
    return done(
        member,
        _(
            "Demande d'adhésion enregistrée pour %(company)s. Le code d'activation est envoyé par "
            "courrier à l'adresse de l'entreprise : saisissez-le avant le %(deadline)s.",
            company=adhesion.company_name,
            deadline=format_date(adhesion.code_expires_at),
        ),
    )


# --- The code: Activer mon espace, Saisir le code d'activation -----------------------------------


def code_page(member, adhesion, status=200, form=None, error=None):
    """Where the code is typed: the tab itself in a Mode simplifié space, a page of the tab
    for one adhesion in an expert space."""
    if not adhesions.is_expert(member.space):
        return services_tab(member, status=status, code_form=form, error=error)
    return space_page(
        member,
        TAB,
        status=status,
        partial="impots/_adhesion_code.html",
        adhesion=adhesion,
        state=adhesion.status(clock.now()),  # an active or withdrawn one takes no code
        code_form=form or ActivationCodeForm(formdata=None),
        error=error,
    )


def expired_page(member, adhesion, error):
    """410: the code came too late; the way forward is a new code, or the helpdesk once a new
    code was sent already."""
    return space_page(
        member,
        TAB,
        status=error.status,
        partial="impots/_adhesion_expired.html",
        adhesion=adhesion,
        message=error.message,
    )


@bp.route("/espaces/<id:space_id>/impots/adhesions/<int:adhesion_id>/activer", methods=["GET", "POST"])
@space_view
def activate_adhesion(member, adhesion_id):
    require(member, "manage_certifications")
    adhesion = adhesions.adhesion_of(member, adhesion_id)
    if request.method == "GET":
        if adhesion.status(clock.now()) == "expired":
            return expired_page(member, adhesion, adhesions.ActivationCodeExpired())
        return code_page(member, adhesion)
    form = ActivationCodeForm()
    if not form.validate_on_submit():
        return code_page(member, adhesion, status=422, form=form)
    try:
        adhesion = adhesions.activate(member, current_user, adhesion.id, form.code.data)
    except adhesions.ActivationCodeExpired as error:
        return expired_page(member, adhesion, error)
    except (adhesions.InvalidActivationCode, throttle.Throttled, throttle.Locked) as error:
        refused_beside(form.code, error.message)
        return with_retry_after(code_page(member, adhesion, status=error.status, form=form), error)
    except (adhesions.AlreadyActive, adhesions.AdhesionWithdrawn) as error:
        adhesion = adhesions.adhesion_of(member, adhesion.id)  # as it is now
        return code_page(member, adhesion, status=error.status, form=form, error=error.message)
    if adhesions.is_expert(member.space):
        message = _("Services activés pour %(company)s.", company=adhesion.company_name)
    else:
        message = _("Votre espace est activé : ses services en ligne sont disponibles.")
    return done(member, message)


@bp.post("/espaces/<id:space_id>/impots/adhesions/<int:adhesion_id>/nouveau-code")
@space_view
def new_code(member, adhesion_id):
    require(member, "manage_certifications")
    adhesion = adhesions.adhesion_of(member, adhesion_id)
    try:
        adhesions.send_new_code(member, current_user, adhesion.id)
    except (adhesions.AlreadyResent, adhesions.AlreadyActive, adhesions.AdhesionWithdrawn) as error:
        return services_tab(member, status=error.status, error=error.message)
    return done(
        member,
        _(
            "Un nouveau code d'activation est envoyé par courrier à l'adresse de l'entreprise %(company)s ; "
            "l'ancien code ne sert plus.",
            company=adhesion.company_name,
        ),
    )


@bp.route("/espaces/<id:space_id>/impots/adhesions/<int:adhesion_id>/retirer", methods=["GET", "POST"])
@space_view
def withdraw(member, adhesion_id):
    require(member, "manage_certifications")
    adhesion = adhesions.adhesion_of(member, adhesion_id)
    if request.method == "GET":
        return confirmation(
            member,
            TAB,
            f"withdraw-{adhesion.id}",
            _("Retirer l'adhésion"),
            _(
                "Retirer l'adhésion pour l'entreprise %(company)s (SIREN %(siren)s) ?",
                company=adhesion.company_name,
                siren=adhesion.company_identifier,
            ),
            tab_url(member),
            _(
                "Cet espace n'aura plus accès aux services de cette entreprise ; pour y revenir, il "
                "faudra adhérer de nouveau et saisir un nouveau code reçu par courrier."
            ),
        )
    try:
        adhesions.withdraw(member, current_user, adhesion.id)
    except adhesions.AdhesionWithdrawn as error:
        return services_tab(member, status=error.status, error=error.message)
    return done(member, _("Adhésion retirée : %(company)s.", company=adhesion.company_name))
