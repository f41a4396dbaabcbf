"""Mandats obtenus (Ajouter un accès, Révoquer) and Mandats dispensés (Dispenser un mandat,
the mandate's letter, Révoquer): the mandates a space holds and gives."""

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.certifications import bp
from blueprints.certifications.forms import CodeForm, MandateForm
from blueprints.certifications.routes import code_card, listing
from blueprints.errors import with_retry_after
from blueprints.forms import options
from blueprints.htmx import htmx_redirect, is_htmx
from blueprints.params import page_number, search_query
from blueprints.responses import pdf_response
from blueprints.space_pages import confirmation, space_page, space_view
from services import DomainError, access_codes, languages, letters, mandates

# --- Mandats obtenus -----------------------------------------------------------------------


def obtained_page(member, status=200, **context):
    return listing(
        member,
        "certifications",
        "certifications/_obtained.html",
        mandates.mandates_obtained(member, search_query(), page_number()),
        status=status,
        **context,
    )


@bp.get("/espaces/<id:space_id>/mandats-obtenus")
@space_view
def obtained(member):
    return obtained_page(member, code_form=CodeForm(formdata=None))


@bp.post("/espaces/<id:space_id>/mandats-obtenus")
@space_view
def redeem_proxy(member):
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            certification = access_codes.redeem_proxy_code(member, current_user, form.code.data)
        except DomainError as refused:
            error = refused
        else:
            message = _(
                "Accès ajouté : %(company)s, service « %(service)s ».",
                company=certification.company_name,
                service=languages.localized(certification.service, "name"),
            )
            flash(message, "success")
            return htmx_redirect(url_for("certifications.obtained", space_id=member.space_id))
    status = getattr(error, "status", 422)
    if not is_htmx():
        return with_retry_after(
            obtained_page(member, status=status, code_form=form, code_error=error and error.message), error
        )
    return code_card(member, "proxy", status=status, form=form, error=error and error.message, refusal=error)


# --- Mandats dispensés ------------------------------------------------------------------------


def mandate_form(member, submitted=False):
    form = MandateForm() if submitted else MandateForm(formdata=None)
    holders = mandates.holder_services(member)
    form.service.choices = options(
        [(0, _("Choisissez…"))] + [(s.id, languages.localized(s, "name")) for s in holders]
    )
    return form


def granted_page(member, status=200, form=None, **context):
    return listing(
        member,
        "certifications",
        "certifications/_granted.html",
        mandates.mandates_granted(member, search_query(), page_number()),
        status=status,
        mandate_form=form or mandate_form(member),
        **context,
    )


@bp.get("/espaces/<id:space_id>/mandats-dispenses")
@space_view
def granted(member):
    return granted_page(member)


@bp.post("/espaces/<id:space_id>/mandats-dispenses")
@space_view
def grant(member):
    form = mandate_form(member, submitted=True)
    if not form.validate_on_submit():
        return granted_page(member, status=422, form=form)
    try:
        mandate, code = mandates.grant_mandate(
            member, current_user, form.service.data, form.ends_on.data, form.note.data
        )
    except mandates.InvalidMandate as refused:
        return granted_page(member, status=refused.status, form=form, grant_error=refused.message)
    # The code is shown this once; the letter carries it until the mandate is taken up.
    return space_page(
        member, "certifications", partial="certifications/_granted_code.html", mandate=mandate, code=code
    )


@bp.get("/espaces/<id:space_id>/mandats-dispenses/<id:mandate_id>/courrier.pdf")
@space_view
def mandate_letter(member, mandate_id):
    letter = mandates.mandate_letter(member, mandate_id)
    return pdf_response(letters.render_pdf([letter]), f"mandat-{mandate_id}.pdf")


def mandates_list(member, mandate):
    side = "granted" if mandate.mandant_space_id == member.space_id else "obtained"
    return url_for(f"certifications.{side}", space_id=member.space_id)


# A revocation's URL answers GET with its confirmation and POST by doing it (one rule for
# both methods: an oversized id is then a 404, not a 405).
@bp.route("/espaces/<id:space_id>/mandats/<id:mandate_id>/revoquer", methods=["GET", "POST"])
@space_view
def revoke(member, mandate_id):
    if request.method == "GET":
        mandate = mandates.mandate_of(member, mandate_id)
        return confirmation(
            member,
            "certifications",
            f"mandate-{mandate.id}",
            _("Révoquer un mandat"),
            _(
                "Révoquer le mandat pour %(company)s, service « %(service)s » ?",
                company=mandate.company_name,
                service=languages.localized(mandate.service, "name"),
            ),
            mandates_list(member, mandate),
            _("L'accès du mandataire prend fin immédiatement."),
        )
    mandate = mandates.revoke_mandate(member, current_user, mandate_id)
    flash(_("Le mandat pour %(company)s est révoqué.", company=mandate.company_name), "success")
    return htmx_redirect(mandates_list(member, mandate))


@bp.route("/espaces/<id:space_id>/mandats-obtenus/<id:certification_id>/revoquer", methods=["GET", "POST"])
@space_view
def revoke_obtained(member, certification_id):
    if request.method == "GET":
        certification = mandates.obtained_certification(member, certification_id)
        return confirmation(
            member,
            "certifications",
            f"obtained-{certification.id}",
            _("Révoquer un mandat obtenu"),
            _(
                "Révoquer le mandat pour %(company)s, service « %(service)s » ?",
                company=certification.company_name,
                service=languages.localized(certification.service, "name"),
            ),
            url_for("certifications.obtained", space_id=member.space_id),
            _("Cet espace n'aura plus accès au service pour cette entreprise."),
        )
    certification = mandates.revoke_obtained(member, current_user, certification_id)
    flash(_("Le mandat pour %(company)s est révoqué.", company=certification.company_name), "success")
    return htmx_redirect(url_for("certifications.obtained", space_id=member.space_id))
