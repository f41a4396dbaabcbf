"""Schema creation and versioned migrations."""
from peewee import CharField
from playhouse.migrate import migrate  # noqa: F401 - the runner's dependency

import database
from models import Administration, db


def test_init_db_twice_is_a_no_op(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "déjà à jour" in result.output
    assert database.upgrade() == []


def test_pending_migration_is_applied_once(app, monkeypatch):
    column = CharField(max_length=20, null=True)
    migration = (
        "9001",
        "administration.short_name",
        lambda m: [m.add_column("administration", "short_name", column)],
    )
    monkeypatch.setattr(database, "MIGRATIONS", database.MIGRATIONS + [migration])
    try:
        assert database.upgrade() == ["9001"]
        assert "short_name" in {c.name for c in db.get_columns("administration")}
        assert database.upgrade() == []  # applied twice: a no-op
        assert database.SchemaMigration.get_by_id("9001").description == "administration.short_name"
    finally:
        migrate(database.migrator_for(db.obj).drop_column("administration", "short_name"))
        database.SchemaMigration.delete().where(database.SchemaMigration.version == "9001").execute()
    assert Administration.select().count() == 0


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
        old.create_tables([database.SchemaMigration] + [m for m in MODELS if m.__name__ in
                          {"Administration", "Service", "NewsItem", "User", "AuthProduct", "UserSession",
                           "Throttle", "OutboxMail", "Letter", "AuditEntry"}])
        migrate(database.migrator_for(old).drop_column("user", "space_terms_version"))
        assert "space_terms_version" not in {c.name for c in old.get_columns("user")}

        assert database.upgrade() == ["0001", "0002", "0003"]  # 0002: the agent table is new, made whole
        assert "space_terms_version" in {c.name for c in old.get_columns("user")}
        assert old.table_exists(Space._meta.table_name) and old.table_exists(SpaceDraft._meta.table_name)
        assert User.select().count() == 0 and database.upgrade() == []
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
        old.create_tables([database.SchemaMigration] + [m for m in MODELS if m is not AgentSession])
        database.SchemaMigration.create(version="0001", description="user.space_terms_version")
        for column in ("totp_secret_encrypted", "last_otp_step", "enrolled_at"):
            migrate(database.migrator_for(old).drop_column("agent", column))
        administration = Admin.create(code="ALVA", name="ALVA")
        old.execute_sql(
            'INSERT INTO "agent" (administration_id, userid, userid_key, name, email, password_hash, '
            "created_at) VALUES (?, 'agent.alva', 'agent.alva', 'Agnès', '', 'x', '2026-01-01')",
            (administration.id,),
        )

        assert database.upgrade() == ["0002", "0003"]
        assert {"totp_secret_encrypted", "last_otp_step", "enrolled_at"} <= {
            c.name for c in old.get_columns("agent")
        }
        agent = Agent.get()
        assert (agent.userid, agent.totp_secret_encrypted, agent.enrolled_at) == ("agent.alva", None, None)
        assert old.table_exists(AgentSession._meta.table_name) and database.upgrade() == []
        old.close()
    finally:
        db.initialize(previous)
