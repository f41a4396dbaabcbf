"""A backup of the portal as one file, and its restoration (`flask backup`, `flask restore`).

The file is a gzip-compressed tar archive holding:
- `manifest.json`: what the archive is (format, version, engine, date, the files it holds, and
  `schema`: the migrations the database had seen, so that a release refuses a backup of a
  later one instead of running on a schema it does not know);
- `database.sqlite3` (SQLite, copied through the online backup API: one consistent state even
  while the app writes) or `database.pgdump` (PostgreSQL, `pg_dump --format=custom`: one
  snapshot of the configured database);
- `receipt-key.pem` and `receipt-cert.pem`: the portal's signing identity (services/signing),
  when it exists; the receipts are signed with it and new ones must be too.

Attachments, receipts and letters live in the database (blob columns): the dump holds them.
What the archive does not hold: SECRET_KEY, which is configuration (the encrypted columns,
the audit chain's HMACs and the links in mails depend on it: keep it with the configuration,
never with the backups), and the audit checkpoint, which must stay outside the data it
vouches for (restore removes it: the restored chain is shorter than the one it saw).

A restore goes into an empty database (the schema may exist, with no row: `init-db` on a new
database leaves it so); over a database that holds rows, only with `force`.
"""

import contextlib
import glob
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from pathlib import Path

from flask_babel import lazy_gettext as _l
from peewee import SqliteDatabase

import clock
from models import MODELS, db
from services import DomainError, audit, signing

FORMAT = "espace-pro-backup"
VERSION = 1
MANIFEST = "manifest.json"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
IDENTITY = ("receipt-key.pem", "receipt-cert.pem")
LIBPQ_VARIABLES = (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD"))
# What a damaged, truncated or foreign file makes tarfile, gzip and json raise.
UNREADABLE = (
    OSError,
    EOFError,
    zlib.error,
    tarfile.TarError,
    KeyError,
    TypeError,
    AttributeError,
    ValueError,
)


class BackupRefused(DomainError):
    message = _l("Sauvegarde impossible.")


class UnwritableOutput(BackupRefused):
    message = _l("Impossible d'écrire la sauvegarde à cet endroit.")


class ToolMissing(BackupRefused):
    message = _l(
        "%(tool)s introuvable : installez le client PostgreSQL (paquet postgresql-client) de la version "
        "du serveur ou plus récente."
    )


class ToolFailed(BackupRefused):
    message = _l("%(tool)s a échoué : %(error)s")


class UnreadableBackup(BackupRefused):
    message = _l("Ce fichier n'est pas une sauvegarde d'Espace Pro lisible : %(error)s")


class WrongEngine(BackupRefused):
    message = _l("Cette sauvegarde est d'une base %(archive)s ; DATABASE_URL désigne une base %(target)s.")


class NewerBackup(BackupRefused):
    message = _l(
        "Cette sauvegarde vient d'une version plus récente d'Espace Pro (migrations %(versions)s) : "
        "restaurez-la avec cette version ou une plus récente."
    )


class DatabaseNotEmpty(BackupRefused):
    message = _l(
        "La base de données contient déjà des données (%(table)s) : la restauration les remplacerait "
        "toutes. Restaurez dans une base vide, ou ajoutez --force pour les remplacer."
    )


class OtherIdentity(BackupRefused):
    message = _l(
        "%(path)s existe et diffère de la clé de signature des accusés de réception de la sauvegarde : "
        "ajoutez --force pour la remplacer."
    )


def _refusal(cls, **values):
    return cls(str(cls.message) % values)


def engine():
    return "sqlite" if isinstance(db.obj, SqliteDatabase) else "postgresql"


# --- Backup ----------------------------------------------------------------------------------


def backup(out):
    """Write the backup archive to `out` (replaced whole at the end: a failed backup leaves
    no half file); returns the manifest."""
    out = Path(out)
    if out.is_dir() or not os.access(out.parent, os.W_OK):
        raise UnwritableOutput()
    # The dump is made beside the archive: on its file system, which has room for it.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".espace-backup-") as work:
        dump = Path(work) / DUMPS[engine()]
        (_dump_sqlite if engine() == "sqlite" else _dump_postgresql)(dump)
        identity = all(path.exists() for path in signing.paths())
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "engine": engine(),
            "created_at": clock.now().isoformat(),
            "database": dump.name,
            "files": list(IDENTITY) if identity else [],
            "schema": _schema(),
        }
        partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
        try:
            # Readable by its owner only: it holds every person's data and the signing key.
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as file, tarfile.open(fileobj=file, mode="w:gz") as archive:
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
                archive.add(dump, arcname=dump.name)
                if identity:
                    for name, path in zip(IDENTITY, signing.paths(), strict=True):
                        archive.add(path, arcname=name)
            os.replace(partial, out)
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise UnwritableOutput() from None
    return manifest


def _schema():
    """The versions of the migrations the database has seen (migrations.py's table)."""
    if "schema_migration" not in db.get_tables():
        return []
    return [version for (version,) in db.execute_sql("SELECT version FROM schema_migration ORDER BY version")]


def _add_bytes(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(clock.timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def _dump_sqlite(target):
    """SQLite's online backup: the pages of one read transaction, whatever writes meanwhile.
    Read-only: a wrong path is refused, not backed up as a new empty database."""
    try:
        source = sqlite3.connect(_read_only(db.obj.database), uri=True)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
    except sqlite3.Error as error:
        raise _refusal(ToolFailed, tool="SQLite", error=f"{db.obj.database}: {error}") from None


def _read_only(path):
    return Path(path).resolve().as_uri() + "?mode=ro"


def _dump_postgresql(target):
    _run("pg_dump", "--format=custom", "--file", str(target))


# --- PostgreSQL's tools ----------------------------------------------------------------------


def find_tool(name):
    """`name` on PATH, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: [int(part) for part in Path(path).parent.parent.name.split(".") if part.isdigit()],
    )
    if not candidates:
        raise _refusal(ToolMissing, tool=name)
    return candidates[-1]


def _environment():
    """The configured database as libpq's environment: never a password on a command line,
    which any user of the machine can read in the process list."""
    params = db.obj.connect_params
    environment = dict(os.environ, PGDATABASE=db.obj.database)
    for key, variable in LIBPQ_VARIABLES:
        if params.get(key) is not None:
            environment[variable] = str(params[key])
    return environment


def _run(tool, *arguments):
    done = subprocess.run(
        [find_tool(tool), *arguments], env=_environment(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise _refusal(ToolFailed, tool=tool, error=lines[-1] if lines else done.returncode)
    return done.stdout


# --- Restore ---------------------------------------------------------------------------------


def restore(path, known, force=False):
    """Replace the database's content (and the signing identity) with the backup at `path`.
    Everything is checked before anything changes: the archive, that it holds no migration
    beyond `known` (this release's), its database file, that the database is empty (or
    `force`). Returns the manifest."""
    with tempfile.TemporaryDirectory() as work:
        manifest = _extract(path, Path(work))
        if manifest["engine"] != engine():
            raise _refusal(WrongEngine, archive=manifest["engine"], target=engine())
        if newer := sorted(set(manifest.get("schema", ())) - set(known)):
            raise _refusal(NewerBackup, versions=", ".join(newer))
        dump = Path(work) / manifest["database"]
        (_check_sqlite if engine() == "sqlite" else _check_postgresql)(dump)
        saved = None
        if manifest["files"]:
            saved = signing.Identity(*((Path(work) / name).read_bytes() for name in IDENTITY))
        if not force:
            _check_empty()
            if saved:
                for path, data in zip(signing.paths(), saved, strict=True):
                    if path.exists() and path.read_bytes() != data:
                        raise _refusal(OtherIdentity, path=path)
        if not db.is_closed():
            db.close()
        (_load_sqlite if engine() == "sqlite" else _load_postgresql)(dump)
        if saved:
            signing.put_identity(saved)
        with contextlib.suppress(FileNotFoundError):
            audit.checkpoint_path().unlink()
    return manifest


def _extract(path, work):
    try:
        with tarfile.open(path, "r:gz") as archive:
            manifest = json.loads(archive.extractfile(MANIFEST).read())
            if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
                raise ValueError(f"{manifest.get('format')} {manifest.get('version')}")
            expected = {MANIFEST, manifest["database"], *manifest["files"]}
            if manifest["database"] != DUMPS.get(manifest["engine"]) or manifest["files"] not in (
                [],
                list(IDENTITY),
            ):
                raise ValueError(manifest["database"])
            # Absent from the backups made before it was written down.
            schema = manifest.get("schema", [])
            if not isinstance(schema, list) or not all(isinstance(version, str) for version in schema):
                raise ValueError("schema")
            members = {member.name: member for member in archive.getmembers()}
            if set(members) != expected or not all(members[name].isfile() for name in expected):
                raise ValueError(", ".join(sorted(set(members) ^ expected)) or "members")
            for name in expected - {MANIFEST}:
                archive.extract(members[name], work, filter="data")
    except FileNotFoundError:
        raise _refusal(UnreadableBackup, error=_l("fichier introuvable")) from None
    except UNREADABLE as error:
        raise _refusal(UnreadableBackup, error=error) from None
    return manifest


def _check_sqlite(dump):
    try:
        connection = sqlite3.connect(_read_only(dump), uri=True)
        try:
            (result,) = connection.execute("PRAGMA integrity_check").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise _refusal(UnreadableBackup, error=error) from None
    if result != "ok":
        raise _refusal(UnreadableBackup, error=result)


def _check_postgresql(dump):
    try:
        _run("pg_restore", "--list", str(dump))
    except ToolFailed as failed:
        raise _refusal(UnreadableBackup, error=failed.message) from None


def _check_empty():
    """Refuse when a table of the portal holds a row (an empty schema is empty)."""
    existing = set(db.get_tables())
    for model in MODELS:
        if model._meta.table_name in existing and model.select().exists():
            raise _refusal(DatabaseNotEmpty, table=model._meta.table_name)


def _load_sqlite(dump):
    """The backup's pages written over the database, in one transaction of SQLite's."""
    try:
        source = sqlite3.connect(_read_only(dump), uri=True)
        target = sqlite3.connect(db.obj.database, timeout=5)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    except sqlite3.Error as error:
        raise _refusal(ToolFailed, tool="SQLite", error=f"{db.obj.database}: {error}") from None


def _load_postgresql(dump):
    _run(
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-acl",  # the roles of the machine restored to may not be those of the one backed up
        "--single-transaction",
        "--dbname",
        db.obj.database,
        str(dump),
    )
