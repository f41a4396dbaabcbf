"""Certification of professional spaces (seed 000): access codes issued by administrations,
holder and proxy redemption, mandates dispensed by a holder space, the guard of certified
services, and certification by an online request decided by an agent.

Codes are single use: redemption is one conditional UPDATE whose row count is checked, in
the transaction that inserts the certification; the one-holder-per-service rule is a partial
unique index. Wrong codes are counted per account (services.throttle) and all get the same
message, which never says whether a code exists.
"""
from datetime import datetime, time, timedelta

from flask_babel import format_date, lazy_gettext as _l, to_user_timezone, to_utc
from peewee import JOIN, IntegrityError

import validators
from models import (
    AccessCode, Administration, Agent, Certification, CertificationRequest, Mandate, Membership, Service, Space,
    User, db,
)
from services import DomainError, audit, auth, clock, crypto, letters, merge, throttle
from services.mail import queue_mail
from services.urls import external_url
from services.spaces import PAGE_SIZE, lock_row, require, require_professional

CODE_LENGTH = 20
DEFAULT_ACTIVATION = timedelta(days=30)
DEFAULT_VALIDITY = timedelta(days=365)
REMINDERS = {"reminded_30_at": timedelta(days=30), "reminded_7_at": timedelta(days=7)}
STATUSES = {"pending": _l("En attente"), "active": _l("Actif"), "expired": _l("Expiré"), "revoked": _l("Révoqué"),
            "approved": _l("Approuvée"), "rejected": _l("Refusée")}


class InvalidCode(DomainError):
    status = 422

    def __init__(self):
        super().__init__(_l("Ce code d'accès n'est pas valable pour cet espace. Vérifiez le code, sa date limite "
                            "d'activation et qu'il est destiné à l'entreprise de cet espace."))


class AlreadyCertified(DomainError):
    status = 409

    def __init__(self, service):
        super().__init__(_l("Cet espace est déjà certifié comme titulaire pour le service « %(service)s » : un "
                            "espace n'a qu'une certification de titulaire par service.", service=service))


class NotCertified(DomainError):
    status = 403

    def __init__(self, service, private=False):
        self.service = service
        message = str(_l("Le service « %(service)s » n'est accessible qu'à un espace professionnel certifié.",
                         service=service.name))
        if private:  # no way to get certified from there: say so rather than list the ways
            message += " " + str(_l("Un espace privé ne peut pas être certifié : utilisez l'espace professionnel "
                                    "de votre entreprise."))
        super().__init__(message)


class InvalidMandate(DomainError):
    status = 422


class NoCompanyAddress(DomainError):
    status = 422

    def __init__(self):
        super().__init__(_l("Le code part par courrier postal : indiquez le nom et l'adresse enregistrés de "
                            "l'entreprise."))


class NotFound(DomainError):
    status = 404

    def __init__(self):
        super().__init__(_l("Cet élément n'existe pas dans cet espace."))


def _hash(code):
    return crypto.keyed_hash("access-code", crypto.normalize_code(code))


# --- Issuing ---------------------------------------------------------------------------


def issue_code(administration_code, service_slug, company_identifier, kind, activation_days=None, valid_days=None,
               company_name="", address_lines=(), actor=None):
    """An administration issues a code for a company: returns (AccessCode, code). The code
    leaves only in the return value and on the letter to the company, addressed with what
    the administration knows (`company_name`, `address_lines`, both required), never with
    what someone typed into a space: anyone can open a space claiming any identifier."""
    service = (Service.select(Service, Administration).join(Administration)
               .where(Service.slug == service_slug, Administration.code == administration_code).first())
    if service is None:
        raise DomainError(_l("Aucun service %(slug)s pour l'administration %(code)s.", slug=service_slug,
                             code=administration_code))
    if kind not in ("holder", "proxy"):
        raise DomainError(_l("Le type de code est holder ou proxy."))
    try:
        _kind, identifier = validators.company_identifier(company_identifier)
    except validators.InvalidIdentifier as error:
        raise DomainError(str(error)) from None
    company_name = (company_name or "").strip()
    address_lines = [line.strip() for line in address_lines if line and line.strip()]
    if not company_name or not address_lines:
        raise NoCompanyAddress()
    now = clock.now()
    code = crypto.random_code(CODE_LENGTH)
    with db.atomic():
        access_code = AccessCode.create(
            code_hash=_hash(code), kind=kind, service=service, company_identifier=identifier,
            company_name=company_name, issued_by_administration=service.administration,
            activation_deadline=now + timedelta(days=activation_days) if activation_days else now + DEFAULT_ACTIVATION,
            ends_at=now + timedelta(days=valid_days) if valid_days else now + DEFAULT_VALIDITY,
        )
        letters.queue_letter(
            company_name, address_lines,
            str(_l("Votre code d'accès %(kind)s : %(service)s", kind=KIND_LABELS[kind], service=service.name)),
            _letter_body(access_code, service, service.administration.name),
            code=crypto.group(code),
        )
        audit.record("code.issued", actor=actor, kind=kind, service=service.slug, company=identifier,
                     code_id=access_code.id)
    return access_code, crypto.group(code)


KIND_LABELS = {"holder": _l("titulaire"), "proxy": _l("mandataire")}


def _letter_body(access_code, service, issuer):
    return str(_l(
        "%(issuer)s vous adresse un code d'accès %(kind)s pour le service « %(service)s » et l'entreprise "
        "%(company)s (%(identifier)s).\n\nSaisissez-le dans votre espace professionnel avant le %(deadline)s "
        "(date limite d'activation). La certification sera valable jusqu'au %(ends)s.\n\nCe code ne sert qu'une "
        "fois. Ne le communiquez qu'à la personne qui doit l'utiliser.",
        issuer=issuer, kind=KIND_LABELS[access_code.kind], service=service.name, company=access_code.company_name or access_code.company_identifier,
        identifier=access_code.company_identifier, deadline=format_date(access_code.activation_deadline),
        ends=format_date(access_code.ends_at)))


# --- Redeeming --------------------------------------------------------------------------


def redeem_holder_code(member, user, code, administration=None):
    """Mandat principal → Valider: the space becomes holder for the code's service."""
    return _redeem(member, user, code, "holder", administration)


def redeem_proxy_code(member, user, code):
    """Mandats obtenus → Ajouter un accès → Valider: the space gets access for the company."""
    return _redeem(member, user, code, "proxy")


def _refuse(attempt, user, member, reason):
    locked = throttle.fail(attempt)
    audit.record("code.failed", actor=user, space_id=member.space_id, reason=reason)
    if locked:  # this failure was the 100th in a row (later ones never get here)
        audit.record("code.locked", actor=user, space_id=member.space_id)
    raise InvalidCode()


def _redeem(member, user, code, kind, administration=None):
    require(member, "manage_certifications")
    require_professional(member)
    attempt = throttle.reserve(auth.code_entry_key(user))  # counted before the code is looked up
    try:
        certification = _use_code(attempt, member, user, code, kind, administration)
    except InvalidCode:  # a wrong code: _refuse counted it
        raise
    except DomainError:  # a right code refused for another reason is no wrong try
        throttle.release(attempt)
        raise
    throttle.succeed(attempt)
    return certification


def _use_code(attempt, member, user, code, kind, administration):
    normalized = crypto.normalize_code(code)
    if len(normalized) != CODE_LENGTH or set(normalized) - set(crypto.CODE_ALPHABET):
        _refuse(attempt, user, member, "format")
    found = (AccessCode.select(AccessCode, Service).join(Service)
             .where(AccessCode.code_hash == _hash(normalized), AccessCode.kind == kind).first())
    now = clock.now()
    if found is None or (administration is not None and found.service.administration_id != administration.id):
        _refuse(attempt, user, member, "unknown")
    if kind == "holder" and found.company_identifier != member.space.identifier:
        _refuse(attempt, user, member, "company")
    try:
        with db.atomic():
            used = (
                AccessCode.update(redeemed_at=now, redeemed_in=member.space_id, redeemed_by=user.id)
                .where(AccessCode.id == found.id, AccessCode.redeemed_at.is_null(), AccessCode.revoked_at.is_null(),
                       AccessCode.activation_deadline >= now)
                .execute()
            )
            if used != 1:
                raise InvalidCode()
            mandate = Mandate.get_or_none(Mandate.access_code == found.id)
            if mandate is not None:
                if mandate.mandant_space_id == member.space_id:
                    raise InvalidMandate(_l("Un espace ne peut pas obtenir le mandat qu'il a lui-même dispensé."))
                Mandate.update(mandatary_space=member.space_id, redeemed_at=now).where(Mandate.id == mandate.id).execute()
            # The company's name as the administration gave it, else as the holder space has it.
            company_name = found.company_name or (member.space.company_name if kind == "holder" else "")
            certification = Certification.create(
                space=member.space_id, service=found.service_id, kind=kind, company_identifier=found.company_identifier,
                company_name=company_name or found.company_identifier, access_code=found.id, mandate=mandate,
                ends_at=found.ends_at,
            )
            if mandate is not None and mandate.letter_id:
                letters.mark_posted([mandate.letter_id])  # the code it carried is no longer needed
            audit.record(f"certification.{kind}_redeemed", actor=user, space_id=member.space_id,
                         service=found.service.slug, company=found.company_identifier, code_id=found.id)
            if mandate is not None:
                _notify_space(mandate.mandant_space_id, _l("Mandat obtenu : %(service)s", service=found.service.name),
                              _l("L'espace %(space)s a utilisé le code du mandat pour %(company)s (%(service)s).",
                                 space=member.space.name, company=found.company_name, service=found.service.name))
    except InvalidCode:
        _refuse(attempt, user, member, "used-or-expired")
    except IntegrityError:
        raise AlreadyCertified(found.service.name) from None
    return certification


# --- Mandates ----------------------------------------------------------------------------


def holder_certification(space_id, service_id):
    now = clock.now()
    return (Certification.select()
            .where(Certification.space == space_id, Certification.service == service_id,
                   Certification.kind == "holder", Certification.live(now))
            .first())


def administration_services(member, administration):
    """The Gestion page: an administration's certifiable services and, for each, the space's
    live holder certification or None (two queries)."""
    require_professional(member)
    services = list(Service.select()
                    .where(Service.administration == administration.id, Service.accepts_code | Service.accepts_request)
                    .order_by(Service.name))
    holders = {c.service_id: c for c in Certification.select().where(
        Certification.space == member.space_id, Certification.service.in_([s.id for s in services]),
        Certification.kind == "holder", Certification.live(clock.now()))}
    return services, {service.id: holders.get(service.id) for service in services}


def holder_services(member):
    """The services the space holds a live holder certification for (it may dispense mandates)."""
    return list(Service.select().join(Certification, on=(Certification.service == Service.id))
                .where(Certification.space == member.space_id, Certification.kind == "holder",
                       Certification.live(clock.now()))
                .order_by(Service.name))


def grant_mandate(member, user, service_id, ends_on, note="", activation_days=30):
    """Dispenser un mandat: returns (Mandate, code). The end date may not pass the holder's
    own; the code is shown once and carried by a printable letter until it is used."""
    require(member, "manage_mandates")
    require_professional(member)
    holder = holder_certification(member.space_id, service_id)
    if holder is None:
        raise InvalidMandate(_l("Seul un espace certifié comme titulaire pour ce service peut dispenser un mandat."))
    now = clock.now()
    if ends_on is not None and not isinstance(ends_on, datetime):
        # The end of that day where the portal is (Europe/Luxembourg), stored in UTC; the
        # holder's own last day is allowed, up to the holder's own end.
        last_day = ends_on
        ends_on = to_utc(datetime.combine(ends_on, time(23, 59, 59)))
        if holder.ends_at and to_user_timezone(holder.ends_at).date() == last_day:
            ends_on = min(ends_on, holder.ends_at)
    if ends_on is None or ends_on <= now:
        raise InvalidMandate(_l("Choisissez une date de fin dans le futur."))
    if holder.ends_at and ends_on > holder.ends_at:
            raise InvalidMandate(_l("La date de fin du mandat ne peut pas dépasser celle de votre certification (%(date)s).",
                                date=format_date(holder.ends_at)))
    service = Service.select(Service, Administration).join(Administration).where(Service.id == service_id).get()
    code = crypto.random_code(CODE_LENGTH)
    with db.atomic():
        access_code = AccessCode.create(
            code_hash=_hash(code), kind="proxy", service=service, company_identifier=holder.company_identifier,
            company_name=holder.company_name, issued_by_space=member.space_id,
            activation_deadline=min(now + timedelta(days=activation_days), ends_on), ends_at=ends_on,
        )
        letter = letters.printable_letter(
            (note or "").strip() or str(_l("Le mandataire")),
            str(_l("Votre code d'accès mandataire : %(service)s", service=service.name)),
            _letter_body(access_code, service, member.space.company_name or member.space.name),
            code=crypto.group(code),
        )
        mandate = Mandate.create(
            mandant_space=member.space_id, service=service, company_identifier=holder.company_identifier,
            company_name=holder.company_name, access_code=access_code, letter=letter, note=(note or "").strip()[:200],
            granted_by=user, activation_deadline=access_code.activation_deadline, ends_at=ends_on,
        )
        audit.record("mandate.granted", actor=user, space_id=member.space_id, mandate_id=mandate.id,
                     service=service.slug, ends_at=ends_on.isoformat())
    return mandate, crypto.group(code)


def mandate_letter(member, mandate_id):
    """The printable letter of a mandate not yet taken up (its code is erased after)."""
    require(member, "manage_mandates")
    mandate = Mandate.get_or_none(Mandate.id == mandate_id, Mandate.mandant_space == member.space_id)
    if mandate is None or mandate.letter is None or mandate.status(clock.now()) != "pending":
        raise NotFound()
    return mandate.letter


def mandate_of(member, mandate_id):
    """A mandate the space dispensed or obtained, for its admins (to confirm a revocation)."""
    require(member, "manage_mandates")
    mandate = (Mandate.select(Mandate, Service).join(Service)
               .where(Mandate.id == mandate_id,
                      (Mandate.mandant_space == member.space_id) | (Mandate.mandatary_space == member.space_id))
               .first())
    if mandate is None:
        raise NotFound()
    return mandate


def revoke_mandate(member, user, mandate_id):
    """Révoquer, by the mandant or by the mandatary: access ends at once, everywhere."""
    mandate = mandate_of(member, mandate_id)
    now = clock.now()
    with db.atomic():
        if not Mandate.update(revoked_at=now, revoked_by=user).where(
                Mandate.id == mandate.id, Mandate.revoked_at.is_null()).execute():
            raise InvalidMandate(_l("Ce mandat est déjà révoqué."))
        AccessCode.update(revoked_at=now).where(AccessCode.id == mandate.access_code_id,
                                                AccessCode.revoked_at.is_null()).execute()
        Certification.update(revoked_at=now).where(Certification.mandate == mandate.id,
                                                   Certification.revoked_at.is_null()).execute()
        if mandate.letter_id:
            letters.mark_posted([mandate.letter_id])
        side = "mandant" if mandate.mandant_space_id == member.space_id else "mandatary"
        audit.record("mandate.revoked", actor=user, space_id=member.space_id, mandate_id=mandate.id, side=side)
        for space_id in {mandate.mandant_space_id, mandate.mandatary_space_id} - {None}:
            _notify_space(space_id, _l("Mandat révoqué : %(company)s", company=mandate.company_name),
                          _l("Le mandat pour %(company)s (%(identifier)s) a été révoqué.",
                             company=mandate.company_name, identifier=mandate.company_identifier))
    return mandate


def obtained_certification(member, certification_id):
    """A proxy certification of the space (a row of Mandats obtenus), for its admins."""
    require(member, "manage_mandates")
    certification = (Certification.select(Certification, Service).join(Service)
                     .where(Certification.id == certification_id, Certification.space == member.space_id,
                            Certification.kind == "proxy")
                     .first())
    if certification is None:
        raise NotFound()
    return certification


def revoke_obtained(member, user, certification_id):
    """Révoquer a mandate obtained, "à tout moment" (seed 000), whatever gave it: a holder
    space's mandate is revoked for both sides; an administration's proxy code has no mandate,
    so the space's certification itself ends."""
    certification = obtained_certification(member, certification_id)
    if certification.mandate_id is not None:
        revoke_mandate(member, user, certification.mandate_id)
        return certification
    with db.atomic():
        if not Certification.update(revoked_at=clock.now()).where(
                Certification.id == certification.id, Certification.revoked_at.is_null()).execute():
            raise InvalidMandate(_l("Ce mandat est déjà révoqué."))
        audit.record("certification.proxy_revoked", actor=user, space_id=member.space_id,
                     certification_id=certification.id, service=certification.service.slug,
                     company=certification.company_identifier)
    return certification


def _search(select, query, *fields):
    query = (query or "").strip()[:100]
    if query:
        condition = None
        for field in fields:
            condition = field.contains(query) if condition is None else condition | field.contains(query)
        select = select.where(condition)
    return select


def mandates_granted(member, query="", page=1):
    require_professional(member)
    Mandatary = Space.alias()
    select = (Mandate.select(Mandate, Service, Mandatary)
              .join(Service).switch(Mandate)
              .join(Mandatary, on=(Mandate.mandatary_space == Mandatary.id), attr="mandatary", join_type=JOIN.LEFT_OUTER)
              .where(Mandate.mandant_space == member.space_id))
    select = _search(select, query, Mandate.company_name, Mandate.company_identifier, Mandate.note, Mandatary.name)
    return list(select.order_by(Mandate.created_at.desc(), Mandate.id.desc()).paginate(page, PAGE_SIZE)), select.count()


def mandates_obtained(member, query="", page=1):
    """Proxy certifications of the space (from mandates and from administrations' codes)."""
    require_professional(member)
    select = (Certification.select(Certification, Service, Administration)
              .join(Service).join(Administration)
              .where(Certification.space == member.space_id, Certification.kind == "proxy"))
    select = _search(select, query, Certification.company_name, Certification.company_identifier)
    return list(select.order_by(Certification.granted_at.desc(), Certification.id.desc()).paginate(page, PAGE_SIZE)), select.count()


def space_certifications(member, query="", page=1):
    require_professional(member)
    select = (Certification.select(Certification, Service, Administration)
              .join(Service).join(Administration)
              .where(Certification.space == member.space_id))
    select = _search(select, query, Certification.company_name, Certification.company_identifier, Service.name)
    order = (Certification.revoked_at.is_null(False), Certification.kind.desc(), Administration.code, Service.name,
             Certification.id)
    return list(select.order_by(*order).paginate(page, PAGE_SIZE)), select.count()


def code_administrations(member):
    """The administrations offering certification by code, with their services."""
    require_professional(member)
    rows = (Service.select(Service, Administration).join(Administration)
            .where(Service.accepts_code | Service.accepts_request).order_by(Administration.code, Service.name))
    grouped = {}
    for service in rows:
        grouped.setdefault(service.administration, []).append(service)
    return grouped


def administration(code):
    found = Administration.get_or_none(Administration.code == code)
    if found is None:
        raise NotFound()
    return found


# --- Certified services ------------------------------------------------------------------------


def requires_certification(member, slug):
    """The guard of a certified service: the space's live certifications for it (holder
    first), or NotCertified naming the way to get certified."""
    service = Service.select(Service, Administration).join(Administration).where(Service.slug == slug).first()
    if service is None:
        raise NotFound()
    if not service.requires_certification:
        return service, []
    now = clock.now()
    live = list(Certification.select()
                .where(Certification.space == member.space_id, Certification.service == service.id,
                       Certification.live(now))
                .order_by(Certification.kind.desc(), Certification.company_name))
    if not live:
        raise NotCertified(service, private=member.space.is_private)
    return service, live


def authentic_sources(certifications):
    """Demo data the administrations hold about each company the space may see."""
    from services.catalogue import demo_company_record

    return [demo_company_record(c.company_identifier, c.company_name, c.kind) for c in certifications]


# --- Online requests and agents --------------------------------------------------------------


ATTACHMENT_TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_ATTACHMENT = 5 * 1024 * 1024


def attachment_type(data):
    """The type of a supporting document from its first bytes (not from what the browser
    says): PDF, PNG or JPEG, else None."""
    return next((kind for magic, kind in ATTACHMENT_TYPES.items() if data.startswith(magic)), None)


def file_request(member, user, service_id, reason, attachment=None, attachment_name=""):
    require(member, "manage_certifications")
    require_professional(member)
    service = Service.get_or_none(Service.id == service_id, Service.accepts_request == True)  # noqa: E712
    if service is None:
        raise NotFound()
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidMandate(_l("Expliquez en quelques mots pourquoi l'espace doit être certifié (10 caractères au moins)."))
    kind = ""
    if attachment:
        kind = attachment_type(attachment)
        if kind is None or len(attachment) > MAX_ATTACHMENT:
            raise InvalidMandate(_l("La pièce jointe doit être un PDF, un PNG ou un JPEG de 5 Mo au plus."))
    with db.atomic():
        lock_row(Space, member.space_id)
        if CertificationRequest.select().where(CertificationRequest.space == member.space_id,
                                               CertificationRequest.service == service.id,
                                               CertificationRequest.status == "pending").exists():
            raise InvalidMandate(_l("Une demande est déjà en cours pour ce service."))
        request = CertificationRequest.create(space=member.space_id, service=service, requested_by=user,
                                              reason=reason[:4000], attachment=attachment or None,
                                              attachment_type=kind, attachment_name=(attachment_name or "")[:200])
        audit.record("certification.requested", actor=user, space_id=member.space_id, service=service.slug,
                     request_id=request.id)
    return request


def _request_columns():
    """A request's columns without its attachment: lists never load the documents."""
    return [f for f in CertificationRequest._meta.sorted_fields if f.name != "attachment"]


def space_requests(member):
    return list(CertificationRequest.select(*_request_columns(), Service).join(Service)
                .where(CertificationRequest.space == member.space_id)
                .order_by(CertificationRequest.created_at.desc()).limit(20))


def create_agent(administration_code, userid, name, email, password):
    administration_ = Administration.get_or_none(Administration.code == administration_code)
    if administration_ is None:
        raise DomainError(_l("Administration inconnue : %(code)s.", code=administration_code))
    auth.check_password_policy(password, userid)
    try:
        with db.atomic():
            agent = Agent.create(administration=administration_, userid=userid, userid_key=auth.userid_key(userid),
                                 name=name, email=email, password_hash=auth.hash_password(password))
            audit.record("agent.created", administration=administration_code, userid=userid)
    except IntegrityError:
        raise DomainError(_l("Cet identifiant d'agent existe déjà.")) from None
    return agent


def request_attachment(agent, request_id):
    """The supporting document of a request of the agent's administration."""
    request = (CertificationRequest.select().join(Service)
               .where(CertificationRequest.id == request_id, Service.administration == agent.administration_id,
                      CertificationRequest.attachment.is_null(False))
               .first())
    if request is None:
        raise NotFound()
    return request


def pending_requests(agent, page=1):
    select = (CertificationRequest.select(*_request_columns(), Service, Space)
              .join(Service).switch(CertificationRequest).join(Space)
              .where(Service.administration == agent.administration_id, CertificationRequest.status == "pending"))
    return list(select.order_by(CertificationRequest.created_at).paginate(page, PAGE_SIZE)), select.count()


def decide_request(agent, request_id, approve, reason=""):
    request = (CertificationRequest.select(CertificationRequest, Service, Space)
               .join(Service).switch(CertificationRequest).join(Space)
               .where(CertificationRequest.id == request_id, Service.administration == agent.administration_id)
               .first())
    if request is None:
        raise NotFound()
    reason = (reason or "").strip()
    if not approve and not reason:
        raise InvalidMandate(_l("Indiquez la raison du refus : elle est communiquée à l'entreprise."))
    status = "approved" if approve else "rejected"
    try:
        with db.atomic():
            decided = (CertificationRequest.update(status=status, decided_by=agent, decided_at=clock.now(),
                                                   decision_reason=reason[:4000])
                       .where(CertificationRequest.id == request.id, CertificationRequest.status == "pending")
                       .execute())
            if not decided:
                raise InvalidMandate(_l("Cette demande a déjà été traitée."))
            if approve:
                Certification.create(space=request.space_id, service=request.service_id, kind="holder",
                                     company_identifier=request.space.identifier,
                                     company_name=request.space.company_name,
                                     ends_at=clock.now() + DEFAULT_VALIDITY)
            audit.record(f"certification.request_{status}", actor=agent, space_id=request.space_id,
                         request_id=request.id, service=request.service.slug)
            _notify_space(request.space_id,
                          _l("Demande de certification : %(service)s", service=request.service.name),
                          _l("Votre demande de certification pour le service « %(service)s » a été %(decision)s.",
                             service=request.service.name, decision=STATUSES[status].lower()))
    except IntegrityError:
        raise InvalidMandate(_l("L'espace est déjà certifié comme titulaire pour ce service.")) from None
    return request


# --- Notifications and reminders ------------------------------------------------------------------


def _notify_space(space_id, subject, message):
    """A mail to each admin of the space: no content beyond the message, a link to log in."""
    admins = (User.select(User.email).join(Membership)
              .where(Membership.space == space_id, Membership.role == "admin", User.email != ""))
    link = external_url("certifications.index", space_id=space_id)
    for admin in admins:
        queue_mail(admin.email, str(subject), "notification", message=str(message), link=link)


def send_reminders():
    """Mandates ending in 30 and in 7 days: one mail to both sides, once each (a
    conditional UPDATE marks them, so two runs never send twice). Returns how many."""
    now = clock.now()
    sent = 0
    for field_name, before in REMINDERS.items():
        field = getattr(Mandate, field_name)
        due = list(Mandate.select(Mandate, Service).join(Service)
                   .where(field.is_null(), Mandate.revoked_at.is_null(), Mandate.redeemed_at.is_null(False),
                          Mandate.ends_at > now, Mandate.ends_at <= now + before))
        for mandate in due:
            with db.atomic():
                if not Mandate.update({field: now}).where(Mandate.id == mandate.id, field.is_null()).execute():
                    continue
                for space_id in (mandate.mandant_space_id, mandate.mandatary_space_id):
                    _notify_space(space_id, _l("Mandat bientôt expiré : %(company)s", company=mandate.company_name),
                                  _l("Le mandat pour %(company)s (%(service)s) prend fin dans %(days)d jours.",
                                     company=mandate.company_name, service=mandate.service.name,
                                     days=-((now - mandate.ends_at) // timedelta(days=1))))
                sent += 1
    return sent


# --- How these records move in a merge (services/merge.py) -------------------------------------


def _mandates_count(source_id):
    return Mandate.select().where((Mandate.mandant_space == source_id) | (Mandate.mandatary_space == source_id)).count()


def _mandates_move(source_id, target_id, resolutions):
    Mandate.update(mandant_space=target_id).where(Mandate.mandant_space == source_id).execute()
    Mandate.update(mandatary_space=target_id).where(Mandate.mandatary_space == source_id).execute()
    AccessCode.update(issued_by_space=target_id).where(AccessCode.issued_by_space == source_id).execute()
    AccessCode.update(redeemed_in=target_id).where(AccessCode.redeemed_in == source_id).execute()


def _requests_count(source_id):
    return CertificationRequest.select().where(CertificationRequest.space == source_id).count()


def _requests_move(source_id, target_id, resolutions):
    CertificationRequest.update(space=target_id).where(CertificationRequest.space == source_id).execute()


merge.register("mandates", _l("Mandats"), _mandates_count, _mandates_move)
merge.register("requests", _l("Demandes de certification"), _requests_count, _requests_move)
