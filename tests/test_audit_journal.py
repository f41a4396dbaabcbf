"""The Journal d'audit's service: filters (person, space, action exact or by area, Luxembourg
days), pages newest first, the CSV export of every filtered entry (";", UTF-8 with BOM,
nothing a spreadsheet would run), and the chain verification in plain words; exports and
verifications audited themselves."""

import csv
import io
from datetime import date, datetime

import pytest

import factories
from models import AuditEntry, db
from services import audit, audit_journal

pytestmark = pytest.mark.usefixtures("request_context")


class Actor:
    def __init__(self, id_, name):
        self.id, self.display_name = id_, name


LEA, MARC = Actor(1, "Léa Guichet"), Actor(2, "Marc Fiduciaire")


@pytest.fixture
def journal(app, clock):
    """Entries over two Luxembourg days (UTC+1 in March before the 29th)."""
    clock.set_now(datetime(2026, 3, 24, 22, 30))  # 23:30 on the 24th in Luxembourg
    audit.record("space.created", actor=LEA, space_id=5, name="Guichet")
    clock.set_now(datetime(2026, 3, 24, 23, 30))  # 00:30 on the 25th in Luxembourg
    audit.record("space.deleted", actor=LEA, space_id=5, name="Guichet")
    audit.record("mandate.granted", actor=MARC, space_id=7, company="B123456")
    audit.record("login.failure", userid="inconnu")
    return factories.helpdesk()


def actions_of(rows):
    return [row.action for row in rows]


def test_filters(journal):
    F = audit_journal.Filters
    newest_first = ["login.failure", "mandate.granted", "space.deleted", "space.created"]
    assert actions_of(audit_journal.entries(F(), 1)[0]) == newest_first
    assert actions_of(audit_journal.entries(F(person="léa"), 1)[0]) == ["space.deleted", "space.created"]
    assert actions_of(audit_journal.entries(F(person="fiduc"), 1)[0]) == ["mandate.granted"]
    assert actions_of(audit_journal.entries(F(space_id=7), 1)[0]) == ["mandate.granted"]
    assert actions_of(audit_journal.entries(F(action="space.deleted"), 1)[0]) == ["space.deleted"]
    assert actions_of(audit_journal.entries(F(action="space.*"), 1)[0]) == ["space.deleted", "space.created"]
    assert audit_journal.entries(F(action="space"), 1) == ([], 0)  # exact, unless ".*"
    # Days are Luxembourg's: 23:30 UTC on the 24th is the 25th.
    day = date(2026, 3, 25)
    assert actions_of(audit_journal.entries(F(date_from=day, date_to=day), 1)[0]) == [
        "login.failure",
        "mandate.granted",
        "space.deleted",
    ]
    assert actions_of(audit_journal.entries(F(date_to=date(2026, 3, 24)), 1)[0]) == ["space.created"]
    rows, total = audit_journal.entries(F(person="Léa", space_id=5, action="space.*", date_from=day), 1)
    assert (actions_of(rows), total) == (["space.deleted"], 1)


def test_pages_newest_first(journal):
    rows, total = audit_journal.entries(audit_journal.Filters(), 2, per_page=3)
    assert (actions_of(rows), total) == (["space.created"], 4)


def test_the_actions_present_by_area(journal):
    assert audit_journal.actions() == [
        "login.*",
        "login.failure",
        "mandate.*",
        "mandate.granted",
        "space.*",
        "space.created",
        "space.deleted",
    ]


def read_csv(lines):
    text = "".join(lines)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_export_every_filtered_entry_as_csv(journal, monkeypatch):
    monkeypatch.setattr(audit_journal, "EXPORT_BATCH", 2)  # the batches follow one another
    for n in range(3):
        audit.record("space.renamed", actor=Actor(3, '=HYPERLINK("http://x")'), space_id=5, name=f"n{n}")
    rows = read_csv(audit_journal.export(journal, audit_journal.Filters(space_id=5)))
    assert rows[0] == ["id", "date", "acteur", "action", "espace", "adresse IP", "détails"]
    assert [row[3] for row in rows[1:]] == ["space.renamed"] * 3 + ["space.deleted", "space.created"]
    assert rows[-1][1] == "2026-03-24 23:30:00" and rows[-1][2] == "Léa Guichet"  # Luxembourg time
    assert rows[1][2] == '\'=HYPERLINK("http://x")'  # shown, never run
    assert rows[-1][6] == '{"name": "Guichet"}'
    exported = AuditEntry.select().where(AuditEntry.action == "audit.exported").get()
    assert (exported.actor, exported.details) == ("Hélène Helpdesk (Helpdesk)", {"filters": {"space_id": 5}})


def test_export_of_exactly_a_batch(journal, monkeypatch):
    monkeypatch.setattr(audit_journal, "EXPORT_BATCH", 2)
    rows = read_csv(audit_journal.export(journal, audit_journal.Filters(person="Léa")))
    assert len(rows) == 3


def test_verify_an_intact_chain(journal):
    result = audit_journal.verify(journal)
    assert (
        result.intact
        and result.count == 4
        and result.head == AuditEntry.select().order_by(AuditEntry.id)[3].hash
    )
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
    assert (entry.action, entry.details) == (
        "audit.verified",
        {"intact": True, "count": 4, "head": result.head},
    )


def test_verify_says_where_and_why_it_breaks(journal):
    changed = AuditEntry.select().order_by(AuditEntry.id)[1]
    # Behind the model's back (it refuses updates), as someone with the database would.
    table, param = AuditEntry._meta.table_name, db.param
    db.execute_sql(f'UPDATE "{table}" SET actor = {param} WHERE id = {param}', ("X", changed.id))
    result = audit_journal.verify(journal)
    assert not result.intact
    assert result.explanation == (
        f"L'entrée n° {changed.id} ne correspond plus à son empreinte : elle a été modifiée, "
        "ou écrite sans la clé du serveur."
    )
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
    assert entry.details == {"intact": False, "entry": changed.id, "reason": "hash"}


def test_verify_holds_the_chain_against_the_kept_checkpoint(journal, app):
    head = audit.check().head
    audit.write_checkpoint(audit.checkpoint_path(), audit.Checkpoint(head.count + 5, head.head))
    result = audit_journal.verify(journal)
    assert not result.intact and result.checkpoint_used
    assert "a vu 9 entrées, la chaîne en compte moins" in result.explanation
