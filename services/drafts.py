"""Drafts are kept six months after their last change. The members of the spaces that see
a draft get one mail 14 days before it goes; a draft changed since is warned again before
its new deadline. `flask purge-drafts` (daily, from cron) sends the warnings and deletes the
drafts that are due, with their files, history and thread (the database cascades).

A draft is deleted only once its six months are over and its warning, sent after its last
change, is at least 14 days old: a draft never goes unannounced, even when the command did
not run for a while.
"""

import calendar
from datetime import timedelta

from flask_babel import lazy_gettext as _l

import clock
from models import Dossier, Procedure, db
from services import audit, dossiers, languages

RETENTION_MONTHS = 6
WARNING = timedelta(days=14)
# The shortest six months (from the end of August to the end of February): a draft changed
# more recently is never due, whatever the month.
SHORTEST_RETENTION = timedelta(days=181)


def months_later(moment, months):
    """The same time `months` calendar months later (on the month's last day when shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def deadline(dossier):
    """When the draft goes: six months after its last change, and not before its warning is
    14 days old."""
    due = months_later(dossier.updated_at, RETENTION_MONTHS)
    if _warned(dossier):
        due = max(due, dossier.purge_warned_at + WARNING)
    return due


def _warned(dossier):
    return dossier.purge_warned_at is not None and dossier.purge_warned_at > dossier.updated_at


# A warning counts for the draft as it was when warned: a change (a later updated_at) needs a
# new one. Strictly later, so that a change in the warning's second asks for another.
WARNED_SINCE_CHANGE = Dossier.purge_warned_at > Dossier.updated_at
NOT_WARNED_SINCE_CHANGE = Dossier.purge_warned_at.is_null() | (Dossier.purge_warned_at <= Dossier.updated_at)


def purge_drafts():
    """Delete the drafts that are due, then warn those due within 14 days; returns
    (warned, deleted)."""
    now = clock.now()
    deleted = _delete_due(now)
    return _warn(now), deleted


def _warn(now):
    candidates = (
        Dossier.select(Dossier, Procedure)
        .join(Procedure)
        .where(
            Dossier.status == "draft",
            Dossier.updated_at <= now + WARNING - SHORTEST_RETENTION,
            NOT_WARNED_SINCE_CHANGE,
        )
        .order_by(Dossier.id)
    )
    warned = 0
    for dossier in list(candidates):  # read first: each one is then written in its own transaction
        if months_later(dossier.updated_at, RETENTION_MONTHS) > now + WARNING:
            continue
        with db.atomic():
            # Claimed by a conditional UPDATE: two runs at once never warn twice, and a draft
            # changed since it was read is left for its new deadline.
            if (
                not Dossier.update(purge_warned_at=now)
                .where(
                    Dossier.id == dossier.id,
                    Dossier.status == "draft",
                    Dossier.updated_at == dossier.updated_at,
                    NOT_WARNED_SINCE_CHANGE,
                )
                .execute()
            ):
                continue
            dossier.purge_warned_at = now
            procedure = languages.lazy_localized(dossier.procedure, "title")
            dossiers.notify_members(
                dossier,
                _l("Brouillon bientôt supprimé : %(procedure)s", procedure=procedure),
                _l(
                    "Votre brouillon de la démarche « %(procedure)s » sera supprimé le %(date)s : les "
                    "brouillons sont gardés six mois après leur dernière modification. Pour le garder, "
                    "reprenez-le avant cette date.",
                    procedure=procedure,
                    date=languages.lazy_date(deadline(dossier), "long"),
                ),
            )
        warned += 1
    return warned


def _delete_due(now):
    candidates = (
        Dossier.status == "draft",
        Dossier.updated_at <= now - SHORTEST_RETENTION,
        WARNED_SINCE_CHANGE,
        Dossier.purge_warned_at <= now - WARNING,
    )
    with db.atomic():
        # The candidates' rows locked first (a no-op UPDATE), then read: a run at the same
        # moment on another machine waits, then finds them gone, and neither counts them twice.
        Dossier.update({Dossier.id: Dossier.id}).where(*candidates).execute()
        found = Dossier.select(Dossier.id, Dossier.updated_at, Dossier.purge_warned_at).where(*candidates)
        deleted = [dossier.id for dossier in found if deadline(dossier) <= now]
        if deleted:
            Dossier.delete().where(Dossier.id.in_(deleted)).execute()
            audit.record("dossier.drafts_purged", count=len(deleted), dossier_ids=deleted)
    return len(deleted)
