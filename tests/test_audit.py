"""The audit log: append-only, hash-chained with a key the database does not hold,
tampering and truncation detected."""

import hashlib
import hmac
from datetime import datetime

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
    assert (second.actor, second.actor_id, second.space_id, second.details) == (
        "Léa Guichet",
        7,
        3,
        {"reason": "test"},
    )
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
        ("UPDATE audit_entry SET action = 'nothing' WHERE id = {p}", "hash"),
        ("DELETE FROM audit_entry WHERE id = {p}", "prev_hash"),
    ],
)
def test_tampering_is_detected(app, runner, tamper, reason):
    second = [audit.record(action) for action in ("a", "b", "c")][1]
    assert runner.invoke(args=["audit-verify"]).exit_code == 0
    # Someone with database access, on the second entry.
    db.execute_sql(tamper.format(p=db.obj.param), (second.id,))
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


# --- Keyed chain and checkpoints -------------------------------------------------------------


def _rewrite(entries, digest, **changes_of_second):
    """What someone with write access to the database (and not the key) can do: change the
    second entry and re-hash the chain from there, with `digest`."""
    p = db.obj.param
    prev = entries[0].hash
    for index, entry in enumerate(entries[1:]):
        if index == 0:
            for name, value in changes_of_second.items():
                setattr(entry, name, value)
        entry.prev_hash = prev
        entry.hash = digest(entry)
        prev = entry.hash
        db.execute_sql(
            f"UPDATE audit_entry SET action = {p}, prev_hash = {p}, hash = {p} WHERE id = {p}",
            (entry.action, entry.prev_hash, entry.hash, entry.id),
        )


def _entries():
    return list(AuditEntry.select().order_by(AuditEntry.id))


@pytest.mark.parametrize(
    "digest",
    [
        audit._legacy_digest,
        lambda entry: hmac.new(
            b"a key of their own", audit._canonical(entry).encode(), hashlib.sha256
        ).hexdigest(),
    ],
    ids=["sha256", "another-key"],
)
def test_a_rehashed_rewrite_is_detected(app, runner, digest):
    for action in ("a", "b", "c"):
        audit.record(action)
    entries = _entries()
    _rewrite(entries, digest, action="nothing")
    assert audit.verify() == (entries[1].id, "hash", None)
    result = runner.invoke(args=["audit-verify"])
    assert (
        result.exit_code == 1 and "Chaîne d'audit rompue" in result.output and "sans la clé" in result.output
    )


def test_removing_the_newest_entries_is_caught_by_the_checkpoint(app, runner, tmp_path):
    for action in ("a", "b", "c"):
        audit.record(action)
    first = runner.invoke(args=["audit-verify"])
    assert first.exit_code == 0 and "3 entrées" in first.output
    kept = first.output.strip().splitlines()[-1]
    assert audit.read_checkpoint(tmp_path / "audit-checkpoint") == audit.Checkpoint.parse(kept)
    assert kept == f"3:{_entries()[-1].hash}"

    db.execute_sql(f"DELETE FROM audit_entry WHERE id = {_entries()[-1].id}")
    assert audit.verify() is None  # what is left is a whole chain
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1 and "tronquée" in result.output

    audit.record("d")  # and the application goes on writing
    audit.record("e")
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1 and "(checkpoint)" in result.output and "n° 3" in result.output

    (tmp_path / "audit-checkpoint").unlink()  # gone with the server: the operator's copy
    result = runner.invoke(args=["audit-verify", "--expect", kept])
    assert result.exit_code == 1 and "(checkpoint)" in result.output


def test_checkpoints_follow_the_chain(app, runner, tmp_path):
    assert runner.invoke(args=["audit-verify"]).output.strip().endswith(f"0:{audit.GENESIS}")
    audit.record("a")
    kept = runner.invoke(args=["audit-verify"]).output.strip().splitlines()[-1]
    audit.record("b")
    result = runner.invoke(args=["audit-verify", "--expect", kept])
    assert result.exit_code == 0 and result.output.strip().endswith(f"2:{_entries()[-1].hash}")
    (tmp_path / "audit-checkpoint").write_text("not a checkpoint")
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1 and "Point de contrôle illisible" in result.output
    assert runner.invoke(args=["audit-verify", "--expect", "3"]).exit_code == 1


def _legacy_entries(actions):
    """Entries as the previous release wrote them (plain SHA-256)."""
    prev = audit.GENESIS
    for action in actions:
        entry = AuditEntry(
            created_at=datetime(2026, 1, 1), action=action, details={}, prev_hash=prev, actor=""
        )
        entry.hash = prev = audit._legacy_digest(entry)
        entry.save(force_insert=True)


def test_entries_of_the_previous_release_are_sealed_by_the_migration(app):
    import migrations

    _legacy_entries(["a", "b", "c"])
    assert audit.verify() == (None, "unsealed", None)
    [migration] = [function for version, _, function in migrations.MIGRATIONS if version == "0003"]
    migration(None)
    assert audit.verify() is None
    seal = _entries()[-1]
    assert (seal.action, seal.details) == ("audit.chain_keyed", {"legacy_entries": 3})
    audit.record("d")
    assert audit.verify() is None

    entries = _entries()
    _rewrite(entries[:3], audit._legacy_digest, action="nothing")  # the old entries, re-hashed the old way
    assert audit.verify() == (seal.id, "prev_hash", None)
