"""Schema creation and versioned migrations."""

import pytest
from peewee import CharField, fn
from playhouse.migrate import migrate  # noqa: F401 - the runner's dependency

import database
import factories
import migrations
from models import Administration, Membership, Space, db


def test_init_db_twice_is_a_no_op(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "déjà à jour" in result.output
    assert migrations.upgrade() == []


def test_pending_migration_is_applied_once(app, monkeypatch):
    column = CharField(max_length=20, null=True)
    migration = (
        "9001",
        "administration.short_name",
        lambda m: [m.add_column("administration", "short_name", column)],
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS + [migration])
    try:
        assert migrations.upgrade() == ["9001"]
        assert "short_name" in {c.name for c in db.get_columns("administration")}
        assert migrations.upgrade() == []  # applied twice: a no-op
        assert migrations.SchemaMigration.get_by_id("9001").description == "administration.short_name"
    finally:
        migrate(migrations.migrator_for(db.obj).drop_column("administration", "short_name"))
        migrations.SchemaMigration.delete().where(migrations.SchemaMigration.version == "9001").execute()
    assert Administration.select().count() == 0


def test_a_database_a_later_release_upgraded_is_refused_unchanged(app, runner):
    """A release rolled back over a database the next one upgraded: init-db (which make serve
    runs first) says so and changes nothing, rather than run on a schema it does not know."""
    migrations.SchemaMigration.create(version="9002", description="a later release's")
    try:
        tables, before = set(db.get_tables()), list(migrations.SchemaMigration.select().tuples())
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 1
        assert "mise à jour par une version plus récente d'Espace Pro (migrations 9002)" in result.output
        assert set(db.get_tables()) == tables
        assert list(migrations.SchemaMigration.select().tuples()) == before
    finally:
        migrations.SchemaMigration.delete().where(migrations.SchemaMigration.version == "9002").execute()
    assert runner.invoke(args=["init-db"]).exit_code == 0


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    sqlite = database.open_database(f"sqlite:///{tmp_path / 'x.db'}")
    sqlite.connect()
    assert sqlite.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sqlite.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert sqlite.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    sqlite.close()


def test_database_urls():
    pg = database.open_database("postgresql://espace:s%40cret@db.example:5433/espace_pro")
    assert (
        pg.database,
        pg.connect_params["user"],
        pg.connect_params["password"],
        pg.connect_params["host"],
        pg.connect_params["port"],
    ) == ("espace_pro", "espace", "s@cret", "db.example", 5433)
    assert database.open_database("sqlite:///instance/x.db").database == "instance/x.db"
    assert database.open_database("sqlite:////abs/x.db").database == "/abs/x.db"


def test_a_database_of_the_previous_release_gets_the_spaces(tmp_path, app):
    """A pilot's database from before the spaces: the new tables are created and migration
    0001 adds the column the user table lacks."""
    from models import MODELS, Space, SpaceDraft, User

    old = database.open_database(f"sqlite:///{tmp_path / 'old.db'}")
    previous = db.obj
    db.initialize(old)
    try:
        old.connect()
        old.create_tables(
            [migrations.SchemaMigration]
            + [
                m
                for m in MODELS
                if m.__name__
                in {
                    "Administration",
                    "Service",
                    "NewsItem",
                    "User",
                    "AuthProduct",
                    "UserSession",
                    "Throttle",
                    "OutboxMail",
                    "Letter",
                    "AuditEntry",
                }
            ]
        )
        migrate(migrations.migrator_for(old).drop_column("user", "space_terms_version"))
        assert "space_terms_version" not in {c.name for c in old.get_columns("user")}

        assert migrations.upgrade() == [
            "0001",
            "0002",
            "0003",
            "0004",
            "0005",
            "0006",
            "0007",
            "0008",
        ]  # 0002: the agent table is new, made whole
        assert "space_terms_version" in {c.name for c in old.get_columns("user")}
        assert old.table_exists(Space._meta.table_name) and old.table_exists(SpaceDraft._meta.table_name)
        assert User.select().count() == 0 and migrations.upgrade() == []
        old.close()
    finally:
        db.initialize(previous)


def test_a_database_of_the_previous_release_gets_the_agents_second_factor(tmp_path, app):
    """A pilot's database at 0001, with agents: migration 0002 adds the agent's TOTP columns
    (existing agents enrol at their next login) and the agents' session table is created."""
    from models import MODELS, Administration as Admin, Agent, AgentSession

    old = database.open_database(f"sqlite:///{tmp_path / 'old.db'}")
    previous = db.obj
    db.initialize(old)
    try:
        old.connect()
        old.create_tables([migrations.SchemaMigration] + [m for m in MODELS if m is not AgentSession])
        migrations.SchemaMigration.create(version="0001", description="user.space_terms_version")
        for column in (
            "totp_secret_encrypted",
            "last_otp_step",
            "enrolled_at",
            "role",
            "language",
        ):  # 0005, 0007
            migrate(migrations.migrator_for(old).drop_column("agent", column))
        administration = Admin.create(code="ALVA", name="ALVA")
        old.execute_sql(
            'INSERT INTO "agent" (administration_id, userid, userid_key, name, email, password_hash, '
            "created_at) VALUES (?, 'agent.alva', 'agent.alva', 'Agnès', '', 'x', '2026-01-01')",
            (administration.id,),
        )

        assert migrations.upgrade() == ["0002", "0003", "0004", "0005", "0006", "0007", "0008"]
        assert {"totp_secret_encrypted", "last_otp_step", "enrolled_at"} <= {
            c.name for c in old.get_columns("agent")
        }
        agent = Agent.get()
        assert (agent.userid, agent.totp_secret_encrypted, agent.enrolled_at) == ("agent.alva", None, None)
        assert old.table_exists(AgentSession._meta.table_name) and migrations.upgrade() == []
        old.close()
    finally:
        db.initialize(previous)


# --- 0004: a mandate reads through its access code ---------------------------------------------


def _previous_release_models():
    """Mandate and Certification as release 0004 had them: the mandate copied its code's
    service, company, deadlines, redemption and revocation; the certification named its mandate."""
    from peewee import SQL, DateTimeField, ForeignKeyField

    from models import AccessCode, BaseModel, Letter, Service, Space, User

    class Mandate(BaseModel):
        mandant_space = ForeignKeyField(Space, backref="+", on_delete="CASCADE")
        service = ForeignKeyField(Service, backref="+", on_delete="CASCADE")
        company_identifier = CharField(max_length=20)
        company_name = CharField(max_length=200, default="")
        access_code = ForeignKeyField(AccessCode, unique=True, backref="+", on_delete="CASCADE")
        letter = ForeignKeyField(Letter, null=True, backref="+", on_delete="SET NULL")
        note = CharField(max_length=200, default="")
        granted_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
        created_at = DateTimeField()
        activation_deadline = DateTimeField()
        ends_at = DateTimeField()
        mandatary_space = ForeignKeyField(Space, null=True, backref="+", on_delete="SET NULL")
        redeemed_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)
        revoked_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
        reminded_30_at = DateTimeField(null=True)
        reminded_7_at = DateTimeField(null=True)

        class Meta:
            table_name = "mandate"
            indexes = ((("mandant_space", "created_at"), False), (("mandatary_space", "redeemed_at"), False))

    class Certification(BaseModel):
        space = ForeignKeyField(Space, backref="+", on_delete="CASCADE")
        service = ForeignKeyField(Service, backref="+", on_delete="CASCADE")
        kind = CharField(max_length=16)
        company_identifier = CharField(max_length=20, default="")
        company_name = CharField(max_length=200, default="")
        access_code = ForeignKeyField(AccessCode, null=True, backref="+", on_delete="SET NULL")
        mandate = ForeignKeyField(Mandate, null=True, backref="+", on_delete="SET NULL")
        granted_at = DateTimeField()
        ends_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)

        class Meta:
            table_name = "certification"

    Certification.add_index(
        Certification.index(
            Certification.space,
            Certification.service,
            unique=True,
            name="certification_one_holder_per_service",
        ).where(SQL("kind = 'holder' AND revoked_at IS NULL"))
    )
    return Mandate, Certification


def _models_schema(applied):
    """A database with the models' tables, and the migrations `applied(version)` accepts
    recorded as applied: the caller undoes what the others changed, as a pilot's database
    of an earlier release would be."""
    from models import MODELS

    _drop_everything()
    db.create_tables([migrations.SchemaMigration] + MODELS)
    for version, description, _ in migrations.MIGRATIONS:
        if applied(version):
            migrations.SchemaMigration.create(version=version, description=description)


def _drop_everything():
    from peewee import PostgresqlDatabase

    from models import MODELS

    db.drop_tables(
        list(reversed(MODELS)) + [migrations.SchemaMigration],
        safe=True,
        cascade=isinstance(db.obj, PostgresqlDatabase),
    )


def test_a_database_of_the_previous_release_gets_mandates_read_through_their_codes(app, clock):
    """A pilot's database at 0004 (on the suite's database: SQLite, or PostgreSQL under
    TEST_DATABASE_URL): migration 0004 keeps each mandate's own facts, reads the rest through
    its code, and a certification finds its mandate through its code."""
    from datetime import timedelta

    from peewee import IntegrityError

    import factories
    from models import MODELS, AccessCode, Certification, Letter, Mandate, Service
    from services import catalogue, mandates, spaces

    Old, OldCertification = _previous_release_models()
    now = clock.now()
    try:
        _drop_everything()
        db.create_tables(
            [migrations.SchemaMigration, Old, OldCertification]
            + [m for m in MODELS if m not in (Mandate, Certification)]
        )
        for version, description, _ in migrations.MIGRATIONS:
            if version < "0004":
                migrations.SchemaMigration.create(version=version, description=description)
        catalogue.load()
        fiches = Service.get(Service.slug == "fiches-retenue")
        lea, fred = factories.user("lea"), factories.user("fred", email="fred@example.lu")
        guichet = factories.space(lea, name="Guichet")
        fidu = factories.space(fred, name="Fiduciaire", identifier="B654321", company_name="Fiduciaire SA")
        OldCertification.create(
            space=guichet,
            service=fiches,
            kind="holder",
            company_identifier="B123456",
            company_name="Guichet SARL",
            granted_at=now,
            ends_at=now + timedelta(days=365),
        )

        def mandate(n, redeemed=False, code_revoked=False, **fields):
            """A mandate as 0004 wrote it: the facts in both tables (the code's revocation
            alone may lack, to show that the mandate's is kept)."""
            facts = {
                "service": fiches,
                "company_identifier": "B123456",
                "company_name": "Guichet SARL",
                "activation_deadline": now + timedelta(days=30),
                "ends_at": now + timedelta(days=90),
            }
            redemption = {"redeemed_at": now + timedelta(hours=1)} if redeemed else {}
            revoked_at = fields.get("revoked_at")
            code = AccessCode.create(
                code_hash=f"hash-{n}",
                kind="proxy",
                issued_by_space=guichet,
                created_at=now,
                redeemed_in=fidu if redeemed else None,
                revoked_at=revoked_at if code_revoked else None,
                **facts,
                **redemption,
            )
            return Old.create(
                mandant_space=guichet,
                access_code=code,
                granted_by=lea,
                created_at=now,
                mandatary_space=fidu if redeemed else None,
                **facts,
                **redemption,
                **fields,
            )

        letter = Letter.create(recipient_name="Fiduciaire SA", address="", subject="Mandat", body="…")
        pending = mandate(1, letter=letter, note="Fiduciaire SA")
        taken = mandate(2, redeemed=True, note="Pour Fred", reminded_30_at=now)
        revoked = mandate(3, redeemed=True, revoked_at=now + timedelta(hours=2), revoked_by=fred)
        from_taken = OldCertification.create(
            space=fidu,
            service=fiches,
            kind="proxy",
            company_identifier="B123456",
            company_name="Guichet SARL",
            access_code=taken.access_code_id,
            mandate=taken,
            granted_at=now,
            ends_at=taken.ends_at,
        )
        without_code = OldCertification.create(
            space=fidu,
            service=fiches,
            kind="proxy",
            company_identifier="B123456",
            company_name="Guichet SARL",
            mandate=revoked,
            granted_at=now,
            ends_at=revoked.ends_at,
            revoked_at=revoked.revoked_at,
        )
        administrations = AccessCode.create(
            code_hash="hash-4",
            kind="proxy",
            service=fiches,
            company_identifier="B777777",
            activation_deadline=now,
            ends_at=now + timedelta(days=90),
            redeemed_in=fidu,
            redeemed_at=now,
        )
        from_administration = OldCertification.create(
            space=fidu,
            service=fiches,
            kind="proxy",
            company_identifier="B777777",
            access_code=administrations,
            granted_at=now,
            ends_at=now + timedelta(days=90),
        )

        assert migrations.upgrade() == ["0004", "0005", "0006", "0007", "0008"]

        assert {c.name for c in db.get_columns("mandate")} == {
            "id",
            "access_code_id",
            "letter_id",
            "note",
            "granted_by_id",
            "revoked_by_id",
            "reminded_30_at",
            "reminded_7_at",
        }
        assert "mandate_id" not in {c.name for c in db.get_columns("certification")}
        # Each mandate keeps its id and its own facts, and reads the others through its code.
        rows = {m.id: m for m in Mandate.select(Mandate, AccessCode).join(AccessCode)}
        assert set(rows) == {pending.id, taken.id, revoked.id}
        assert (rows[pending.id].letter_id, rows[pending.id].note, rows[pending.id].granted_by_id) == (
            letter.id,
            "Fiduciaire SA",
            lea.id,
        )
        assert (rows[taken.id].note, rows[taken.id].reminded_30_at) == ("Pour Fred", now)
        assert rows[revoked.id].revoked_by_id == fred.id
        clock.advance(hours=3)
        assert [rows[m.id].status(clock.now()) for m in (pending, taken, revoked)] == [
            "pending",
            "active",
            "revoked",
        ]
        assert rows[revoked.id].revoked_at == now + timedelta(hours=2)  # the mandate's, now its code's
        assert (rows[taken.id].mandant_space_id, rows[taken.id].mandatary_space_id) == (guichet.id, fidu.id)
        assert (rows[taken.id].service.slug, rows[taken.id].company_name, rows[taken.id].ends_at) == (
            "fiches-retenue",
            "Guichet SARL",
            now + timedelta(days=90),
        )
        # A certification finds its mandate through its code (given the code when it lacked it).
        certifications = {c.id: c for c in Certification.select()}
        assert mandates.mandate_of_certification(certifications[from_taken.id]).id == taken.id
        assert certifications[without_code.id].access_code_id == revoked.access_code_id
        assert mandates.mandate_of_certification(certifications[without_code.id]).id == revoked.id
        assert mandates.mandate_of_certification(certifications[from_administration.id]) is None
        # The one-holder-per-service index survived the rebuild of the table.
        with pytest.raises(IntegrityError), db.atomic():
            Certification.create(space=guichet, service=fiches, kind="holder")

        # The services work on the migrated rows.
        with app.test_request_context():
            member = spaces.membership_for(lea, guichet.id)
            listed, total = mandates.mandates_granted(member)
            assert total == 3 and listed[-1].mandatary is None and listed[0].mandatary.name == "Fiduciaire"
            mandates.revoke_mandate(member, lea, taken.id)
        assert Certification.get_by_id(from_taken.id).revoked_at == clock.now()
        assert migrations.upgrade() == []
    finally:
        _drop_everything()
        migrations.upgrade()  # the suite's schema again


def test_a_database_of_the_previous_release_gets_agent_roles_and_letter_queues(app):
    """A pilot's database at 0004 (SQLite, or PostgreSQL under TEST_DATABASE_URL): migration
    0005 makes its agents `agent`s of their administration, lets a helpdesk have none, puts
    the letters already queued in the portal's own queue, and keeps everything active."""
    from peewee import PostgresqlDatabase

    from models import Administration as Admin, Agent, Letter, Procedure, Service

    try:
        _models_schema(applied=lambda version: version < "0005")
        migrator = migrations.migrator_for(db.obj)
        _undo_0007(migrator)
        _undo_0006(migrator)
        migrate(
            migrator.drop_column("agent", "role"),
            migrator.add_not_null("agent", "administration_id"),
            migrations._drop_column(migrator, "letter", "administration_id"),
            *(migrator.drop_column(table, "active") for table in ("administration", "service", "procedure")),
            migrator.drop_column("procedure", "uploaded_at"),
        )
        assert not next(c for c in db.get_columns("agent") if c.name == "administration_id").null
        db.execute_sql(
            """INSERT INTO "administration" (code, name, certification_text) VALUES ('ALVA', 'ALVA', '')"""
        )
        administration = Admin.select(Admin.id).get().id
        db.execute_sql(
            'INSERT INTO "agent" (administration_id, userid, userid_key, name, email, password_hash, '
            "created_at) VALUES (%d, 'agent.alva', 'agent.alva', 'Agnès', '', 'x', '2026-01-01')"
            % administration
        )
        db.execute_sql(
            'INSERT INTO "service" (administration_id, slug, name, description, requires_certification, '
            "accepts_code, accepts_request) VALUES (%d, 'securite', 'Sécurité', '', %s, %s, %s)"
            % (administration, *(["true"] * 3 if isinstance(db.obj, PostgresqlDatabase) else [1] * 3))
        )
        db.execute_sql(
            'INSERT INTO "letter" (recipient_name, address, subject, body, created_at) '
            "VALUES ('Léa', 'Rue 1', 'Confirmation', '…', '2026-01-01')"
        )

        assert migrations.upgrade() == ["0005", "0006", "0007", "0008"]

        # Rebuilding a table (SQLite) did not take the rows that refer to it along.
        assert Service.get().slug == "securite" and Service.get().active

        agent = Agent.get()
        assert (agent.role, agent.administration_id) == ("agent", administration)
        assert Letter.get().administration_id is None
        assert Admin.get().active
        Agent.create(role="helpdesk", userid="hd", userid_key="hd", name="Hélène", password_hash="x")
        assert Agent.get(Agent.role == "helpdesk").administration_id is None
        assert {"active"} <= {c.name for c in db.get_columns(Service._meta.table_name)}
        assert {"active", "uploaded_at"} <= {c.name for c in db.get_columns(Procedure._meta.table_name)}
        assert migrations.upgrade() == []
    finally:
        _drop_everything()
        migrations.upgrade()  # the suite's schema again


LANGUAGE_COLUMNS = (  # migration 0007's
    ("user", "language"),
    ("agent", "language"),
    ("letter", "language"),
    ("contact_request", "language"),
    ("administration", "letter_language"),
    ("administration", "translations"),
    ("service", "translations"),
    ("news_item", "translations"),
)


def _undo_0007(migrator):
    migrate(*(migrator.drop_column(table, column) for table, column in LANGUAGE_COLUMNS))


def _undo_0006(migrator):
    """The schema as 0005 left it: no impots onboarding."""
    from models import Adhesion, Company, ImpotsSignup

    migrate(migrations._drop_column(migrator, "certification", "adhesion_id"))
    db.drop_tables([Adhesion, ImpotsSignup, Company])
    migrate(
        migrator.drop_index("space", "space_subscriber_number"),
        migrator.drop_column("space", "subscriber_number"),
        migrator.drop_column("service", "requires_company_email"),
        migrator.drop_column("service", "requires_bank_account"),
    )


def test_a_database_of_the_previous_release_gets_the_impots_onboarding(app):
    """A pilot's database at 0005: migration 0006 adds the company register, signups and
    adhesions, the services' adhesion needs, the numéro d'abonné (unique) and a
    certification's adhesion, keeping every row (SQLite rebuilds no table here)."""
    from peewee import IntegrityError

    from models import Adhesion, Certification, Company, Service, Space

    try:
        _models_schema(applied=lambda version: version != "0006")
        _undo_0007(migrations.migrator_for(db.obj))
        _undo_0006(migrations.migrator_for(db.obj))
        db.execute_sql(
            """INSERT INTO "space" (kind, name, created_at, company_name, legal_form, identifier_kind, """
            "identifier, vat_number, street, postcode, city, country, company_email, phone) VALUES "
            "('professional', 'Atelier', '2026-01-01', 'Atelier', '', 'rcs', 'B123456', "
            "'', '', '', '', '', '', '')"
        )

        assert migrations.upgrade() == ["0006"]

        assert Space.get().name == "Atelier" and Space.get().subscriber_number is None
        assert {"requires_company_email", "requires_bank_account"} <= {
            c.name for c in db.get_columns(Service._meta.table_name)
        }
        assert "adhesion_id" in {c.name for c in db.get_columns(Certification._meta.table_name)}
        assert Company.table_exists() and Adhesion.table_exists()
        Space.update(subscriber_number="1234567890").execute()
        with pytest.raises(IntegrityError), db.atomic():
            Space.create(kind="professional", name="Autre", subscriber_number="1234567890")
        assert migrations.upgrade() == []
    finally:
        _drop_everything()
        migrations.upgrade()  # the suite's schema again


def test_a_database_of_the_previous_release_gets_the_languages(app):
    """A pilot's database at 0006: migration 0007 adds the languages (people's, agents',
    letters', contact requests') and the catalogue's translations, keeping every row."""
    from models import Administration as Admin, Letter, User

    try:
        _models_schema(applied=lambda version: version != "0007")
        _undo_0007(migrations.migrator_for(db.obj))
        db.execute_sql(
            """INSERT INTO "administration" (code, name, certification_text, active) """
            "VALUES ('ACD', 'ACD', '', true)"
        )
        db.execute_sql(
            """INSERT INTO "letter" (recipient_name, address, subject, body, created_at) """
            "VALUES ('Anne', 'Rue 1', 'Objet', 'Texte', '2026-01-01')"
        )

        assert migrations.upgrade() == ["0007"]

        assert Letter.get().language == "fr" and Admin.get().letter_language == "fr"
        assert Admin.get().translations == {} and User.select().count() == 0
        assert migrations.upgrade() == []
    finally:
        _drop_everything()
        migrations.upgrade()  # the suite's schema again


def test_a_prepared_query_gives_what_the_query_gives(app):
    """database.Prepared compiles once and puts each run's values in: the same rows, the
    joined model included, as the query written with those values; None when nothing matches."""
    lea, marc = factories.user("lea"), factories.user("marc")
    space = factories.space(name="Espace de Léa")
    factories.member(space, lea, role="admin")
    factories.member(space, marc)
    prepared = database.Prepared(
        Membership.select(Membership, Space)
        .join(Space)
        .where(Membership.user == database.Parameter("user"), Membership.space == database.Parameter("space"))
        .limit(1)
    )
    assert prepared.first(user=marc.id, space=space.id + 1) is None  # compiled on this first run
    for person in (lea, marc):
        member = prepared.first(user=person.id, space=space.id)
        expected = Membership.get(Membership.user == person, Membership.space == space)
        assert (member.id, member.role, member.space.name) == (expected.id, expected.role, "Espace de Léa")
    members = database.Prepared(
        Membership.select(fn.COUNT(Membership.id)).where(Membership.space == database.Parameter("space"))
    )
    assert [members.scalar(space=space.id), members.scalar(space=space.id + 1)] == [
        2,
        0,
    ]  # an aggregate's value


LIST_INDEXES = (  # migration 0008's
    ("dossier", "dossier_space_id_updated_at_id_mandate_id_mandant_space_id"),
    ("certification", "certification_space_id_revoked_at"),
    ("certification", "certification_space_id_ends_at"),
    ("certification", "certification_space_id_kind_granted_at_id"),
)


def _indexes(table):
    return {index.name for index in db.get_indexes(table)}


def test_a_fresh_database_has_the_list_indexes(app):
    for table, index in LIST_INDEXES:
        assert index in _indexes(table)


def test_a_database_of_the_previous_release_gets_the_list_indexes(app):
    """A pilot's database at 0007: migration 0008 adds the indexes of the space pages' lists,
    keeping every row."""
    from models import Administration as Admin

    try:
        _models_schema(applied=lambda version: version != "0008")
        migrate(*(migrations.migrator_for(db.obj).drop_index(table, index) for table, index in LIST_INDEXES))
        assert not any(index in _indexes(table) for table, index in LIST_INDEXES)
        Admin.create(code="ACD", name="ACD")

        assert migrations.upgrade() == ["0008"]

        for table, index in LIST_INDEXES:
            assert index in _indexes(table)
        assert Admin.get().code == "ACD"
        assert migrations.upgrade() == []
    finally:
        _drop_everything()
        migrations.upgrade()  # the suite's schema again
