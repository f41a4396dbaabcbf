"""Vérifier et signer: a manager of the filing space signs a complete dossier with a fresh
one-time code, and in one transaction the dossier is transmitted (a draft, or a complement
asked by the administration), gets its reference at the first signature, a signed receipt
(services/receipts.py), its history entry, the members' notification and the audit entry.
"""

from flask_babel import lazy_gettext as _l, to_user_timezone
from peewee import fn

import clock
from database import lock_row
from models import Dossier, DossierFile, Receipt, ReferenceCounter, db
from services import (
    DomainError,
    audit,
    auth,
    dossiers,
    languages,
    procedure_values,
    procedures,
    receipts,
    spaces,
)


class StaleVersion(DomainError):
    """The dossier changed since the page was opened (another tab, a colleague, a double
    submit): nothing is signed."""

    status = 409
    message = _l(
        "Ce dossier a changé depuis l'ouverture de cette page (dans un autre onglet ou par une autre "
        "personne). Relisez-le ci-dessous avant de le signer."
    )


class Incomplete(DomainError):
    status = 422
    message = _l("Le dossier est incomplet : complétez les étapes indiquées avant de le signer.")

    def __init__(self, problems):
        super().__init__()
        self.problems = problems


class WrongCode(spaces.InvalidInput):
    field = "otp"
    message = auth.InvalidOTP.message


# --- Is it complete? -------------------------------------------------------------------------


def problems(dossier):
    """{step number: {field name: message}} of what keeps the dossier from being signed (every
    step checked as the assistant's Suivant does, every file field naming a file of the
    dossier); empty when it is complete."""
    file_ids = DossierFile.select(DossierFile.id).where(
        DossierFile.dossier == dossier.id, DossierFile.message.is_null()
    )
    return procedure_values.check_data(
        procedures.definition(dossier.procedure), dossier.data, {str(i) for (i,) in file_ids.tuples()}
    )


# --- Signing ---------------------------------------------------------------------------------


def submit(member, user, dossier_id, version, otp, ip):
    """Sign and transmit the dossier the member's page showed at `version`, with the person's
    one-time code (checked as at login: each code once, the same throttling). Returns
    (dossier, receipt). Refused, nothing changes: StaleVersion (409), Incomplete (422),
    WrongCode (422), Throttled (429), Locked (423), or what `dossier_for` refuses."""
    dossier = dossiers.dossier_for(member, dossier_id, "edit")
    if dossier.version != version:
        raise StaleVersion()
    found = problems(dossier)
    if found:
        raise Incomplete(found)
    try:
        auth.check_otp(user, otp, ip)  # outside the transaction: a wrong code stays counted
    except auth.InvalidOTP:
        raise WrongCode() from None
    with db.atomic():
        return _sign(member, user, dossier, version)


def _sign(member, user, dossier, version):
    lock_row(Dossier, dossier.id)  # a second signature of the same dossier waits here, then finds it changed
    columns = (Dossier.version, Dossier.status, Dossier.reference)
    current = Dossier.select(*columns).where(Dossier.id == dossier.id).first()
    if current.version != version:
        raise StaleVersion()
    now = clock.now()
    complement = current.status == "complement"
    reference = current.reference or take_reference(dossier.procedure.administration, now)
    dossiers.change_status(
        dossier,
        "submitted",
        user=user,
        action="resubmitted" if complement else "submitted",
        reference=reference,
        submitted_at=now,
    )
    dossier.reference, dossier.submitted_at, dossier.version = reference, now, version + 1
    last = Receipt.select(fn.MAX(Receipt.number)).where(Receipt.dossier == dossier.id).scalar()
    receipt = receipts.issue(dossier, (last or 0) + 1, user, now)
    # The members' mail, each in their language.
    values = {"reference": reference, "procedure": languages.lazy_localized(dossier.procedure, "title")}
    if complement:
        subject = _l("Dossier %(reference)s : complément transmis", **values)
        message = _l(
            "Le complément du dossier %(reference)s (%(procedure)s) a été signé et transmis à "
            "l'administration. Son accusé de réception signé est disponible sur la page du dossier.",
            **values,
        )
    else:
        subject = _l("Dossier %(reference)s transmis", **values)
        message = _l(
            "Le dossier %(reference)s (%(procedure)s) a été signé et transmis à l'administration. "
            "Son accusé de réception signé est disponible sur la page du dossier.",
            **values,
        )
    dossiers.notify_members(dossier, subject, message)
    audit.record(
        "dossier.submitted",
        actor=user,
        space_id=member.space_id,
        dossier_id=dossier.id,
        reference=reference,
        receipt=receipt.number,
        data_sha256=receipt.data_sha256,
        mandate_id=dossier.mandate_id,
    )
    return dossier, receipt


def take_reference(administration, now):
    """The administration's next reference of the year (Luxembourg time), `ACD-2026-000123`.
    The counter's row is created if missing (insert-or-ignore: concurrent first signatures of
    the year make one row), then raised by one UPDATE … RETURNING, which holds its lock until
    the transaction ends: references follow each other without gaps (a transaction that
    fails gives its number back) and never twice."""
    year = to_user_timezone(now).year
    ReferenceCounter.insert(
        administration=administration.id, year=year, last=0
    ).on_conflict_ignore().execute()
    rows = list(
        ReferenceCounter.update(last=ReferenceCounter.last + 1)
        .where(ReferenceCounter.administration == administration.id, ReferenceCounter.year == year)
        .returning(ReferenceCounter.last)
        .tuples()
        .execute()
    )
    return f"{administration.code}-{year}-{rows[0][0]:06d}"
