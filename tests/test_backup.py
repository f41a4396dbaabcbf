"""`flask backup --out FILE` and `flask restore FILE`: a backup restored into an empty database
(a second SQLite file, or a second PostgreSQL database of the same cluster) holds every row of
every table, the audit chain still verifies and the receipts still verify with the restored
signing key; refusals say why, exit 1 and change nothing."""

import io
import json
import tarfile
import threading
import uuid
from contextlib import contextmanager

import pytest

import factories
import migrations
from migrations import upgrade
from models import MODELS, AuditEntry, OutboxMail, Receipt, db
from services import audit, receipts, signing, submission

pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def filled(app, clock):
    """A space with members, a mandate given to a fiduciary, a signed dossier with its file and
    receipt, mails in the outbox and audit entries."""
    factories.procedure()
    holder, _fiduciary, _mandate = factories.fiduciary_and_client()
    factories.member(holder.space, factories.user("marc", first_name="Marc"), role="manager")
    dossier = factories.signable_dossier(holder.space)
    submission.submit(holder, holder.user, dossier.id, dossier.version, factories.otp(), "127.0.0.1")
    factories.outbox_mail(subject="Une autre nouvelle")
    audit.record("test.backup", space_id=holder.space.id, note="avant la sauvegarde")
    assert Receipt.select().count() == 1 and OutboxMail.select().count() >= 2
    return holder


def comparable(row):
    return tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)


def rows():
    """Every row of every table, by table, in a comparable form (blobs as bytes)."""
    return {
        model._meta.table_name: sorted(
            (
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in model.select().tuples()
            ),
            key=repr,
        )
        for model in MODELS
    }


@pytest.fixture
def second_database(database_url, tmp_path):
    """The URL of a new, empty database beside the test's one."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"espace_restore_{uuid.uuid4().hex[:8]}"
    db.execute_sql(f'CREATE DATABASE "{name}"')
    yield database_url.rsplit("/", 1)[0] + "/" + name
    db.execute_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def elsewhere(second_database, tmp_path, make_app):
    """Opens an app on the second database, with signing identity files of its own (none
    yet), as a new machine after a disaster; the test's database comes back afterwards."""

    @contextmanager
    def opened():
        previous = db.obj
        other = make_app(
            second_database,
            AUDIT_CHECKPOINT=str(tmp_path / "other-checkpoint"),
            RECEIPT_KEY_FILE=str(tmp_path / "other" / "receipt-key.pem"),
            RECEIPT_CERT_FILE=str(tmp_path / "other" / "receipt-cert.pem"),
        )
        try:
            with other.app_context(), other.test_request_context():
                yield other
                if not db.is_closed():
                    db.close()
        finally:
            db.initialize(previous)

    return opened


def backed_up(runner, tmp_path):
    out = tmp_path / "espace-pro.tar.gz"
    result = runner.invoke(args=["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert out.stat().st_mode & 0o777 == 0o600
    assert [path.name for path in out.parent.iterdir() if path.name.startswith(".")] == []
    return out


@pytest.mark.parametrize("schema", [False, True], ids=["empty", "after-init-db"])
def test_a_backup_restored_into_an_empty_database_holds_every_row(
    app, runner, filled, tmp_path, elsewhere, schema
):
    before = rows()
    key_and_cert = [path.read_bytes() for path in signing.paths()]
    receipt = bytes(Receipt.get().pdf)
    out = backed_up(runner, tmp_path)
    with tarfile.open(out) as archive:
        names = set(archive.getnames())
    assert names >= {"manifest.json", "receipt-key.pem", "receipt-cert.pem"}

    with elsewhere() as other:
        if schema:
            upgrade()
        result = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert result.exit_code == 0, result.output
        assert "init-db" in result.output
        after = rows()
        assert {table: len(found) for table, found in after.items()} == {
            table: len(found) for table, found in before.items()
        }
        assert after == before
        broken, head = audit.check()
        assert broken is None and head.count == AuditEntry.select().count() > 0
        assert [path.read_bytes() for path in signing.paths()] == key_and_cert
        assert receipts.verify(receipt) is True


def with_manifest(out, change):
    """A copy of the backup `out` whose manifest `change` (a function of the dict) rewrote."""
    changed = out.with_name("changed.tar.gz")
    with tarfile.open(out) as source, tarfile.open(changed, "w:gz") as archive:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return changed


def test_the_backup_names_its_schema_and_a_later_releases_is_refused(
    app, runner, filled, tmp_path, elsewhere
):
    out = backed_up(runner, tmp_path)
    with tarfile.open(out) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())
    assert manifest["schema"] == sorted(migrations.versions())

    later = with_manifest(out, lambda manifest: manifest["schema"].append("9003"))
    with elsewhere() as other:
        upgrade()  # a new machine's database after init-db: this release's schema, no row
        before = rows()
        result = other.test_cli_runner().invoke(args=["restore", str(later)])
        assert result.exit_code == 1
        assert "vient d'une version plus récente d'Espace Pro (migrations 9003)" in result.output
        assert rows() == before
        assert not any(path.exists() for path in signing.paths())  # the signing key is not placed

        # A backup made before the manifest named its schema restores as it did.
        earlier = with_manifest(out, lambda manifest: manifest.pop("schema"))
        result = other.test_cli_runner().invoke(args=["restore", str(earlier)])
        assert result.exit_code == 0, result.output
        assert Receipt.select().count() == 1


def test_a_backup_made_while_the_app_writes_holds_one_consistent_state(
    app, runner, filled, tmp_path, elsewhere
):
    """Audit entries appended all along the backup, each chained to the one before: the
    restored chain is whole, up to where the copy was taken."""
    stop, written = threading.Event(), []

    def append_entries():
        with app.app_context():
            db.connect(reuse_if_open=True)
            try:
                while not stop.is_set():
                    audit.record("test.during_backup", number=len(written))
                    written.append(1)
            finally:
                db.close()

    writer = threading.Thread(target=append_entries)
    writer.start()
    try:
        out = backed_up(runner, tmp_path)
    finally:
        stop.set()
        writer.join(30)
    assert written
    with elsewhere() as other:
        assert other.test_cli_runner().invoke(args=["restore", str(out)]).exit_code == 0
        broken, head = audit.check()
        assert broken is None and head.count == AuditEntry.select().count()
        assert AuditEntry.select().where(AuditEntry.action == "test.during_backup").count() <= len(written)


def test_over_a_database_that_holds_data_restore_refuses_unless_forced(app, runner, filled, tmp_path):
    out = backed_up(runner, tmp_path)
    before = rows()
    factories.outbox_mail(subject="Après la sauvegarde")
    assert runner.invoke(args=["audit-verify"]).exit_code == 0
    changed = rows()

    result = runner.invoke(args=["restore", str(out)])
    assert result.exit_code == 1
    assert "contient déjà des données" in result.output and "--force" in result.output
    assert rows() == changed

    result = runner.invoke(args=["restore", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert rows() == before
    # The checkpoint saw entries the restored chain may lack: audit-verify sets a new one.
    assert not audit.checkpoint_path().exists()
    assert runner.invoke(args=["audit-verify"]).exit_code == 0


def test_a_backup_that_cannot_be_written_is_refused(app, runner, filled, tmp_path):
    for out in (tmp_path / "missing" / "espace-pro.tar.gz", tmp_path):
        result = runner.invoke(args=["backup", "--out", str(out)])
        assert result.exit_code == 1
        assert "Impossible d'écrire la sauvegarde" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_missing_or_damaged_file_is_refused_and_nothing_changes(app, runner, filled, tmp_path):
    whole = backed_up(runner, tmp_path).read_bytes()
    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as archive:
        archive.add(tmp_path / "espace-pro.tar.gz", arcname="something.txt")
    damaged = {
        "garbage": b"not a backup at all",
        "truncated": whole[: len(whole) // 2],
        "foreign": foreign.read_bytes(),
    }
    before = rows()
    for name, content in damaged.items():
        path = tmp_path / f"{name}.tar.gz"
        path.write_bytes(content)
        result = runner.invoke(args=["restore", str(path), "--force"])
        assert result.exit_code == 1, name
        assert "n'est pas une sauvegarde d'Espace Pro lisible" in result.output, name
        assert rows() == before
    result = runner.invoke(args=["restore", str(tmp_path / "nowhere.tar.gz")])
    assert result.exit_code == 1
    assert "fichier introuvable" in result.output
    assert rows() == before


def test_a_database_that_is_not_there_is_not_backed_up_as_an_empty_one(app, database_url, tmp_path, make_app):
    missing = tmp_path / "nowhere" / "espace-pro.db"
    if database_url.startswith("postgresql"):
        url = database_url.rsplit("/", 1)[0] + "/espace_nowhere"
    else:
        url = f"sqlite:///{missing}"
    previous = db.obj
    try:
        other = make_app(url)
        with other.app_context():
            result = other.test_cli_runner().invoke(args=["backup", "--out", str(tmp_path / "b.tar.gz")])
    finally:
        db.initialize(previous)
    assert result.exit_code == 1
    assert "a échoué" in result.output
    assert not missing.exists() and not (tmp_path / "b.tar.gz").exists()


def test_another_signing_key_in_place_is_kept_unless_forced(app, runner, filled, tmp_path, elsewhere):
    out = backed_up(runner, tmp_path)
    saved = [path.read_bytes() for path in signing.paths()]
    with elsewhere() as other:
        signing.put_identity(signing.new_identity())
        own = [path.read_bytes() for path in signing.paths()]
        result = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert result.exit_code == 1
        assert "diffère de la clé de signature" in result.output
        assert [path.read_bytes() for path in signing.paths()] == own
        assert db.get_tables() == []  # nothing restored
        assert other.test_cli_runner().invoke(args=["restore", str(out), "--force"]).exit_code == 0
        assert [path.read_bytes() for path in signing.paths()] == saved
