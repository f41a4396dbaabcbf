"""The audit log: append-only, hash-chained, tampering detected."""
import pytest

from models import AppendOnlyError, AuditEntry, db
from services import audit


class Person:
    id = 7
    display_name = "Léa Guichet"


def test_entries_are_chained(app):
    first = audit.record("login.success", actor=Person(), ip="127.0.0.1")
    second = audit.record("space.delete", actor=Person(), space_id=3, reason="test")
    assert first.prev_hash == audit.GENESIS
    assert second.prev_hash == first.hash
    assert (second.actor, second.actor_id, second.space_id, second.details) == ("Léa Guichet", 7, 3, {"reason": "test"})
    assert audit.verify() is None


def test_models_refuse_update_and_delete(app):
    entry = audit.record("login.success")
    entry.action = "other"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete_instance()
    with pytest.raises(AppendOnlyError):
        AuditEntry.update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.delete()
    assert AuditEntry.get_by_id(entry.id).action == "login.success"


@pytest.mark.parametrize(
    "tamper, reason",
    [
        ("UPDATE audit_entry SET action = 'nothing' WHERE id = 2", "hash"),
        ("DELETE FROM audit_entry WHERE id = 2", "prev_hash"),
    ],
)
def test_tampering_is_detected(app, runner, tamper, reason):
    for action in ("a", "b", "c"):
        audit.record(action)
    assert runner.invoke(args=["audit-verify"]).exit_code == 0
    db.execute_sql(tamper)  # someone with database access
    assert audit.verify()[1] == reason
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert "Chaîne d'audit rompue" in result.output


def test_chain_cannot_fork(app):
    """Two entries can never claim the same predecessor (a unique constraint)."""
    from peewee import IntegrityError

    entry = audit.record("a")
    with pytest.raises(IntegrityError), db.atomic():
        AuditEntry.insert(action="forged", prev_hash=entry.prev_hash, hash="f" * 64, details="{}").execute()
