"""Adhesions to the impots administration's services (seed 004): J'adhère in a Mode expert
space, and the one adhesion of a Mode simplifié space (its company, every service).

An adhesion is activated by a code posted to the company's registered address (from the
register, never typed by the person) and entered in the space within 60 days. Like access
codes, the code is single use (one conditional UPDATE that erases its HMAC), wrong codes are
counted per person (services.throttle, the access codes' counter), and all get one message.
Activating gives the space a Certification per chosen service for the company: holder in
the company's own space, proxy in an expert's; withdrawing revokes them.
"""

from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import clock
import validators
from database import PAGE_SIZE
from models import Adhesion, Administration, Certification, Service, Space, User, clip, db
from services import (
    DomainError,
    InvalidInput,
    audit,
    auth,
    catalogue,
    companies,
    crypto,
    languages,
    letters,
    throttle,
)
from services.spaces import require, require_professional

CODE_LENGTH = 12
CODE_VALIDITY = timedelta(days=60)
# J'adhère posts a letter each time: a space asks for at most this many in a day.
LETTERS_PER_DAY = 200
STATUS_LABELS = {
    "pending": _l("en attente du code"),
    "active": _l("active"),
    "expired": _l("expirée"),
    "withdrawn": _l("retirée"),
}


class AdhesionNotFound(DomainError):
    status = 404
    message = _l("Cette adhésion n'existe pas dans cet espace.")


class InvalidActivationCode(DomainError):
    status = 422
    message = _l(
        "Ce code d'activation n'est pas valable. Vérifiez le code reçu par courrier : il ne sert "
        "qu'une fois, pour l'entreprise à laquelle il a été envoyé."
    )


class ActivationCodeExpired(DomainError):
    status = 410
    message = _l(
        "Le délai de 60 jours pour saisir ce code d'activation est dépassé. Demandez un nouveau "
        "code : il sera envoyé par courrier à l'adresse de l'entreprise."
    )


class AlreadyActive(DomainError):
    status = 409
    message = _l("Ces services sont déjà activés.")


class AdhesionWithdrawn(DomainError):
    status = 410
    message = _l("Cette adhésion a été retirée.")


class AlreadyResent(DomainError):
    status = 409
    message = _l("Un nouveau code a déjà été envoyé une fois pour cette adhésion. Contactez le Helpdesk.")


class NotAnExpertSpace(DomainError):
    """J'adhère belongs to a Mode expert space (a numéro d'abonné); a Mode simplifié space
    has its one adhesion, for its company and every service, from its creation."""

    status = 404
    message = _l(
        "J'adhère se fait depuis un espace professionnel créé en mode expert (avec un numéro "
        "d'abonné). Les services de cet espace sont ceux de son entreprise."
    )


class OwnAdhesionKept(DomainError):
    """A Mode simplifié space exists for its company's services: withdrawing its one
    adhesion would leave a space that can never adhere again."""

    status = 409
    message = _l(
        "Les services d'un espace créé en mode simplifié ne se retirent pas : ils sont la raison "
        "d'être de l'espace. Pour ne plus les utiliser, supprimez l'espace."
    )


class NoServiceChosen(InvalidInput):
    field = "services"
    message = _l("Choisissez au moins un service.")


class CompanyEmailMissing(InvalidInput):
    field = "company_email"
    message = _l(
        "Le service Messagerie demande l'adresse électronique de l'entreprise : la DGFiP l'utilisera "
        "pour prendre contact avec elle."
    )


class InvalidCompanyEmail(InvalidInput):
    field = "company_email"
    message = _l("Cette adresse électronique n'est pas valide.")


class IbanMissing(InvalidInput):
    field = "iban"
    message = _l(
        "Aucun compte bancaire actif n'est connu pour cette entreprise : un service « Payer » demande "
        "l'IBAN du compte à utiliser."
    )


class InvalidIban(InvalidInput):
    field = "iban"
    message = _l("IBAN invalide : vérifiez-le (ex. FR76 3000 6000 0112 3456 7890 189).")


class AccountHolderMissing(InvalidInput):
    field = "account_holder"
    message = _l("Indiquez le titulaire du compte bancaire.")


class AdhesionRefused(InvalidInput):
    """Several fields of J'adhère are refused: `refusals`, each naming its field."""

    def __init__(self, refusals):
        super().__init__(refusals[0].message)
        self.field = refusals[0].field
        self.refusals = refusals


class AlreadyAdhered(DomainError):
    status = 409
    message = _l(
        "Cet espace a déjà une adhésion en cours ou active pour cette entreprise. Pour changer ses "
        "services, retirez-la puis adhérez de nouveau."
    )


def _hash(code):
    return crypto.keyed_hash("adhesion-code", crypto.normalize_code(code))


def impots_administration():
    """The administration whose services are adhered to (IMPOTS_ADMINISTRATION, DGFIP)."""
    return Administration.get_or_none(Administration.code == current_app.config["IMPOTS_ADMINISTRATION"])


def offered_services():
    """Its services open to adhesion now, in a stable order."""
    return list(
        Service.select(Service, Administration)
        .join(Administration)
        .where(Administration.code == current_app.config["IMPOTS_ADMINISTRATION"], catalogue.offered())
        .order_by(Service.id)
    )


def services_of(adhesion):
    """The chosen Services, in the order of the catalogue."""
    return list(Service.select().where(Service.id.in_(adhesion.service_ids or [0])).order_by(Service.id))


def mask_iban(iban):
    """An IBAN as a page may show it: its country and key, then only its last four characters."""
    compact = (iban or "").replace(" ", "")
    if len(compact) < 8:
        return "•" * len(compact)
    return f"{compact[:4]} •••• {compact[-4:]}"


# --- Which spaces have these services ---------------------------------------------------------


def is_expert(space):
    """A Mode expert space: it has a numéro d'abonné, no company of its own, and adheres."""
    return bool(space.subscriber_number)


def is_impots_space(space):
    """Whether the space shows "Mes services impots": a Mode expert space (no query), or a
    space that has adhesions (a Mode simplifié one; one query, for a SIREN space only)."""
    if space.is_private:
        return False
    if is_expert(space):
        return True
    if space.identifier_kind != "siren":
        return False
    return Adhesion.select().where(Adhesion.space == space.id).exists()


def own_adhesion(space):
    """The adhesion of a Mode simplifié space for its company (the latest not withdrawn), or
    None."""
    if space.is_private or is_expert(space) or not space.identifier:
        return None
    return (
        Adhesion.select()
        .where(
            Adhesion.space == space.id,
            Adhesion.company_identifier == space.identifier,
            Adhesion.withdrawn_at.is_null(),
        )
        .order_by(Adhesion.id.desc())
        .first()
    )


class Waiting(NamedTuple):
    """What the space's home says of adhesions not active yet: the Mode simplifié space's own
    (`adhesion`), or how many of an expert space's wait for their code (`count`)."""

    adhesion: object
    count: int
    expired: bool = False  # the simplified space's code came too late


def waiting(space):
    """Waiting for the home's banner, or None (no query for a space that cannot adhere)."""
    if space.is_private or not (is_expert(space) or space.identifier_kind == "siren"):
        return None
    if not is_expert(space):
        adhesion = own_adhesion(space)
        if adhesion is None or adhesion.activated_at:
            return None
        return Waiting(adhesion, 1, adhesion.code_expires_at < clock.now())
    count = (
        Adhesion.select()
        .where(
            Adhesion.space == space.id,
            Adhesion.activated_at.is_null(),
            Adhesion.withdrawn_at.is_null(),
            Adhesion.code_expires_at >= clock.now(),
        )
        .count()
    )
    return Waiting(None, count) if count else None


class Line(NamedTuple):
    """An adhesion as the list shows it: its status now and its services' names."""

    adhesion: Adhesion
    status: str
    services: list


def listing(member, query="", page=1, per_page=PAGE_SIZE):
    """(lines, total) of the space's adhesions, newest first, `query` searching the company's
    name and SIREN. Three queries whatever the number of adhesions."""
    require_professional(member)
    select = Adhesion.select().where(Adhesion.space == member.space_id)
    query = (query or "").strip()[:100]
    if query:
        select = select.where(
            Adhesion.company_name.contains(query)
            | Adhesion.company_identifier.contains(query.replace(" ", ""))
        )
    rows = list(
        select.order_by(Adhesion.created_at.desc(), Adhesion.id.desc()).paginate(max(page, 1), per_page)
    )
    ids = {service_id for row in rows for service_id in row.service_ids or ()}
    shown = Service.select(Service.id, Service.name, Service.translations).where(Service.id.in_(ids or [0]))
    names = {service.id: languages.localized(service, "name") for service in shown}
    now = clock.now()
    lines = [
        Line(row, row.status(now), [names[i] for i in sorted(row.service_ids or ()) if i in names])
        for row in rows
    ]
    return lines, select.count()


def adhesion_of(member, adhesion_id):
    """One adhesion of the member's space (any role reads it): AdhesionNotFound otherwise."""
    require_professional(member)
    return _adhesion(member, adhesion_id)


# --- J'adhère: what the person chose, checked -------------------------------------------------


def company_to_adhere(member, siren):
    """The first step of J'adhère: the register's company for the typed SIREN (InvalidSiren,
    UnknownCompany), refused when the space already has an adhesion for it in progress."""
    require(member, "manage_certifications")
    if not is_expert(member.space):
        raise NotAnExpertSpace()
    company = companies.by_siren(siren)
    _check_not_adhered(member.space_id, company.identifier)
    return company


def _check_not_adhered(space_id, identifier):
    current = (
        Adhesion.select()
        .where(
            Adhesion.space == space_id,
            Adhesion.company_identifier == identifier,
            Adhesion.withdrawn_at.is_null(),
            Adhesion.activated_at.is_null(False) | (Adhesion.code_expires_at >= clock.now()),
        )
        .exists()
    )
    if current:
        raise AlreadyAdhered()


def needs(services, company):
    """(the company's e-mail, a bank account) that `services` ask of the person: the e-mail
    for a Messagerie, the account for a Payer service when the register knows none."""
    email = any(service.requires_company_email for service in services)
    bank = any(service.requires_bank_account for service in services) and not company.iban
    return email, bank


def request_adhesion(member, user, siren, service_ids, company_email="", iban="", account_holder=""):
    """J'adhère in a Mode expert space: the company (SIREN in the register), at least one of
    the offered services, the company's e-mail for a Messagerie, an IBAN and its holder for
    a Payer service when the register knows no account for the company. Refusals name their
    field (422) and change nothing; a company already pending or active here is a 409. Then
    the code goes by post (`open_adhesion`); returns the Adhesion."""
    company = company_to_adhere(member, siren)
    offered = {service.id: service for service in offered_services()}
    try:
        chosen_ids = {int(value) for value in service_ids or ()}
    except (TypeError, ValueError):
        raise NoServiceChosen() from None
    if not chosen_ids or not chosen_ids <= offered.keys():
        raise NoServiceChosen()
    chosen = [offered[i] for i in sorted(chosen_ids)]
    wants_email, wants_bank = needs(chosen, company)
    refusals = []
    email = bank_iban = holder = ""
    if wants_email:
        email = _checked(refusals, _company_email, company_email)
    if wants_bank:
        bank_iban = _checked(refusals, _bank_iban, iban)
        holder = clip(Adhesion.account_holder, validators.one_line(account_holder or ""))
        if not holder:
            refusals.append(AccountHolderMissing())
    if len(refusals) > 1:
        raise AdhesionRefused(refusals)
    if refusals:
        raise refusals[0]
    throttle.count_use(f"adhesion-letters:{member.space_id}", LETTERS_PER_DAY, timedelta(days=1))
    try:
        with db.atomic():
            _check_not_adhered(member.space_id, company.identifier)  # again, in the transaction
            return open_adhesion(
                member.space,
                company,
                chosen,
                user,
                company_email=email,
                iban=bank_iban,
                account_holder=holder,
            )
    except IntegrityError:  # the same company at the same moment in another request
        raise AlreadyAdhered() from None


def _checked(refusals, check, value):
    """`check(value)`, or "" with its refusal kept: every field's refusal is said at once."""
    try:
        return check(value)
    except InvalidInput as refusal:
        refusals.append(refusal)
        return ""


def _company_email(value):
    if not (value or "").strip():
        raise CompanyEmailMissing()
    try:
        email = validators.email_address(value)
    except validators.InvalidIdentifier:
        raise InvalidCompanyEmail() from None
    if len(email) > Adhesion.company_email.max_length:
        raise InvalidCompanyEmail()
    return email


def _bank_iban(value):
    if not (value or "").strip():
        raise IbanMissing()
    try:
        return validators.iban(value)
    except validators.InvalidIdentifier:
        raise InvalidIban() from None


# --- Opening: the code goes by post ------------------------------------------------------------


def open_adhesion(space, company, services, user, company_email="", iban="", account_holder=""):
    """Ask for `services` (Service rows) for the register's `company` in `space`: the
    adhesion, its code posted to the company's registered address, the audit entry. An
    expired adhesion for the same company is closed first. Checks of what the person chose
    are the caller's (`request_adhesion`); returns the Adhesion."""
    now = clock.now()
    code = crypto.random_code(CODE_LENGTH)
    with db.atomic():
        Adhesion.update(withdrawn_at=now, code_hash=None).where(
            Adhesion.space == space.id,
            Adhesion.company_identifier == company.identifier,
            Adhesion.withdrawn_at.is_null(),
            Adhesion.activated_at.is_null(),
            Adhesion.code_expires_at < now,
        ).execute()
        adhesion = Adhesion.create(
            space=space.id,
            company_identifier=company.identifier,
            company_name=company.name,
            service_ids=[service.id for service in services],
            company_email=company_email,
            iban=iban,
            account_holder=account_holder,
            code_hash=_hash(code),
            code_sent_at=now,
            code_expires_at=now + CODE_VALIDITY,
            requested_by=user,
        )
        adhesion.letter = _post_code(adhesion, company, services, code)
        adhesion.save()
        audit.record(
            "adhesion.requested",
            actor=user,
            space_id=space.id,
            company=company.identifier,
            services=[service.slug for service in services],
            letter_id=adhesion.letter_id,
        )
    return adhesion


def _post_code(adhesion, company, services, code):
    """The letter with the code, to the register's address: what is asked, by whom, where
    the code goes, and until when (the company decides whether to hand it over)."""
    administration = impots_administration()
    space = Space.get_by_id(adhesion.space_id)
    person = User.get_or_none(User.id == adhesion.requested_by_id)
    facts = {
        "company": company.name,
        "siren": company.identifier,
        "services": languages.lazy_list(services, "name"),
        "administration": languages.lazy_localized(administration, "name"),
        "person": person.display_name if person else "",
        "space": space.name,
        "subscriber": space.subscriber_number or "",
        "deadline": languages.lazy_date(adhesion.code_expires_at, "medium"),
    }
    if is_expert(space):
        body = _l(
            "Entreprise : %(company)s (SIREN %(siren)s)\nServices demandés : %(services)s\n"
            "Administration : %(administration)s\nDemandé par : %(person)s, espace « %(space)s », "
            "numéro d'abonné %(subscriber)s\n\nCette personne demande à utiliser ces services pour "
            "le compte de votre entreprise. Si vous les lui confiez, remettez-lui le code "
            "d'activation ci-dessous : elle le saisit dans son espace, onglet « Mes services "
            "impots », « Saisir le code d'activation », au plus tard le %(deadline)s. Sinon, ne "
            "le transmettez pas : sans ce code, rien n'est activé.\n\nCe code ne sert qu'une fois.",
            **facts,
        )
    else:
        body = _l(
            "Entreprise : %(company)s (SIREN %(siren)s)\nServices : %(services)s\n"
            "Administration : %(administration)s\nEspace professionnel : « %(space)s », créé par "
            "%(person)s\n\nPour activer les services de l'espace, saisissez le code d'activation "
            "ci-dessous dans l'espace, onglet « Mes services impots », « Activer mon espace », au "
            "plus tard le %(deadline)s. Passé ce délai, il faudra demander un nouveau code.\n\n"
            "Ce code ne sert qu'une fois. Si personne dans votre entreprise n'a créé cet espace, "
            "ne l'utilisez pas et contactez le Helpdesk.",
            **facts,
        )
    return letters.queue_letter(
        company.name,
        company.address_lines,
        _l("Code d'activation de votre espace professionnel"),
        body,
        language=administration.letter_language,
        code=crypto.group(code),
        administration=administration.id,
    )


def resend_code(member, user, adhesion_id, company):
    """Once per adhesion, while it is not active: a new code by post, the old one dies (its
    HMAC is replaced), and 60 days again. `company` is the register's (the address)."""
    require(member, "manage_certifications")
    adhesion = _adhesion(member, adhesion_id)
    now = clock.now()
    code = crypto.random_code(CODE_LENGTH)
    with db.atomic():
        resent = (
            Adhesion.update(
                code_hash=_hash(code), code_sent_at=now, code_expires_at=now + CODE_VALIDITY, resent_at=now
            )
            .where(
                Adhesion.id == adhesion.id,
                Adhesion.resent_at.is_null(),
                Adhesion.activated_at.is_null(),
                Adhesion.withdrawn_at.is_null(),
            )
            .execute()
        )
        if resent != 1:
            raise _why_not(Adhesion.get_by_id(adhesion.id)) or AlreadyResent()
        adhesion = Adhesion.get_by_id(adhesion.id)
        if adhesion.letter_id:
            letters.cancel_unprinted(adhesion.letter_id)  # its code died
        adhesion.letter = _post_code(adhesion, company, services_of(adhesion), code)
        adhesion.save()
        audit.record(
            "adhesion.code_resent", actor=user, space_id=member.space_id, company=adhesion.company_identifier
        )
    return adhesion


def send_new_code(member, user, adhesion_id):
    """Recevoir un nouveau code: `resend_code` to the register's address of the company."""
    require(member, "manage_certifications")
    adhesion = _adhesion(member, adhesion_id)
    company = companies.find(adhesion.company_identifier)
    if company is None:  # the register no longer knows it: no address to post to
        raise companies.UnknownCompany()
    return resend_code(member, user, adhesion.id, company)


def _adhesion(member, adhesion_id):
    adhesion = Adhesion.get_or_none(Adhesion.id == adhesion_id, Adhesion.space == member.space_id)
    if adhesion is None:
        raise AdhesionNotFound()
    return adhesion


def _why_not(adhesion):
    """The refusal an adhesion's state gives to a code or a resend, or None."""
    if adhesion.withdrawn_at:
        return AdhesionWithdrawn()
    if adhesion.activated_at:
        return AlreadyActive()
    return None


# --- Activating: the posted code --------------------------------------------------------------


def activate(member, user, adhesion_id, code):
    """Enter the posted code: the adhesion's services become certifications of the space
    for the company. Raises InvalidActivationCode (counted), ActivationCodeExpired,
    AlreadyActive, AdhesionWithdrawn, throttle.Throttled / Locked."""
    require(member, "manage_certifications")
    adhesion = _adhesion(member, adhesion_id)
    refusal = _why_not(adhesion)
    if refusal:
        raise refusal
    now = clock.now()
    if adhesion.code_expires_at < now:
        raise ActivationCodeExpired()
    attempt = throttle.reserve(auth.code_entry_key(user))  # counted before the code is compared
    normalized = crypto.normalize_code(code)
    with db.atomic():
        used = (
            Adhesion.update(activated_at=now, activated_by=user.id, code_hash=None)
            .where(
                Adhesion.id == adhesion.id,
                Adhesion.code_hash == _hash(normalized),
                Adhesion.activated_at.is_null(),
                Adhesion.withdrawn_at.is_null(),
                Adhesion.code_expires_at >= now,
            )
            .execute()
        )
        if used == 1:
            _certify(member.space, adhesion, now)
            if adhesion.letter_id:  # the code arrived: its letter has gone, and its code is erased
                letters.mark_posted([adhesion.letter_id])
            audit.record(
                "adhesion.activated",
                actor=user,
                space_id=member.space_id,
                company=adhesion.company_identifier,
            )
    if used != 1:
        refusal = _why_not(Adhesion.get_by_id(adhesion.id))
        if refusal:  # activated or withdrawn meanwhile, by another request: no wrong code
            throttle.release(attempt)
            raise refusal
        locked = throttle.fail(attempt)
        audit.record("adhesion.code_failed", actor=user, space_id=member.space_id, adhesion_id=adhesion.id)
        if locked:
            audit.record("code.locked", actor=user, space_id=member.space_id)
        raise InvalidActivationCode()
    throttle.succeed(attempt)
    return Adhesion.get_by_id(adhesion.id)


def _certify(space, adhesion, now):
    kind = "holder" if space.identifier == adhesion.company_identifier else "proxy"
    held = set()
    if kind == "holder":  # one holder certification per service per space (partial unique index)
        held = {
            row.service_id
            for row in Certification.select(Certification.service).where(
                Certification.space == space.id,
                Certification.kind == "holder",
                Certification.revoked_at.is_null(),
            )
        }
    rows = [
        {
            "space": space.id,
            "service": service_id,
            "kind": kind,
            "company_identifier": adhesion.company_identifier,
            "company_name": adhesion.company_name,
            "adhesion": adhesion.id,
            "granted_at": now,
        }
        for service_id in adhesion.service_ids
        if service_id not in held
    ]
    if rows:
        Certification.insert_many(rows).execute()


# --- Withdrawing ------------------------------------------------------------------------------


def withdraw(member, user, adhesion_id):
    """End an adhesion of an expert space: its code dies, the certifications it gave are
    revoked."""
    require(member, "manage_certifications")
    adhesion = _adhesion(member, adhesion_id)
    if not is_expert(member.space):
        raise OwnAdhesionKept()
    now = clock.now()
    with db.atomic():
        done = (
            Adhesion.update(withdrawn_at=now, withdrawn_by=user.id, code_hash=None)
            .where(Adhesion.id == adhesion.id, Adhesion.withdrawn_at.is_null())
            .execute()
        )
        if done != 1:
            raise AdhesionWithdrawn()
        Certification.update(revoked_at=now).where(
            Certification.adhesion == adhesion.id, Certification.revoked_at.is_null()
        ).execute()
        if adhesion.letter_id and not adhesion.activated_at:
            letters.cancel_unprinted(adhesion.letter_id)  # its code died unprinted
        audit.record(
            "adhesion.withdrawn", actor=user, space_id=member.space_id, company=adhesion.company_identifier
        )
