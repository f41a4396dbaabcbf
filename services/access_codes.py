"""Access codes: issued by an administration (a letter to the company) or by a holder space
for a mandate (services/mandates.py), redeemed once into a certification.

Codes are single use: redemption is one conditional UPDATE whose row count is checked, in
the transaction that inserts the certification; the one-holder-per-service rule is a partial
unique index. Wrong codes are counted per account (services.throttle) and all get the same
message, which never says whether a code exists.
"""

from datetime import timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import clock
import validators
from models import AccessCode, Administration, Certification, Mandate, Service, db
from services import DomainError, audit, auth, catalogue, companies, crypto, languages, letters, throttle
from services.certifications import DEFAULT_VALIDITY, notify_space
from services.spaces import require, require_professional
from validators import LINE_CONTROL_CHARACTERS

CODE_LENGTH = 20
KIND_LABELS = {"holder": _l("titulaire"), "proxy": _l("mandataire")}
# The kinds as an administration may write them (a CSV file, a form, the command line).
KINDS = {"holder": "holder", "titulaire": "holder", "proxy": "proxy", "mandataire": "proxy"}
# An administration's code: days to activate it, days the certification it gives lasts.
ACTIVATION_DAYS, DEFAULT_ACTIVATION_DAYS = (1, 365), 30
VALID_DAYS, DEFAULT_VALID_DAYS = (1, 3650), DEFAULT_VALIDITY.days
# What the letter's window shows: the name, then the address's lines.
NAME_MAX_LENGTH = AccessCode.company_name.max_length
ADDRESS_MAX_LINES, ADDRESS_LINE_MAX_LENGTH = 5, 200


class InvalidCode(DomainError):
    status = 422
    message = _l(
        "Ce code d'accès n'est pas valable pour cet espace. Vérifiez le code, sa date limite "
        "d'activation et qu'il est destiné à l'entreprise de cet espace."
    )


class AlreadyCertified(DomainError):
    status = 409

    def __init__(self, service):
        super().__init__(
            _l(
                "Cet espace est déjà certifié comme titulaire pour le service « %(service)s » : un "
                "espace n'a qu'une certification de titulaire par service.",
                service=service,
            )
        )


class OwnMandate(DomainError):
    """A mandate's code entered in the space that dispensed the mandate."""

    status = 422
    message = _l("Un espace ne peut pas obtenir le mandat qu'il a lui-même dispensé.")


def _hash(code):
    return crypto.keyed_hash("access-code", crypto.normalize_code(code))


# --- Issuing ---------------------------------------------------------------------------


def new_code(**fields):
    """A new random code, kept only as its HMAC on a new AccessCode with `fields`: returns
    (AccessCode, the code as shown). The code leaves only in the return value."""
    code = crypto.random_code(CODE_LENGTH)
    return AccessCode.create(code_hash=_hash(code), **fields), crypto.group(code)


class CodeRequest(NamedTuple):
    """A code an administration is about to issue, every field checked (check_code_request)."""

    service: Service
    kind: str
    company_identifier: str
    company_name: str
    address_lines: tuple
    activation_days: int
    valid_days: int


class CodeRequestRefused(DomainError):
    """What a code is asked with is refused: `refusals` maps each field found wrong (the
    names of check_code_request's arguments) to why, in the order of the fields."""

    status = 422

    def __init__(self, refusals):
        self.refusals = {field: str(message) for field, message in refusals.items()}
        super().__init__(" ".join(self.refusals.values()))


class UnknownAdministration(DomainError):
    status = 404

    def __init__(self, code):
        super().__init__(_l("Aucune administration %(code)s.", code=code))


def issuable_services(administration):
    """{slug: Service} of the services an administration issues codes for: its active ones,
    none while the administration itself is inactive."""
    if not administration.active:
        return {}
    query = (
        Service.select(Service, Administration)
        .join(Administration)
        .where(Service.administration == administration.id, Service.active)
    )
    return {service.slug: service for service in query.order_by(Service.name)}


def _days(value, default, bounds, message):
    """A number of days as a form (int), the command line (int) or a CSV cell (text) gives
    it; empty is the default. Returns (days, refusal or None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default, None
    try:
        days = int(value.strip()) if isinstance(value, str) else int(value)
    except ValueError:
        days = None
    if days is None or not bounds[0] <= days <= bounds[1]:
        return None, str(message) % {"low": bounds[0], "high": bounds[1]}
    return days, None


def _line(value):
    """A single-line text as typed: stripped; None when it holds a control character or a
    line break (which a letter, a CSV cell or PostgreSQL could not carry)."""
    value = (value or "").strip()
    return None if LINE_CONTROL_CHARACTERS.search(value) else value


def check_code_request(
    administration,
    services,
    company_identifier,
    company_name,
    address_lines,
    service_slug,
    kind,
    activation_days=None,
    valid_days=None,
    register=None,
):
    """Check what an administration asks a code with, the same way for the back-office's form,
    each line of a CSV batch and the command line: the company identifier (RCS or SIREN),
    its registered name and postal address (the letter's: when the administration leaves
    them empty, the company register's; required), a service among `services`
    (issuable_services), the kind, and the days within ACTIVATION_DAYS and VALID_DAYS.
    `register` maps identifiers to the register's companies when the caller looked them up
    already (a batch), else the register is asked. Returns a CodeRequest, or raises
    CodeRequestRefused with every refusal."""
    refusals = {}
    identifier = None
    try:
        _kind, identifier = validators.company_identifier(company_identifier or "")
    except validators.InvalidIdentifier as error:
        refusals["company_identifier"] = str(error)
    name = _line(company_name)
    lines = [_line(line) for line in address_lines]
    lines = [line for line in lines if line != ""]
    if identifier and (name == "" or not lines):
        registered = register.get(identifier) if register is not None else companies.find(identifier)
        if registered is not None:
            name = registered.name if name == "" else name
            lines = lines or registered.address_lines
    if name is None:
        refusals["company_name"] = _l("Le nom tient sur une ligne, sans caractère de contrôle.")
    elif not name:
        refusals["company_name"] = _l(
            "Le code part par courrier postal : indiquez le nom enregistré de l'entreprise, première "
            "ligne de l'adresse (le registre des entreprises ne la connaît pas)."
        )
    elif len(name) > NAME_MAX_LENGTH:
        refusals["company_name"] = _l("Le nom ne peut dépasser %(max)d caractères.", max=NAME_MAX_LENGTH)
    if None in lines:
        refusals["address_lines"] = _l(
            "Chaque ligne de l'adresse tient sur une ligne, sans caractère de contrôle."
        )
    elif not lines:
        refusals["address_lines"] = _l(
            "Le code part par courrier postal : indiquez l'adresse enregistrée de l'entreprise (le "
            "registre des entreprises ne la connaît pas)."
        )
    elif len(lines) > ADDRESS_MAX_LINES or any(len(line) > ADDRESS_LINE_MAX_LENGTH for line in lines):
        refusals["address_lines"] = _l(
            "L'adresse tient en %(lines)d lignes de %(max)d caractères au plus.",
            lines=ADDRESS_MAX_LINES,
            max=ADDRESS_LINE_MAX_LENGTH,
        )
    slug = _line(service_slug)
    service = services.get(slug)
    if slug is None:
        refusals["service_slug"] = _l("Le service tient sur une ligne, sans caractère de contrôle.")
    elif service is None:
        refusals["service_slug"] = _l(
            "Aucun service « %(slug)s » de l'administration %(code)s n'émet de codes d'accès : "
            "choisissez l'un de ses services actifs (%(services)s).",
            slug=slug[:64],
            code=administration.code,
            services=", ".join(services) or "—",
        )
    kind = KINDS.get((kind or "").strip().lower())
    if kind is None:
        refusals["kind"] = _l("Le type de code est « titulaire » (holder) ou « mandataire » (proxy).")
    activation, refused = _days(
        activation_days,
        DEFAULT_ACTIVATION_DAYS,
        ACTIVATION_DAYS,
        _l("Le délai d'activation est un nombre de jours de %(low)d à %(high)d."),
    )
    if refused:
        refusals["activation_days"] = refused
    valid, refused = _days(
        valid_days,
        DEFAULT_VALID_DAYS,
        VALID_DAYS,
        _l("La durée de validité est un nombre de jours de %(low)d à %(high)d."),
    )
    if refused:
        refusals["valid_days"] = refused
    elif activation and valid < activation:
        # A code activated on its last day would give a certification already over.
        refusals["valid_days"] = _l(
            "La durée de validité ne peut être plus courte que le délai d'activation (%(days)d jours).",
            days=activation,
        )
    if refusals:
        raise CodeRequestRefused(refusals)
    return CodeRequest(service, kind, identifier, name, tuple(lines), activation, valid)


def issue_code(
    administration_code,
    service_slug,
    company_identifier,
    kind,
    activation_days=None,
    valid_days=None,
    company_name="",
    address_lines=(),
    actor=None,
):
    """An administration issues a code for a company: returns (AccessCode, code). The code
    leaves only in the return value and on the letter to the company, addressed with what
    the administration knows (`company_name`, `address_lines`) or else what the company
    register holds, never with what someone typed into a space: anyone can open a space
    claiming any identifier."""
    administration = Administration.get_or_none(Administration.code == administration_code)
    if administration is None:
        raise UnknownAdministration(administration_code)
    request = check_code_request(
        administration,
        issuable_services(administration),
        company_identifier,
        company_name,
        address_lines,
        service_slug,
        kind,
        activation_days,
        valid_days,
    )
    with db.atomic():
        return issue(request, actor)


def issue(request, actor=None):
    """Issue the code a checked CodeRequest asks for, its letter queued with the issuing
    administration and the issue audited (never the code): returns (AccessCode, code). Call
    it in a transaction, with the others of a batch."""
    service = request.service
    now = clock.now()
    access_code, code = new_code(
        kind=request.kind,
        service=service,
        company_identifier=request.company_identifier,
        company_name=request.company_name,
        issued_by_administration=service.administration_id,
        activation_deadline=now + timedelta(days=request.activation_days),
        ends_at=now + timedelta(days=request.valid_days),
    )
    letters.queue_letter(
        request.company_name,
        request.address_lines,
        _l(
            "Votre code d'accès %(kind)s : %(service)s",
            kind=KIND_LABELS[request.kind],
            service=languages.lazy_localized(service, "name"),
        ),
        letter_body(access_code, languages.lazy_localized(service.administration, "name")),
        language=service.administration.letter_language,
        code=code,
        administration=service.administration_id,
    )
    audit.record(
        "access_code.issued",
        actor=actor,
        kind=request.kind,
        service=service.slug,
        company=request.company_identifier,
        code_id=access_code.id,
    )
    return access_code, code


def letter_body(access_code, issuer):
    """The text of the letter carrying a code (the code itself is added by services/letters.py),
    lazy: written in the letter's language."""
    return _l(
        "%(issuer)s vous adresse un code d'accès %(kind)s pour le service « "
        "%(service)s » et l'entreprise "
        "%(company)s (%(identifier)s).\n\nSaisissez-le dans votre espace "
        "professionnel avant le %(deadline)s "
        "(date limite d'activation). La certification sera valable jusqu'au "
        "%(ends)s.\n\nCe code ne sert qu'une "
        "fois. Ne le communiquez qu'à la personne qui doit l'utiliser.",
        issuer=issuer,
        kind=KIND_LABELS[access_code.kind],
        service=languages.lazy_localized(access_code.service, "name"),
        company=access_code.company_name or access_code.company_identifier,
        identifier=access_code.company_identifier,
        deadline=languages.lazy_date(access_code.activation_deadline, "medium"),
        ends=languages.lazy_date(access_code.ends_at, "medium"),
    )


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
    found = (
        AccessCode.select(AccessCode, Service, Administration)
        .join(Service)
        .join(Administration)
        .where(AccessCode.code_hash == _hash(normalized), AccessCode.kind == kind)
        .first()
    )
    now = clock.now()
    if found is None or (administration is not None and found.service.administration_id != administration.id):
        _refuse(attempt, user, member, "unknown")
    if kind == "holder" and found.company_identifier != member.space.identifier:
        _refuse(attempt, user, member, "company")
    if not catalogue.is_offered(found.service):
        raise catalogue.ServiceClosed()
    try:
        with db.atomic():
            used = (
                AccessCode.update(redeemed_at=now, redeemed_in=member.space_id, redeemed_by=user.id)
                .where(
                    AccessCode.id == found.id,
                    AccessCode.redeemed_at.is_null(),
                    AccessCode.revoked_at.is_null(),
                    AccessCode.activation_deadline >= now,
                )
                .execute()
            )
            if used != 1:
                raise InvalidCode()
            # A holder space's code is a mandate's: the redeeming space becomes its mandatary.
            mandate = (
                Mandate.get_or_none(Mandate.access_code == found.id) if found.issued_by_space_id else None
            )
            if mandate is not None and found.issued_by_space_id == member.space_id:
                raise OwnMandate()
            # The company's name as the administration gave it, else as the holder space has it.
            company_name = found.company_name or (member.space.company_name if kind == "holder" else "")
            certification = Certification.create(
                space=member.space_id,
                service=found.service_id,
                kind=kind,
                company_identifier=found.company_identifier,
                company_name=company_name or found.company_identifier,
                access_code=found.id,
                ends_at=found.ends_at,
            )
            audit.record(
                f"certification.{kind}_redeemed",
                actor=user,
                space_id=member.space_id,
                service=found.service.slug,
                company=found.company_identifier,
                code_id=found.id,
            )
            if mandate is not None:
                if mandate.letter_id:
                    letters.mark_posted([mandate.letter_id])  # the code it carried is no longer needed
                notify_space(
                    found.issued_by_space_id,
                    _l(
                        "Mandat obtenu : %(service)s", service=languages.lazy_localized(found.service, "name")
                    ),
                    _l(
                        "L'espace %(space)s a utilisé le code du mandat pour %(company)s (%(service)s).",
                        space=member.space.name,
                        company=found.company_name,
                        service=languages.lazy_localized(found.service, "name"),
                    ),
                )
    except InvalidCode:
        _refuse(attempt, user, member, "used-or-expired")
    except IntegrityError:
        raise AlreadyCertified(languages.localized(found.service, "name")) from None
    return certification
