"""The audit log: append-only, each entry hashed together with the previous one's hash, so
that changing, removing or reordering an entry breaks the chain (`flask audit-verify`).

Never put passwords, codes or tokens in `details`.
"""
import hashlib
import json

from flask import has_request_context, request
from peewee import PostgresqlDatabase

from models import AuditEntry, db
from services import clock

GENESIS = "0" * 64
_CHAIN_LOCK = 7_452_001  # PostgreSQL advisory lock id serialising appends


def _digest(entry):
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
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def client_ip():
    return request.remote_addr if has_request_context() else None


def record(action, actor=None, space_id=None, ip=None, **details):
    """Append one entry. `actor` is a model with `id` and `display_name`, or None."""
    with db.atomic():
        if isinstance(db.obj, PostgresqlDatabase):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCK,))
        last = AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
        entry = AuditEntry(
            created_at=clock.now(),
            actor_id=getattr(actor, "id", None),
            actor=getattr(actor, "display_name", "") or "",
            action=action,
            space_id=space_id,
            ip=ip if ip is not None else client_ip(),
            details=details,
            prev_hash=last.hash if last else GENESIS,
        )
        entry.hash = _digest(entry)
        entry.save(force_insert=True)
        return entry


def verify():
    """Return None when the chain is intact, else (entry id, reason) of the first break."""
    expected_prev = GENESIS
    query = AuditEntry.select().order_by(AuditEntry.id)
    for entry in query.iterator():
        if entry.prev_hash != expected_prev:
            return entry.id, "prev_hash"
        if _digest(entry) != entry.hash:
            return entry.id, "hash"
        expected_prev = entry.hash
    return None
