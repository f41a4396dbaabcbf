"""Certifications of professional spaces: the guard of certified services, the space's
certifications and the administrations offering them, and what the certification modules
share (statuses, the admins' notifications).

A certification comes from an access code (services/access_codes.py), a mandate's code
included (services/mandates.py), or from an online request an agent approves
(services/certification_requests.py).
"""

from datetime import timedelta

from flask_babel import lazy_gettext as _l

import clock
from database import PAGE_SIZE
from models import Administration, Certification, Membership, Service, User
from services import DomainError, catalogue, languages
from services.mail import queue_mails
from services.spaces import require_professional
from services.urls import external_url

DEFAULT_VALIDITY = timedelta(days=365)  # of a certification, unless its code says otherwise
STATUSES = {
    "pending": _l("En attente"),
    "active": _l("Actif"),
    "expired": _l("Expiré"),
    "revoked": _l("Révoqué"),
    "approved": _l("Approuvée"),
    "rejected": _l("Refusée"),
}


class NotCertified(DomainError):
    status = 403

    def __init__(self, service, private=False):
        self.service = service
        message = str(
            _l(
                "Le service « %(service)s » n'est accessible qu'à un espace professionnel certifié.",
                service=languages.localized(service, "name"),
            )
        )
        if private:  # no way to get certified from there: say so rather than list the ways
            message += " " + str(
                _l(
                    "Un espace privé ne peut pas être certifié : utilisez l'espace professionnel "
                    "de votre entreprise."
                )
            )
        super().__init__(message)


class NotFound(DomainError):
    status = 404
    message = _l("Cet élément n'existe pas dans cet espace.")


# --- The guard of certified services ----------------------------------------------------


def requires_certification(member, slug):
    """The guard of a certified service: the space's live certifications for it (holder
    first), or NotCertified naming the way to get certified."""
    service = Service.select(Service, Administration).join(Administration).where(Service.slug == slug).first()
    if service is None:
        raise NotFound()
    if not service.requires_certification:
        return service, []
    now = clock.now()
    live = list(
        Certification.select()
        .where(
            Certification.space == member.space_id,
            Certification.service == service.id,
            Certification.live(now),
        )
        .order_by(Certification.kind.desc(), Certification.company_name)
    )
    if not live:
        raise NotCertified(service, private=member.space.is_private)
    return service, live


def holder_certification(space_id, service_id):
    """The space's live holder certification for the service, or None."""
    return (
        Certification.select()
        .where(
            Certification.space == space_id,
            Certification.service == service_id,
            Certification.kind == "holder",
            Certification.live(clock.now()),
        )
        .first()
    )


# --- Listings ---------------------------------------------------------------------------


def search(select, query, *fields):
    """`select` narrowed to the rows where one of `fields` contains `query` (100 characters)."""
    query = (query or "").strip()[:100]
    if query:
        condition = None
        for field in fields:
            condition = field.contains(query) if condition is None else condition | field.contains(query)
        select = select.where(condition)
    return select


# What a line of the Certifications and Mandats obtenus lists reads (the service's and the
# administration's texts for their own pages are kilobytes a row).
LISTED = (
    Certification.id,
    Certification.space,
    Certification.service,
    Certification.kind,
    Certification.company_name,
    Certification.company_identifier,
    Certification.ends_at,
    Certification.revoked_at,
    Service.id,
    Service.administration,
    Service.slug,
    Service.name,
    Service.translations,
    Administration.id,
    Administration.code,
)


def paged(select, unjoined, query, fields, order, page):
    """(a page of `select` in `order`, the total), `query` searching `fields`. Without a
    search the total is counted on `unjoined`: the same rows without the joins that only
    complete a line (to rows that always exist)."""
    select = search(select, query, *fields)
    counted = select if (query or "").strip() else unjoined
    return list(select.order_by(*order).paginate(page, PAGE_SIZE)), counted.count()


def listing(conditions, query, fields, order, page):
    """(a page of the certifications meeting `conditions`, with their service and its
    administration, in `order`; their total), `query` searching `fields`."""
    select = Certification.select(*LISTED).join(Service).join(Administration).where(*conditions)
    return paged(select, Certification.select().where(*conditions), query, fields, order, page)


def space_certifications(member, query="", page=1):
    require_professional(member)
    order = (
        Certification.revoked_at.is_null(False),
        Certification.kind.desc(),
        Administration.code,
        Service.name,
        Certification.id,
    )
    fields = (Certification.company_name, Certification.company_identifier, Service.name)
    return listing((Certification.space == member.space_id,), query, fields, order, page)


def code_administrations(member):
    """The administrations offering certification by code, with their services."""
    require_professional(member)
    rows = (
        Service.select(Service, Administration)
        .join(Administration)
        .where(Service.accepts_code | Service.accepts_request, catalogue.offered())
        .order_by(Administration.code, Service.name)
    )
    grouped = {}
    for service in rows:
        grouped.setdefault(service.administration, []).append(service)
    return grouped


def administration(code):
    found = Administration.get_or_none(Administration.code == code, Administration.active)
    if found is None:
        raise NotFound()
    return found


def administration_services(member, administration):
    """The Gestion page: an administration's certifiable services and, for each, the space's
    live holder certification or None (two queries)."""
    require_professional(member)
    services = list(
        Service.select()
        .where(
            Service.administration == administration.id,
            Service.accepts_code | Service.accepts_request,
            Service.active,
        )
        .order_by(Service.name)
    )
    holders = {
        c.service_id: c
        for c in Certification.select().where(
            Certification.space == member.space_id,
            Certification.service.in_([s.id for s in services]),
            Certification.kind == "holder",
            Certification.live(clock.now()),
        )
    }
    return services, {service.id: holders.get(service.id) for service in services}


# --- Notifications ----------------------------------------------------------------------


def notify_space(space_id, subject, message):
    """A mail to each admin of the space: no content beyond the message, a link to log in."""
    admins = (
        User.select(User.email, User.language)
        .join(Membership)
        .where(Membership.space == space_id, Membership.role == "admin", User.email != "")
    )
    link = external_url("certifications.index", space_id=space_id)
    queue_mails(
        [(admin.email, languages.of(admin), link) for admin in admins],
        subject,
        "notification",
        message=message,
    )
