"""Fusionner deux espaces professionnels: everything the source space owns moves
into the target in one transaction, and the source stays archived as "fusionné dans …".

Each kind of space-owned record has a `Mover` in MOVERS, at the end of this module: what will
move (`count`), what clashes (`conflicts`; a blocking one refuses the merge) and how it moves
(`move`, set-based statements, no query per row). The movers of the spaces' own records are
here; those of mandates, certification requests and communications live with them and are
listed here. A
model that owns rows of a space and has no mover would stay behind in the archived source:
add one to the list.
"""

import re
from dataclasses import dataclass, field
from typing import Callable

from flask_babel import lazy_gettext as _l
from peewee import Value

import clock
from database import lock_row
from models import Adhesion, Certification, Dossier, Invitation, Membership, Service, Space, VaultEntry, db
from services import DomainError, audit, certification_requests, communications, languages, mandates
from services.spaces import RANK, SpaceNotFound, membership_for, require


@dataclass
class Conflict:
    kind: str  # the mover's key
    key: str  # what clashes: a vault key, a service slug
    label: str
    blocking: bool = False
    source_value: str = ""
    target_value: str = ""


@dataclass(frozen=True)
class Mover:
    key: str
    label: object  # shown in the preview: "Membres", "Certifications"…
    count: Callable  # count(source_id) -> rows that move
    move: Callable  # move(source_id, target_id, resolutions) -> None
    conflicts: Callable = field(default=lambda source_id, target_id: [])


class MergeRefused(DomainError):
    status = 409


class SameSpaceMerge(MergeRefused):
    message = _l("Choisissez deux espaces différents.")


class PrivateSpaceMerge(MergeRefused):
    message = _l("Seuls des espaces professionnels peuvent être fusionnés.")


class MergeBlocked(MergeRefused):
    """Blocking conflicts (`reasons`: their labels) that no choice of the person resolves."""

    def __init__(self, reasons):
        super().__init__(_l("La fusion est impossible : %(reasons)s", reasons=" ".join(reasons)))


@dataclass
class Plan:
    source: Space
    target: Space
    moves: list  # [(label, count)]
    conflicts: list

    @property
    def blocking(self):
        return [c for c in self.conflicts if c.blocking]


def _spaces(user, source_id, target_id):
    if source_id == target_id:
        raise SameSpaceMerge()
    members = [membership_for(user, space_id) for space_id in (source_id, target_id)]
    for member in members:
        require(member, "merge")
        if member.space.is_private:
            raise PrivateSpaceMerge()
    return members[0].space, members[1].space


def _company(identifier):
    """A company identifier compared without spaces, dots or case."""
    return re.sub(r"[^0-9A-Z]", "", (identifier or "").upper())


def _company_conflicts(source, target):
    """A holder certification is "destiné à être utilisé dans un espace professionnel de la
    personne morale elle-même": spaces of two companies never merge, and a holder
    certification never moves into a space that is not of its company (one that names no
    company included)."""
    if _company(source.identifier) and _company(target.identifier):
        if _company(source.identifier) == _company(target.identifier):
            return []
        message = _l(
            "« %(source)s » (%(source_id)s) et « %(target)s » (%(target_id)s) sont les espaces de deux "
            "entreprises différentes. Seuls des espaces d'une même entreprise peuvent être fusionnés : "
            "les certifications d'une entreprise ne peuvent être utilisées que dans ses propres espaces "
            "professionnels.",
            source=source.name,
            source_id=source.identifier,
            target=target.name,
            target_id=target.identifier,
        )
        return [Conflict("company", "identifier", str(message), blocking=True)]
    holders = Certification.select(Certification.company_identifier).where(
        Certification.space == source.id, Certification.kind == "holder", Certification.revoked_at.is_null()
    )
    strangers = sorted(
        {
            c.company_identifier
            for c in holders
            if _company(c.company_identifier) != _company(target.identifier)
        }
    )
    if not strangers:
        return []
    message = _l(
        "« %(source)s » est certifié comme titulaire pour l'entreprise %(companies)s, et « %(target)s » "
        "n'est pas un espace de cette entreprise : une certification de titulaire ne peut être utilisée "
        "que dans un espace professionnel de l'entreprise elle-même.",
        source=source.name,
        companies=", ".join(strangers),
        target=target.name,
    )
    return [Conflict("company", "holders", str(message), blocking=True)]


def preview(user, source_id, target_id):
    """What the merge would move and the conflicts, for the person to confirm."""
    source, target = _spaces(user, source_id, target_id)
    moves = [(mover.label, mover.count(source.id)) for mover in MOVERS.values()]
    conflicts = _company_conflicts(source, target)
    conflicts += [c for mover in MOVERS.values() for c in mover.conflicts(source.id, target.id)]
    return Plan(source, target, moves, conflicts)


def merge(user, source_id, target_id, resolutions=None):
    """Move everything of the source into the target and archive the source; all or nothing.
    `resolutions` maps a conflict's "kind:key" to "source" or "target" (the value kept)."""
    resolutions = resolutions or {}
    with db.atomic():
        for space_id in sorted((source_id, target_id)):  # same order everywhere: no deadlock
            lock_row(Space, space_id)
        plan = preview(user, source_id, target_id)
        if plan.blocking:
            raise MergeBlocked(c.label for c in plan.blocking)
        # Only the choices the plan offered: a forged key or value must not reach the movers.
        offered = {f"{c.kind}:{c.key}" for c in plan.conflicts}
        resolutions = {
            key: choice
            for key, choice in resolutions.items()
            if key in offered and choice in ("source", "target")
        }
        archived = (
            Space.update(merged_into=target_id, merged_at=clock.now())
            .where(Space.id == source_id, Space.live())
            .execute()
        )
        if not archived:
            raise SpaceNotFound()
        for mover in MOVERS.values():
            mover.move(source_id, target_id, resolutions)
        audit.record(
            "space.merged",
            actor=user,
            space_id=target_id,
            source_id=source_id,
            source=plan.source.name,
            moved={m.key: n for m, (_, n) in zip(MOVERS.values(), plan.moves, strict=True)},
            resolutions=resolutions,
        )
    return plan


# --- The movers of the spaces' own records --------------------------------------------------


def _members_count(source_id):
    return Membership.select().where(Membership.space == source_id).count()


def _members_move(source_id, target_id, resolutions):
    """Members join the target with their highest role; the source keeps its list as a
    record of who had the archived space."""
    in_target = Membership.select(Membership.user).where(Membership.space == target_id)
    for role in ("admin", "manager"):  # upgrade those in both whose source role is higher
        lower = [r for r in RANK if RANK[r] < RANK[role]]
        Membership.update(role=role).where(
            Membership.space == target_id,
            Membership.role.in_(lower),
            Membership.user.in_(
                Membership.select(Membership.user).where(
                    Membership.space == source_id, Membership.role == role
                )
            ),
        ).execute()
    Membership.insert_from(
        Membership.select(
            Value(target_id),
            Membership.user,
            Membership.role,
            Value(clock.now(), converter=Membership.joined_at.db_value),
        ).where(Membership.space == source_id, Membership.user.not_in(in_target)),
        [Membership.space, Membership.user, Membership.role, Membership.joined_at],
    ).execute()


def _invitations_count(source_id):
    return (
        Invitation.select()
        .where(
            Invitation.space == source_id, Invitation.accepted_at.is_null(), Invitation.revoked_at.is_null()
        )
        .count()
    )


def _invitations_move(source_id, target_id, resolutions):
    Invitation.update(space=target_id).where(Invitation.space == source_id).execute()


def _certifications_count(source_id):
    return (
        Certification.select()
        .where(Certification.space == source_id, Certification.revoked_at.is_null())
        .count()
    )


def _certifications_conflicts(source_id, target_id):
    Other = Certification.alias()
    rows = (
        Certification.select(Service.slug, Service.name, Service.translations)
        .join(Service)
        .switch(Certification)
        .join(Other, on=(Other.service == Certification.service))
        .where(
            Certification.space == source_id,
            Certification.kind == "holder",
            Certification.revoked_at.is_null(),
            Other.space == target_id,
            Other.kind == "holder",
            Other.revoked_at.is_null(),
        )
        .objects(Service)
    )
    return [
        Conflict(
            "certifications",
            service.slug,
            str(
                _l(
                    "Les deux espaces sont certifiés comme titulaires pour le service « "
                    "%(service)s ». Un espace n'a "
                    "qu'une certification de titulaire par service : faites d'abord révoquer l'une des deux.",
                    service=languages.localized(service, "name"),
                )
            ),
            blocking=True,
        )
        for service in rows
    ]


def _certifications_move(source_id, target_id, resolutions):
    Certification.update(space=target_id).where(Certification.space == source_id).execute()


def _adhesions_count(source_id):
    return Adhesion.select().where(Adhesion.space == source_id, Adhesion.withdrawn_at.is_null()).count()


def _adhesions_conflicts(source_id, target_id):
    """Both spaces adhere for one company: a space has one adhesion per company."""
    Other = Adhesion.alias()
    rows = (
        Adhesion.select(Adhesion.company_identifier, Adhesion.company_name)
        .join(Other, on=(Other.company_identifier == Adhesion.company_identifier))
        .where(
            Adhesion.space == source_id,
            Adhesion.withdrawn_at.is_null(),
            Other.space == target_id,
            Other.withdrawn_at.is_null(),
        )
        .tuples()
    )
    return [
        Conflict(
            "adhesions",
            identifier,
            str(
                _l(
                    "Les deux espaces ont une adhésion aux services de l'entreprise %(company)s "
                    "(%(identifier)s). Un espace n'a qu'une adhésion par entreprise : retirez d'abord "
                    "l'une des deux.",
                    company=name,
                    identifier=identifier,
                )
            ),
            blocking=True,
        )
        for identifier, name in rows
    ]


def _adhesions_move(source_id, target_id, resolutions):
    """The adhesions move with their codes and the certifications they gave (moved above)."""
    Adhesion.update(space=target_id).where(Adhesion.space == source_id).execute()


def _vault_count(source_id):
    return VaultEntry.select().where(VaultEntry.space == source_id).count()


def _vault_conflicts(source_id, target_id):
    Other = VaultEntry.alias()
    rows = (
        VaultEntry.select(VaultEntry.key, VaultEntry.label, VaultEntry.value, Other.value.alias("other"))
        .join(Other, on=((Other.key == VaultEntry.key) & (Other.space == target_id)))
        .where(VaultEntry.space == source_id, VaultEntry.value != Other.value)
        .order_by(VaultEntry.key)
        .dicts()
    )
    return [
        Conflict(
            "vault",
            row["key"],
            row["label"] or row["key"],
            source_value=row["value"],
            target_value=row["other"],
        )
        for row in rows
    ]


def _vault_move(source_id, target_id, resolutions):
    keep_source = [
        key.split(":", 1)[1]
        for key, choice in resolutions.items()
        if key.startswith("vault:") and choice == "source"
    ]
    if keep_source:
        Source = VaultEntry.alias()
        value = Source.select(Source.value).where(Source.space == source_id, Source.key == VaultEntry.key)
        VaultEntry.update(value=value, updated_at=clock.now()).where(
            VaultEntry.space == target_id, VaultEntry.key.in_(keep_source)
        ).execute()
    in_target = VaultEntry.select(VaultEntry.key).where(VaultEntry.space == target_id)
    VaultEntry.delete().where(VaultEntry.space == source_id, VaultEntry.key.in_(in_target)).execute()
    VaultEntry.update(space=target_id).where(VaultEntry.space == source_id).execute()


def _dossiers_count(source_id):
    return Dossier.select().where((Dossier.space == source_id) | (Dossier.mandant_space == source_id)).count()


def _dossiers_move(source_id, target_id, resolutions):
    """The source's dossiers move with their messages, files, history and receipts (which
    hang off the dossier), and those a mandatary filed for the source's company now show in
    the target. Neither a change of the dossier: its last change (the drafts' retention) and
    its version stay as they were."""
    Dossier.update(space=target_id).where(Dossier.space == source_id).execute()
    Dossier.update(mandant_space=target_id).where(Dossier.mandant_space == source_id).execute()


# Every kind of record a space owns, in the order they move.
MOVERS = {
    mover.key: mover
    for mover in (
        Mover("members", _l("Membres"), _members_count, _members_move),
        Mover("invitations", _l("Invitations en attente"), _invitations_count, _invitations_move),
        Mover(
            "certifications",
            _l("Certifications"),
            _certifications_count,
            _certifications_move,
            _certifications_conflicts,
        ),
        Mover(
            "adhesions",
            _l("Adhésions aux services impots"),
            _adhesions_count,
            _adhesions_move,
            _adhesions_conflicts,
        ),
        Mover("vault", _l("Données professionnelles"), _vault_count, _vault_move, _vault_conflicts),
        Mover("mandates", _l("Mandats"), mandates.merge_count, mandates.merge_move),
        Mover("dossiers", _l("Dossiers"), _dossiers_count, _dossiers_move),
        Mover(
            "requests",
            _l("Demandes de certification"),
            certification_requests.merge_count,
            certification_requests.merge_move,
        ),
        Mover(
            "communications",
            _l("Communications"),
            communications.merge_count,
            communications.merge_move,
        ),
    )
}
