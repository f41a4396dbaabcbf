"""The audit log: append-only, each entry hashed together with the previous one's hash, so
that changing, removing or reordering an entry breaks the chain (`flask audit-verify`).

The hash is an HMAC keyed from SECRET_KEY, which the database does not hold: someone who
can write to the database cannot rewrite entries and re-hash the chain. Removing the newest
entries leaves a shorter chain that is still whole; a checkpoint of the head (the number
of entries and the last hash), kept outside the database, catches that.

Entries written before the chain was keyed (plain SHA-256) stay as they are: they are
accepted only as the beginning of the chain, sealed by the keyed entry that follows them
(migration 0003 writes one), whose HMAC covers their head.

Never put passwords, codes or tokens in `details`.
"""

import hashlib
import json
import os
import re
from pathlib import Path
from typing import NamedTuple

from flask import current_app, has_request_context, request
from peewee import PostgresqlDatabase

import clock
from models import AuditEntry, clip, db
from services import crypto

GENESIS = "0" * 64
_CHAIN_LOCK = 7_452_001  # PostgreSQL advisory lock id serialising appends


def _canonical(entry):
    payload = {
        "created_at": entry.created_at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "action": entry.action,
        "space_id": entry.space_id,
        "ip": entry.ip,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _digest(entry):
    return crypto.keyed_hash("audit-chain", _canonical(entry))


def _legacy_digest(entry):
    """How entries were hashed before the chain was keyed: anyone could recompute it."""
    return hashlib.sha256(_canonical(entry).encode()).hexdigest()


def client_ip():
    return request.remote_addr if has_request_context() else None


CHAINED_FIELDS = [
    AuditEntry.created_at,
    AuditEntry.actor_id,
    AuditEntry.actor,
    AuditEntry.action,
    AuditEntry.space_id,
    AuditEntry.ip,
    AuditEntry.details,
    AuditEntry.prev_hash,
    AuditEntry.hash,
]


def record(action, actor=None, space_id=None, ip=None, **details):
    """Append one entry. `actor` is a model with `id` and `display_name`, or None."""
    ip = ip if ip is not None else client_ip()
    with db.atomic():
        if isinstance(db.obj, PostgresqlDatabase):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCK,))
        last = AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
        entry = AuditEntry(
            created_at=clock.now(),
            actor_id=getattr(actor, "id", None),
            # A full name is two inputs of 100 characters, an agent's name has its
            # administration added: the column keeps what fits.
            actor=clip(AuditEntry.actor, getattr(actor, "display_name", "") or ""),
            action=action,
            space_id=space_id,
            ip=clip(AuditEntry.ip, ip) if ip else ip,
            details=details,
            prev_hash=last.hash if last else GENESIS,
        )
        entry.hash = _digest(entry)
        # An entry is what its hash covers: written column by column, so that a migration
        # that records one runs the same on a database a later release has not yet extended.
        entry.save(force_insert=True, only=CHAINED_FIELDS)
        return entry


def seal_legacy_entries():
    """Migration 0003: a keyed entry after the entries hashed the old way, so that theirs can
    no longer be rewritten either. Returns how many there were."""
    count = AuditEntry.select().count()
    if count:
        record("audit.chain_keyed", legacy_entries=count)
    return count


# --- Verification ----------------------------------------------------------------------------


class Checkpoint(NamedTuple):
    """The head of the chain as seen once: `count` entries, the last one's hash."""

    count: int
    head: str

    def __str__(self):
        return f"{self.count}:{self.head}"

    @classmethod
    def parse(cls, text):
        match = re.fullmatch(r"\s*(\d+):([0-9a-f]{64})\s*", text or "")
        if not match:
            raise ValueError("a checkpoint is COUNT:HASH (64 hexadecimal digits)")
        return cls(int(match.group(1)), match.group(2))


class Broken(NamedTuple):
    """Where the chain breaks: the entry (None when the entries are missing) and why:
    "prev_hash" (an entry removed or moved), "hash" (an entry changed or forged without the
    key), "unsealed" (old-style entries no keyed entry follows), "checkpoint" (the entry at
    a checkpoint's position is another one: the newest were removed, others appended),
    "truncated" (fewer entries than a checkpoint saw)."""

    entry_id: int | None
    reason: str
    checkpoint: Checkpoint | None = None


class Verification(NamedTuple):
    broken: Broken | None
    head: Checkpoint | None  # the checkpoint to keep, when the chain is intact


def check(*checkpoints):
    """Walk the whole chain in order, and hold it against earlier checkpoints."""
    expected_prev, count, keyed = GENESIS, 0, False
    for entry in AuditEntry.select().order_by(AuditEntry.id).iterator():
        count += 1
        if entry.prev_hash != expected_prev:
            return Verification(Broken(entry.id, "prev_hash"), None)
        if entry.hash == _digest(entry):
            keyed = True
        elif keyed or entry.hash != _legacy_digest(entry):  # old-style entries only come first
            return Verification(Broken(entry.id, "hash"), None)
        for checkpoint in checkpoints:
            if checkpoint.count == count and checkpoint.head != entry.hash:
                return Verification(Broken(entry.id, "checkpoint", checkpoint), None)
        expected_prev = entry.hash
    if count and not keyed:
        return Verification(Broken(None, "unsealed"), None)
    for checkpoint in checkpoints:
        if checkpoint.count > count:
            return Verification(Broken(None, "truncated", checkpoint), None)
    return Verification(None, Checkpoint(count, expected_prev))


def verify(*checkpoints):
    """None when the chain is intact, else the `Broken` link (entry id, reason)."""
    return check(*checkpoints).broken


def checkpoint_path():
    """Where `audit-verify` keeps the last checkpoint: outside the database, by default
    `instance/audit-checkpoint` (AUDIT_CHECKPOINT)."""
    return Path(
        current_app.config.get("AUDIT_CHECKPOINT") or Path(current_app.instance_path) / "audit-checkpoint"
    )


def read_checkpoint(path):
    """The checkpoint kept at `path`, None when there is none yet; ValueError when unreadable."""
    try:
        return Checkpoint.parse(Path(path).read_text())
    except FileNotFoundError:
        return None


def write_checkpoint(path, checkpoint):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".new")
    partial.write_text(f"{checkpoint}\n")
    os.replace(partial, path)  # never a half-written checkpoint
