from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import clock
from blueprints.certifications import bp
from blueprints.certifications.forms import CodeForm, RequestForm
from blueprints.errors import with_retry_after
from blueprints.htmx import htmx_redirect, is_htmx, vary
from blueprints.params import page_number, search_query
from blueprints.space_pages import space_page, space_view
from blueprints.templating import translated
from database import PAGE_SIZE
from services import (
    DomainError,
    access_codes,
    authentic_sources,
    certification_requests,
    certifications,
    languages,
    procedures,
    spaces,
)


def listing(member, tab, partial, rows_and_total, **context):
    rows, total = rows_and_total
    return space_page(
        member,
        tab,
        partial=partial,
        rows=rows,
        total=total,
        query=search_query(),
        page=page_number(),
        per_page=PAGE_SIZE,
        statuses=translated(certifications.STATUSES),
        now=clock.now(),
        **context,
    )


@bp.get("/espaces/<id:space_id>/certifications")
@space_view
def index(member):
    return listing(
        member,
        "certifications",
        "certifications/_list.html",
        certifications.space_certifications(member, search_query(), page_number()),
        requests=certification_requests.space_requests(member),
    )


@bp.get("/espaces/<id:space_id>/certifications/administrations")
@space_view
def administrations(member):
    return space_page(
        member,
        "certifications",
        partial="certifications/_administrations.html",
        catalogue=certifications.code_administrations(member),
    )


def gestion_page(member, code, status=200, **context):
    administration = certifications.administration(code)
    context.setdefault("code_form", CodeForm(formdata=None))
    context.setdefault("request_form", RequestForm(formdata=None))
    return space_page(
        member,
        "certifications",
        status=status,
        partial="certifications/_gestion.html",
        administration=administration,
        **services_table(member, administration),
        **context,
    )


@bp.get("/espaces/<id:space_id>/certifications/administrations/<code>")
@space_view
def gestion(member, code):
    return gestion_page(member, code)


@bp.post("/espaces/<id:space_id>/certifications/administrations/<code>/code")
@space_view
def redeem_holder(member, code):
    administration = certifications.administration(code)
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            certification = access_codes.redeem_holder_code(
                member, current_user, form.code.data, administration
            )
        except DomainError as refused:
            error = refused
        else:
            message = _(
                "L'espace est certifié pour le service « %(service)s ».",
                service=languages.localized(certification.service, "name"),
            )
            if not is_htmx():
                flash(message, "success")
                return redirect(
                    url_for("certifications.gestion", space_id=member.space_id, code=code), code=303
                )
            # The card says so, and the services table above it follows (out of band).
            return code_card(
                member,
                "holder",
                administration=administration,
                success=message,
                services_table=services_table(member, administration),
            )
    status = getattr(error, "status", 422)
    if not is_htmx():
        return with_retry_after(
            gestion_page(member, code, status=status, code_form=form, code_error=error and error.message),
            error,
        )
    return code_card(
        member,
        "holder",
        status=status,
        form=form,
        error=error and error.message,
        administration=administration,
        refusal=error,
    )


def services_table(member, administration):
    services, holders = certifications.administration_services(member, administration)
    return {"services": services, "holders": holders}


def code_card(member, kind, status=200, form=None, refusal=None, **context):
    """The self-targeting code card alone (htmx)."""
    return with_retry_after(
        vary(
            make_response(
                render_template(
                    "certifications/_code_card.html",
                    space=member.space,
                    kind=kind,
                    form=form or CodeForm(formdata=None),
                    can=lambda action: spaces.can(member, action),
                    **context,
                ),
                status,
            )
        ),
        refusal,
    )


@bp.post("/espaces/<id:space_id>/certifications/administrations/<code>/demande")
@space_view
def file_request(member, code):
    form = RequestForm()
    service_id = request.form.get("service", type=int)
    if form.validate_on_submit():
        try:
            upload = form.attachment.data
            attachment = upload.read(certification_requests.MAX_ATTACHMENT + 1) if upload else None
            certification_requests.file_request(
                member,
                current_user,
                service_id,
                form.reason.data,
                attachment,
                upload.filename if upload else "",
            )
        except DomainError as refused:
            return gestion_page(
                member, code, status=refused.status, request_form=form, request_error=refused.message
            )
        flash(_("Votre demande de certification est transmise à l'administration."), "success")
        return htmx_redirect(url_for("certifications.index", space_id=member.space_id))
    return gestion_page(member, code, status=422, request_form=form)


# --- Certified services -------------------------------------------------------------------------


@bp.get("/espaces/<id:space_id>/services/<slug>")
@space_view
def service(member, slug):
    try:
        service, live = certifications.requires_certification(member, slug)
    except certifications.NotCertified as refused:
        return space_page(
            member,
            "home",
            status=403,
            partial="certifications/_not_certified.html",
            service=refused.service,
            message=refused.message,
        )
    return space_page(
        member,
        "home",
        partial="certifications/_service.html",
        service=service,
        certifications=live,
        records=authentic_sources.shown_by(service, live),
        offers=procedures.offers(member, service.id),
    )
