"""Journal d'audit, the helpdesk's reading of the audit log (services/audit.py): entries
filtered by person (the actor's name contains), space, action (exact, or every action of an
area: "space.*") and dates (days in Europe/Luxembourg), a page at a time, newest first; the
CSV export of every filtered entry; the verification of the chain, in plain words. Exports
and verifications are audited themselves."""

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l, to_user_timezone, to_utc

from database import PAGE_SIZE
from models import AuditEntry
from services import audit

EXPORT_BATCH = 1000  # rows read at a time while the CSV streams
BOM = "\ufeff"  # spreadsheets read UTF-8 only when the file says so
CSV_HEADER = ("id", "date", "acteur", "action", "espace", "adresse IP", "détails")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

BREAKS = {
    "prev_hash": _l(
        "L'entrée n° %(id)s ne suit pas celle qui la précède : une entrée a été supprimée ou déplacée."
    ),
    "hash": _l(
        "L'entrée n° %(id)s ne correspond plus à son empreinte : elle a été modifiée, ou écrite sans "
        "la clé du serveur."
    ),
    "unsealed": _l(
        "Les entrées anciennes ne sont suivies d'aucune entrée signée avec la clé du serveur : "
        "lancez « flask init-db », puis vérifiez à nouveau."
    ),
    "checkpoint": _l(
        "L'entrée n° %(id)s n'est plus celle que le point de contrôle %(checkpoint)s a vue à la "
        "position %(count)s : les dernières entrées ont été supprimées et d'autres ajoutées depuis."
    ),
    "truncated": _l(
        "Le point de contrôle %(checkpoint)s a vu %(count)s entrées, la chaîne en compte moins : "
        "les dernières entrées ont été supprimées."
    ),
}


class Filters(NamedTuple):
    person: str = ""  # in the actor's name
    space_id: int | None = None
    action: str = ""  # "space.deleted", or "space.*" for every action of the area
    date_from: date | None = None  # days where the portal is (Europe/Luxembourg)
    date_to: date | None = None

    def as_details(self):
        """For the audit entry of an export: what was asked, no more."""
        return {
            name: value.isoformat() if isinstance(value, date) else value
            for name, value in self._asdict().items()
            if value not in ("", None)
        }


def parse_day(text):
    """A day as a date field sends it (AAAA-MM-JJ); ValueError otherwise."""
    return date.fromisoformat(text)


def _start_of(day):
    """The instant (naive UTC) a Luxembourg day begins."""
    return to_utc(datetime.combine(day, time.min)).replace(tzinfo=None)


def _filtered(filters):
    select = AuditEntry.select()
    if filters.person:
        select = select.where(AuditEntry.actor.contains(filters.person))
    if filters.space_id is not None:
        select = select.where(AuditEntry.space_id == filters.space_id)
    if filters.action.endswith(".*"):
        select = select.where(AuditEntry.action.startswith(filters.action[:-1]))
    elif filters.action:
        select = select.where(AuditEntry.action == filters.action)
    if filters.date_from:
        select = select.where(AuditEntry.created_at >= _start_of(filters.date_from))
    if filters.date_to:
        select = select.where(AuditEntry.created_at < _start_of(filters.date_to + timedelta(days=1)))
    return select


def entries(filters, page, per_page=PAGE_SIZE):
    """A page of the filtered entries, newest first, and how many there are (two queries)."""
    select = _filtered(filters)
    rows = list(select.order_by(AuditEntry.id.desc()).paginate(max(page, 1), per_page))
    return rows, select.count()


def actions():
    """The choices of the action filter: each area present ("space.*") followed by its
    actions, in order (one query)."""
    present = [
        action
        for (action,) in AuditEntry.select(AuditEntry.action).distinct().order_by(AuditEntry.action).tuples()
    ]
    choices = []
    for action in present:
        area = action.split(".", 1)[0] + ".*"
        if "." in action and area not in choices:
            choices.append(area)
        choices.append(action)
    return choices


# --- Exporter (CSV) -------------------------------------------------------------------------


def _cell(value):
    """A value as a spreadsheet shows it, never as a formula it would run."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _line(values):
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow([_cell(value) for value in values])
    return out.getvalue()


def _row(entry):
    return (
        entry.id,
        to_user_timezone(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        entry.actor,
        entry.action,
        entry.space_id,
        entry.ip,
        json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
    )


def export(actor, filters):
    """The filtered entries as CSV lines (";", UTF-8 with its BOM), newest first, read a
    batch at a time while they stream: a generator. The export is audited as it starts."""
    audit.record("audit.exported", actor=actor, filters=filters.as_details())
    select = _filtered(filters)

    def lines():
        yield BOM + _line(CSV_HEADER)
        last = None
        while True:
            batch = select.order_by(AuditEntry.id.desc()).limit(EXPORT_BATCH)
            if last is not None:
                batch = batch.where(AuditEntry.id < last)
            rows = list(batch)
            for entry in rows:
                yield _line(_row(entry))
            if len(rows) < EXPORT_BATCH:
                return
            last = rows[-1].id

    return lines()


# --- Vérifier la chaîne ----------------------------------------------------------------------


class Result(NamedTuple):
    intact: bool
    count: int | None  # entries checked, when intact
    head: str | None  # the last one's hash, when intact
    explanation: str | None  # where and why it breaks, when broken
    checkpoint_used: bool  # held against the checkpoint `audit-verify` keeps


def explain(broken):
    checkpoint = broken.checkpoint
    return str(BREAKS[broken.reason]) % {
        "id": broken.entry_id,
        "checkpoint": checkpoint,
        "count": checkpoint and checkpoint.count,
    }


def verify(actor):
    """Walk the chain (and hold it against the checkpoint `flask audit-verify` keeps, when
    there is one), record the verification and return its result."""
    try:
        kept = audit.read_checkpoint(audit.checkpoint_path())
    except ValueError:
        kept = None
    broken, head = audit.check(*([kept] if kept else []))
    if broken:
        result = Result(False, None, None, explain(broken), kept is not None)
        audit.record("audit.verified", actor=actor, intact=False, entry=broken.entry_id, reason=broken.reason)
    else:
        result = Result(True, head.count, head.head, None, kept is not None)
        audit.record("audit.verified", actor=actor, intact=True, count=head.count, head=head.head)
    return result
