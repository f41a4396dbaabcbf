"""The schema and its versioned migrations (`flask init-db`).

A fresh database gets the current schema from the models and is stamped with every
migration; an existing one (a pilot's) gets the migrations it has not seen yet, in order.
Add a migration by appending `(version, description, function)` to MIGRATIONS, where the
function takes a `playhouse.migrate` migrator, and change the model in models.py alike.
Data migrations may use the services: this module stands above them, beside the CLI.
"""

import click
from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from peewee import CharField, DateTimeField, Model, PostgresqlDatabase
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate

import clock
from models import MODELS, db
from services import DomainError


class SchemaMigration(Model):
    version = CharField(max_length=32, primary_key=True)
    description = CharField(max_length=200)
    applied_at = DateTimeField(default=clock.now)

    class Meta:
        database = db
        table_name = "schema_migration"


# (version, description, function(migrator)). Versions sort as strings: keep the 4 digits.
def _add_space_terms_version(migrator):
    from models import User

    return [migrator.add_column("user", "space_terms_version", User.space_terms_version)]


def _add_agent_second_factor(migrator):
    from models import Agent

    return _missing_columns(migrator, Agent, "totp_secret_encrypted", "last_otp_step", "enrolled_at")


def _missing_columns(migrator, model, *names):
    """add_column for those of `names` the table lacks: a table that a newer release created
    in this very upgrade (create_tables above) already has them."""
    table = model._meta.table_name
    present = {column.name for column in migrator.database.get_columns(table)}
    fields = [model._meta.fields[name] for name in names]
    return [
        migrator.add_column(table, field.column_name, field)
        for field in fields
        if field.column_name not in present
    ]


def _back_office_roles(migrator):
    """Agents get a role (the helpdesk has no administration), letters the administration
    whose queue they are in (those queued before stay in the portal's own queue, which the
    helpdesk prints), and administrations, services and procedures can be deactivated."""
    from models import Administration, Agent, Letter, Procedure, Service

    operations = _missing_columns(migrator, Agent, "role") + _missing_columns(
        migrator, Letter, "administration"
    )
    for model in (Administration, Service, Procedure):
        operations += _missing_columns(migrator, model, "active")
    operations += _missing_columns(migrator, Procedure, "uploaded_at")
    administration = next(c for c in migrator.database.get_columns("agent") if c.name == "administration_id")
    if not administration.null:
        operations.append(migrator.drop_not_null("agent", "administration_id"))
    return operations


def _impots_onboarding(migrator):
    """The impots way in: the company register, pending signups and adhesions are new
    tables (created above); services say what adhering to them asks, an expert's space has
    a numéro d'abonné, and a certification may come from an adhesion."""
    from models import Certification, Service, Space

    operations = _missing_columns(migrator, Service, "requires_company_email", "requires_bank_account")
    operations += _missing_columns(migrator, Space, "subscriber_number")
    operations += _missing_columns(migrator, Certification, "adhesion")
    return operations  # add_column indexes a unique or foreign-key column itself


def _languages(migrator):
    """Three languages: a person's and an agent's chosen language (their mails and letters),
    a letter's language, an administration's language for its letters to companies, a contact
    request's language (its answer's), and the catalogue's German and English texts."""
    from models import Administration, Agent, ContactRequest, Letter, NewsItem, Service, User

    operations = _missing_columns(migrator, User, "language") + _missing_columns(migrator, Agent, "language")
    operations += _missing_columns(migrator, Letter, "language")
    operations += _missing_columns(migrator, ContactRequest, "language")
    operations += _missing_columns(migrator, Administration, "letter_language", "translations")
    operations += _missing_columns(migrator, Service, "translations")
    operations += _missing_columns(migrator, NewsItem, "translations")
    return operations


def _clean_stored_input(migrator):
    """Data only. Control characters out of the wizard drafts (they were accepted once, and a
    NUL made the space's creation fail on PostgreSQL); the bodies of the mails already sent
    erased; the audit entries hashed before the chain was keyed sealed by a keyed entry."""
    from models import SpaceDraft
    from services import audit, mail
    from validators import one_line

    for draft in SpaceDraft.select(
        SpaceDraft.id, SpaceDraft.data
    ):  # the columns of this release only  # every value of a draft is single-line
        data = {
            key: one_line(value) if isinstance(value, str) else value for key, value in draft.data.items()
        }
        if data != draft.data:
            SpaceDraft.update(data=data).where(SpaceDraft.id == draft.id).execute()
    mail.erase_sent_bodies()
    audit.seal_legacy_entries()
    return []


# The columns a mandate copied from its access code. Those updated after the grant (redemption,
# revocation, a merge) name the code's column they are carried to; the others (None) were
# written once from the same values as the code's.
MANDATE_COPIES = {
    "mandant_space_id": "issued_by_space_id",
    "mandatary_space_id": "redeemed_in_id",
    "redeemed_at": "redeemed_at",
    "revoked_at": "revoked_at",
    "service_id": None,
    "company_identifier": None,
    "company_name": None,
    "created_at": None,
    "activation_deadline": None,
    "ends_at": None,
}


def _mandate_through_its_code(migrator):
    """A mandate keeps only its own facts and reads the rest through its access code, and a
    certification finds its mandate through its code. Both copies were written together, so
    the code already holds them; what a code would lack (never seen) is taken from its
    mandate first, and a certification without its code gets its mandate's."""
    database = migrator.database
    present = {column.name for column in database.get_columns("mandate")}
    operations = []
    if "mandate_id" in {column.name for column in database.get_columns("certification")}:
        database.execute_sql(
            'UPDATE "certification" SET "access_code_id" = '
            '(SELECT "m"."access_code_id" FROM "mandate" AS "m" '
            'WHERE "m"."id" = "certification"."mandate_id") '
            'WHERE "access_code_id" IS NULL AND "mandate_id" IS NOT NULL'
        )
        operations.append(_drop_column(migrator, "certification", "mandate_id"))
    kept = {old: new for old, new in MANDATE_COPIES.items() if new and old in present}
    if kept:
        database.execute_sql(
            'UPDATE "access_code" SET '
            + ", ".join(
                f'"{new}" = COALESCE("{new}", (SELECT "m"."{old}" FROM "mandate" AS "m" '
                f'WHERE "m"."access_code_id" = "access_code"."id"))'
                for old, new in kept.items()
            )
            + ' WHERE "id" IN (SELECT "access_code_id" FROM "mandate")'
        )
    operations += [_drop_column(migrator, "mandate", name) for name in MANDATE_COPIES if name in present]
    return operations


def _drop_column(migrator, table, name):
    """SQLite drops a column that has a foreign key or an index only by rebuilding the table."""
    if isinstance(migrator, SqliteMigrator):
        return migrator.drop_column(table, name, legacy=True)
    return migrator.drop_column(table, name)


def _list_indexes(migrator):
    """Indexes for the space pages' lists and totals: a space's dossiers in their list's
    order with what their visibility reads, its certifications that ended, its proxy
    certifications in their list's order. Created where missing (the tables this very
    upgrade made from the models have them)."""
    from models import Certification, Dossier

    for model in (Dossier, Certification):
        model._schema.create_indexes(safe=True)
    return []


MIGRATIONS = [
    ("0001", "user.space_terms_version (CGU of the spaces)", _add_space_terms_version),
    ("0002", "agent second factor (TOTP secret, last step, enrolment)", _add_agent_second_factor),
    (
        "0003",
        "control characters out of drafts, sent mails' bodies erased, audit chain keyed",
        _clean_stored_input,
    ),
    (
        "0004",
        "a mandate reads service, company, deadlines, redemption and revocation through its access code",
        _mandate_through_its_code,
    ),
    (
        "0005",
        "back-office: agent roles (helpdesk), letters per administration, deactivation, uploaded procedures",
        _back_office_roles,
    ),
    (
        "0006",
        "impots onboarding: company register, signups, adhesions, subscriber numbers",
        _impots_onboarding,
    ),
    ("0007", "languages: people's, agents', letters', contact requests', the catalogue's texts", _languages),
    ("0008", "indexes of the space pages' lists and totals: dossiers, certifications", _list_indexes),
]


def versions():
    """The versions of the migrations this release knows."""
    return frozenset(version for version, _, _ in MIGRATIONS)


class NewerSchema(DomainError):
    """The database was upgraded by a later release than this one (a release rolled back, or
    a backup of a later release): this code would misread it."""

    message = _l(
        "Cette base de données a été mise à jour par une version plus récente d'Espace Pro (migrations "
        "%(versions)s) : installez cette version ou une plus récente."
    )


def newer_than_this_release(applied):
    """The versions among `applied` (a database's migrations) that this release does not know."""
    return sorted(set(applied) - versions())


def migrator_for(database):
    if isinstance(database, PostgresqlDatabase):
        return PostgresqlMigrator(database)
    return SqliteMigrator(database)


def upgrade():
    """Bring the schema up to date; returns the versions applied. Safe to run again."""
    database = db.obj
    sqlite = not isinstance(database, PostgresqlDatabase)
    if sqlite:
        # SQLite changes a column by rebuilding its table, and dropping the old table would
        # fire the ON DELETE actions of every table that refers to it (agents, services and
        # sessions gone with their administration's rebuild): foreign keys are off during
        # the upgrade (it cannot be switched inside a transaction) and checked before commit.
        database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        return _upgrade(database, sqlite)
    finally:
        if sqlite:
            database.execute_sql("PRAGMA foreign_keys = ON")


def _upgrade(database, sqlite):
    applied = []
    with database.atomic():
        fresh = not database.table_exists(SchemaMigration._meta.table_name)
        database.create_tables([SchemaMigration], safe=True)
        if fresh:
            database.create_tables(MODELS, safe=True)
            for version, description, _ in MIGRATIONS:
                SchemaMigration.create(version=version, description=description)
            return ["schema"] if MIGRATIONS or MODELS else []
        done = {m.version for m in SchemaMigration.select(SchemaMigration.version)}
        if newer := newer_than_this_release(done):
            raise NewerSchema(str(NewerSchema.message) % {"versions": ", ".join(newer)})
        # Tables added by a newer release than the database: created as they are now. The
        # tables it has are left to the migrations (their new columns and indexes among them).
        database.create_tables([model for model in MODELS if not model.table_exists()])
        migrator = migrator_for(database)
        for version, description, function in sorted(MIGRATIONS, key=lambda m: m[0]):
            if version in done:
                continue
            migrate(*function(migrator))
            SchemaMigration.create(version=version, description=description)
            applied.append(version)
        if sqlite and database.execute_sql("PRAGMA foreign_key_check").fetchone():
            raise RuntimeError("the upgrade would leave rows referring to rows that do not exist")
    return applied


@click.command("init-db")
def init_db_command():
    """Create the schema, or upgrade an existing database in place (idempotent). A database a
    later release upgraded is refused, unchanged."""
    try:
        applied = upgrade()
    except NewerSchema as refused:
        raise click.ClickException(refused.message) from None
    where = current_app.config["DATABASE_URL"].split("@")[-1]
    if applied:
        click.echo(
            _(
                "Base de données à jour (%(migrations)s) : %(where)s",
                migrations=", ".join(applied),
                where=where,
            )
        )
    else:
        click.echo(_("Base de données déjà à jour : %(where)s", where=where))
