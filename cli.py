"""Flask CLI commands (`flask --app app <command>`), thin over the services; `init-db`
is migrations.py's. What they say to people goes through gettext: French, or the language
of the environment's locale (LANG=de_DE.UTF-8, see app.select_locale)."""

import os
from contextlib import contextmanager

import click
from flask import current_app
from flask_babel import format_date, format_number, gettext as _, lazy_gettext as _l, ngettext

from migrations import init_db_command, versions
from models import AGENT_ROLES, AccessCode, Administration, Agent
from services import (
    DomainError,
    access_codes,
    agents,
    audit,
    auth,
    backup,
    catalogue,
    code_batches,
    company_imports,
    csv_files,
    drafts,
    letters,
    mail,
    mandates,
    procedures,
    scale,
    spaces,
)
from validators import LINE_CONTROL_CHARACTERS


class Line(click.ParamType):
    """A single-line value of at most `max_length` characters: what the web forms accept
    for the same column (no control character, no line break)."""

    name = "text"

    def __init__(self, max_length):
        self.max_length = max_length

    def convert(self, value, param, ctx):
        value = value.strip()
        if LINE_CONTROL_CHARACTERS.search(value):
            self.fail(_("pas de caractère de contrôle ni de saut de ligne"), param, ctx)
        if len(value) > self.max_length:
            self.fail(
                ngettext("%(num)d caractère au plus", "%(num)d caractères au plus", self.max_length),
                param,
                ctx,
            )
        return value


@contextmanager
def refusal_as_error():
    """A rule's refusal ends the command with its message and exit status 1; a file's
    refused lines are listed on stderr first ("Ligne N : …")."""
    try:
        yield
    except csv_files.LinesRefused as refused:
        for number, reasons in refused.lines:
            click.echo(
                _("Ligne %(number)s : %(reasons)s", number=number, reasons=" ".join(map(str, reasons))),
                err=True,
            )
        raise click.ClickException(str(refused.message)) from None
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None


def numbers(**counts):
    """The counts of a report formatted for the language (1 234, 1.234, 1,234)."""
    return {name: format_number(count) for name, count in counts.items()}


@click.command("seed-demo")
def seed_demo_command():
    """Load what the database lacks of the catalogue of administrations and services, of the
    company register and of the demo content; what it has stays as it is (make run calls it
    on every start). The procedures follow their files: a new one is added, a changed one
    updated."""
    administrations, services, added = catalogue.load()
    click.echo(
        _(
            "Catalogue — administrations : %(administrations)s, services : %(services)s, "
            "éléments ajoutés : %(added)s.",
            **numbers(administrations=administrations, services=services, added=added),
        )
    )
    count, added, updated = procedures.load(current_app.config["PROCEDURES_DIR"])
    click.echo(
        _(
            "Démarches : %(count)s (ajoutées : %(added)s, mises à jour : %(updated)s).",
            **numbers(count=count, added=added, updated=updated),
        )
    )
    count, added = company_imports.load_demo()
    click.echo(
        _(
            "Registre des entreprises — entreprises : %(count)s, ajoutées : %(added)s.",
            **numbers(count=count, added=added),
        )
    )


@click.command("import-companies")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(company_imports.FORMATS)),
    required=True,
    help="the file's layout",
)
@click.argument("csv_file", metavar="FILE", type=click.File("rb"))
def import_companies_command(fmt, csv_file):
    """Import companies into the register from a CSV file: the public SIRENE extract of
    establishments (INSEE's columns; head offices only) or the portal's RCS layout
    (rcs;denomination;forme_juridique;adresse;code_postal;localite;pays;email;iban;titulaire).
    Every line is checked first: if one is wrong nothing is imported (each wrong line on
    stderr, exit 1); else new companies are added and known ones updated in one transaction."""
    data = csv_file.read(company_imports.MAX_FILE_SIZE + 1)
    with refusal_as_error():
        done = company_imports.import_file(data, fmt)
    click.echo(
        _(
            "Registre des entreprises (%(format)s) — ajoutées : %(added)s, mises à jour : %(updated)s, "
            "inchangées : %(unchanged)s, établissements non siège ignorés : %(skipped)s.",
            format=fmt,
            **numbers(added=done.added, updated=done.updated, unchanged=done.unchanged, skipped=done.skipped),
        )
    )


@click.command("send-mail")
def send_mail_command():
    """Send the due mails of the outbox (retries with backoff; run it from cron)."""
    sent, failed = mail.deliver_due()
    click.echo(_("Courriels envoyés : %(sent)s, en échec : %(failed)s.", **numbers(sent=sent, failed=failed)))
    if failed:
        raise SystemExit(1)


BREAKS = {
    "prev_hash": _l(
        "Chaîne d'audit rompue à l'entrée %(id)s (prev_hash) : "
        "une entrée précédente a été supprimée ou déplacée."
    ),
    "hash": _l(
        "Chaîne d'audit rompue à l'entrée %(id)s (hash) : l'entrée a été modifiée ou réécrite sans la clé."
    ),
    "unsealed": _l(
        "Chaîne d'audit rompue (unsealed) : aucune entrée signée ne suit les entrées anciennes ; "
        "lancez « flask init-db », puis vérifiez à nouveau."
    ),
    "checkpoint": _l(
        "Chaîne d'audit rompue à l'entrée %(id)s (checkpoint) : ce n'est plus l'entrée n° %(count)s "
        "du point de contrôle %(checkpoint)s ; les dernières entrées ont été supprimées, "
        "d'autres ajoutées depuis."
    ),
    "truncated": _l(
        "Chaîne d'audit tronquée (truncated) : le point de contrôle %(checkpoint)s a vu %(count)s entrées ; "
        "les dernières ont été supprimées."
    ),
}


@click.command("audit-verify")
@click.option(
    "--expect",
    "expected",
    metavar="COUNT:HASH",
    multiple=True,
    help="a checkpoint printed by an earlier run and kept by the operator (repeatable)",
)
def audit_verify_command(expected):
    """Check the audit log's HMAC chain and that it still holds the head of the last
    checkpoint (instance/audit-checkpoint) and of each --expect; exit 1 when broken, else
    keep and print the new checkpoint."""
    path = audit.checkpoint_path()
    try:
        checkpoints = [audit.Checkpoint.parse(text) for text in expected]
        kept = audit.read_checkpoint(path)
    except ValueError as error:
        raise click.ClickException(
            _("Point de contrôle illisible (%(path)s ou --expect) : %(error)s", path=path, error=error)
        ) from None
    broken, head = audit.check(*checkpoints, *([kept] if kept else []))
    if broken:
        click.echo(
            str(BREAKS[broken.reason])
            % {
                "id": broken.entry_id,
                "checkpoint": broken.checkpoint,
                "count": broken.checkpoint and broken.checkpoint.count,
            },
            err=True,
        )
        raise SystemExit(1)
    click.echo(
        ngettext(
            "Chaîne d'audit intacte : %(num)d entrée.",
            "Chaîne d'audit intacte : %(num)d entrées.",
            head.count,
        )
    )
    try:
        audit.write_checkpoint(path, head)
    except OSError as error:
        raise click.ClickException(
            _("Point de contrôle non enregistré dans %(path)s : %(error)s", path=path, error=error)
        ) from None
    click.echo(
        _(
            "Point de contrôle (enregistré dans %(path)s ; gardez-en une copie hors du serveur pour "
            "« audit-verify --expect ») :",
            path=path,
        )
    )
    click.echo(str(head))


@click.command("unlock-account")
@click.argument("userid")
@click.option("--agent", "is_agent", is_flag=True, help="USERID is a back-office agent's identifier")
def unlock_account_command(userid, is_agent):
    """Helpdesk: lift the waits and the lock after too many wrong passwords or codes."""
    count = agents.unlock(userid) if is_agent else auth.unlock(userid)
    audit.record("helpdesk.unlock_account", userid=auth.userid_key(userid), agent=is_agent)
    click.echo(
        _("Compte %(userid)s débloqué.", userid=userid)
        if count
        else _("Aucun blocage pour %(userid)s.", userid=userid)
    )


@click.command("set-space-limit")
@click.argument("userid")
@click.argument("limit", type=click.IntRange(min=0))
def set_space_limit_command(userid, limit):
    """Helpdesk: set how many professional spaces USERID's Token may create (default 200)."""
    with refusal_as_error():
        spaces.set_space_limit(userid, limit)
    click.echo(
        _(
            "Limite d'espaces professionnels de %(userid)s : %(limit)s.",
            userid=userid,
            limit=format_number(limit),
        )
    )


@click.command("restore-space")
@click.argument("space_id", type=int)
def restore_space_command(space_id):
    """Helpdesk: restore a space deleted less than 30 days ago."""
    with refusal_as_error():
        space = spaces.restore_space(space_id)
    click.echo(_("Espace %(id)s « %(name)s » restauré.", id=space.id, name=space.name))


@click.command("purge-deleted")
def purge_deleted_command():
    """Remove for good the spaces deleted more than 30 days ago (run it daily)."""
    count = spaces.purge_deleted()
    click.echo(
        ngettext(
            "%(num)d espace supprimé définitivement.", "%(num)d espaces supprimés définitivement.", count
        )
    )


@click.command("purge-drafts")
def purge_drafts_command():
    """Warn the members of drafts unchanged for nearly six months (14 days ahead) and delete
    those whose time is up (run it daily)."""
    warned, deleted = drafts.purge_drafts()
    click.echo(
        ngettext(
            "%(num)d brouillon signalé avant suppression.",
            "%(num)d brouillons signalés avant suppression.",
            warned,
        )
    )
    click.echo(ngettext("%(num)d brouillon supprimé.", "%(num)d brouillons supprimés.", deleted))


@click.command("issue-code")
@click.option("--administration", "administration_code", required=True, help="ACD, ITM, LBR…")
@click.option("--service", "service_slug", required=True, help="fiches-retenue, sources-authentiques…")
@click.option("--company", required=True, help="RCS (B123456) or SIREN of the company")
@click.option("--kind", type=click.Choice(["holder", "proxy"]), required=True)
@click.option(
    "--activation-days",
    type=click.IntRange(*access_codes.ACTIVATION_DAYS),
    default=access_codes.DEFAULT_ACTIVATION_DAYS,
    show_default=True,
)
@click.option(
    "--valid-days",
    type=click.IntRange(*access_codes.VALID_DAYS),
    default=access_codes.DEFAULT_VALID_DAYS,
    show_default=True,
)
@click.option(
    "--name",
    "company_name",
    type=Line(AccessCode.company_name.max_length),
    default="",
    help="the company's registered name, for the letter (default: the company register's)",
)
@click.option(
    "--address",
    "address_lines",
    type=Line(200),
    multiple=True,
    help="a line of the company's registered address, for the letter (repeat for each line; "
    "default: the company register's)",
)
def issue_code_command(
    administration_code, service_slug, company, kind, activation_days, valid_days, company_name, address_lines
):
    """An administration issues an access code; the code is printed alone on the last line
    and a letter to the company (at the address the administration gives, else at the one
    the company register holds) is queued."""
    with refusal_as_error():
        access_code, code = access_codes.issue_code(
            administration_code,
            service_slug,
            company,
            kind,
            activation_days,
            valid_days,
            company_name,
            address_lines,
        )
    click.echo(
        _(
            "Code %(kind)s pour %(company)s, service %(service)s, à activer avant le %(deadline)s ; "
            "courrier en file d'attente.",
            kind=kind,
            company=access_code.company_identifier,
            service=service_slug,
            deadline=format_date(access_code.activation_deadline),
        )
    )
    click.echo(code)


@click.command("issue-codes")
@click.option("--administration", "administration_code", required=True, help="ACD, ITM, LBR…")
@click.option(
    "--csv",
    "csv_file",
    type=click.File("rb"),
    required=True,
    help="one line per company under a header: " + ";".join(code_batches.COLUMNS),
)
def issue_codes_command(administration_code, csv_file):
    """An administration issues access codes from a CSV file, as the back-office does: every
    line is checked first, and if one is wrong nothing is issued (each wrong line on stderr,
    exit 1); else every code is issued in one transaction, each with its letter queued, and
    the codes are printed on stdout as CSV (identifiant;nom;service;type;code)."""
    data = csv_file.read(code_batches.MAX_FILE_SIZE + 1)
    with refusal_as_error():
        issued = code_batches.issue_file(administration_code, data)
    click.echo(code_batches.issued_csv(issued), nl=False)
    click.echo(
        ngettext(
            "%(num)d code émis ; son courrier est en file d'attente.",
            "%(num)d codes émis ; leurs courriers sont en file d'attente.",
            len(issued),
        ),
        err=True,
    )


@click.command("letters-print")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option(
    "--administration",
    "administration_code",
    help="the queue of this administration only (without: every queue, the portal's included)",
)
def letters_print_command(out, administration_code):
    """The letters still to post, as one PDF to print (one letter a page), marked printed."""
    with refusal_as_error():
        queue = letters.EVERY_QUEUE
        if administration_code is not None:
            administration = Administration.get_or_none(Administration.code == administration_code)
            if administration is None:
                raise access_codes.UnknownAdministration(administration_code)
            queue = administration.id
        try:
            batch, pdf = letters.print_pending(queue)
        except letters.NothingToPrint:  # a daily run on a quiet day: nothing is wrong
            click.echo(_("Aucun courrier à imprimer."))
            return
    with open(out, "wb") as file:
        file.write(pdf)
    click.echo(
        ngettext(
            "%(num)d courrier dans %(file)s : n° %(ids)s.",
            "%(num)d courriers dans %(file)s : n° %(ids)s.",
            len(batch),
            file=out,
            ids=", ".join(str(letter.id) for letter in batch),
        )
    )


@click.command("letters-posted")
@click.argument(
    "letter_ids", metavar="ID…", nargs=-1, required=True, type=click.IntRange(min=1, max=2**31 - 1)
)
def letters_posted_command(letter_ids):
    """Mark letters as posted: the codes they carried are erased. Exit 1 when an id is of no
    letter of a postal queue (the others are posted all the same)."""
    posted, unknown = letters.post_by_id(letter_ids)
    click.echo(
        ngettext(
            "%(num)d courrier marqué comme posté ; son code est effacé.",
            "%(num)d courriers marqués comme postés ; leurs codes sont effacés.",
            posted,
        )
    )
    if unknown:
        click.echo(_("Aucun courrier à poster n° %(ids)s.", ids=", ".join(map(str, unknown))), err=True)
        raise SystemExit(1)


@click.command("create-agent")
@click.argument("names", metavar="[ADMINISTRATION] USERID", nargs=-1, required=True)
@click.option(
    "--role",
    type=click.Choice(AGENT_ROLES),
    default="agent",
    show_default=True,
    help="agent of ADMINISTRATION, or helpdesk (then USERID alone: the helpdesk serves every administration)",
)
@click.option("--name", type=Line(Agent.name.max_length), required=True)
@click.option("--email", type=Line(Agent.email.max_length), default="")
@click.password_option(envvar="AGENT_PASSWORD", help="or AGENT_PASSWORD in the environment")
def create_agent_command(names, role, name, email, password):
    """Create a back-office account (/back-office): `create-agent ACD lea.agent --name …` for an
    agent of an administration, `create-agent --role helpdesk helene --name …` for the helpdesk."""
    expected = 1 if role == "helpdesk" else 2
    if len(names) != expected:
        raise click.UsageError(
            _("--role helpdesk prend USERID seul.")
            if role == "helpdesk"
            else _("Indiquez ADMINISTRATION puis USERID.")
        )
    administration_code, userid = (None, *names) if role == "helpdesk" else names
    userid = Line(Agent.userid.max_length).convert(userid, None, None)
    with refusal_as_error():
        agents.create_agent(administration_code, userid, name, email, password, role=role)
    click.echo(
        _(
            "Agent %(userid)s (%(administration)s) créé.",
            userid=userid,
            administration=administration_code or "Helpdesk",
        )
    )


@click.command("send-reminders")
def send_reminders_command():
    """Mail both sides of mandates ending in 30 and in 7 days (run it daily)."""
    count = mandates.send_reminders()
    click.echo(ngettext("%(num)d rappel envoyé.", "%(num)d rappels envoyés.", count))


@click.command("backup")
@click.option(
    "--out", "out", metavar="FILE", type=click.Path(), required=True, help="the archive to write (.tar.gz)"
)
def backup_command(out):
    """Back up the whole database of DATABASE_URL, with the receipts' signing key and
    certificate, as one gzip-compressed tar archive FILE (a consistent state even while the
    app writes: SQLite's online backup, or pg_dump). SECRET_KEY is not in it: keep it with
    the configuration."""
    with refusal_as_error():
        manifest = backup.backup(out)
    click.echo(
        _("Sauvegarde de la base %(engine)s écrite dans %(file)s.", engine=manifest["engine"], file=out)
    )


@click.command("restore")
@click.argument("archive", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="replace a database that already holds data")
def restore_command(archive, force):
    """Restore a backup made by `backup` into the database of DATABASE_URL, which must hold no
    data (a new database, with or without `init-db`) unless --force; then run init-db, and
    restart the app."""
    with refusal_as_error():
        manifest = backup.restore(archive, versions(), force=force)
    click.echo(
        _(
            "Sauvegarde du %(date)s restaurée. Lancez « flask init-db » puis « flask audit-verify », "
            "et redémarrez l'application.",
            date=manifest["created_at"],
        )
    )


@click.command("load-scale")
@click.option("--mandates", type=click.IntRange(min=0), default=scale.MANDATES, show_default=True)
@click.option("--dossiers", type=click.IntRange(min=0), default=scale.DOSSIERS, show_default=True)
@click.option("--members", type=click.IntRange(min=2), default=scale.MEMBERS, show_default=True)
@click.option("--communications", type=click.IntRange(min=0), default=scale.COMMUNICATIONS, show_default=True)
@click.option(
    "--spaces",
    type=click.IntRange(1, scale.SPACES),
    default=scale.SPACES,
    show_default=True,
    help="the demo person's professional spaces, the fiduciary's included (a Token's limit at most)",
)
@click.pass_context
def load_scale_command(ctx, mandates, dossiers, members, communications, spaces):
    """Load the large demo dataset of the benchmarks (SPEC §11) into a database that lacks it,
    after seed-demo's catalogue (loaded first, as seed-demo does): a fiduciary space with
    MANDATES mandates obtained, mandates dispensés, DOSSIERS dossiers, MEMBERS members and
    COMMUNICATIONS communications (the mandants' spaces are administered by its members other
    than the demo person, hence 2 at least); its demo person admin of SPACES professional spaces; an
    agent of the ACD, enrolled. A second run on the same database is refused (exit 1).

    After the counts, the last nine lines, for scripts (`key: value`, untranslated; the agent and
    the demo person share the password):

    \b
    Space: <the fiduciary space's id>
    Dossier: <the id of its newest transmitted dossier, with its signed receipt (0: none)>
    Agent administration: ACD
    Agent UserID: agent.scale
    Agent password: <the password>
    Agent TOTP secret: <base32>
    UserID: demo.fiduciaire
    Password: <the password>
    TOTP secret: <base32>"""
    ctx.invoke(seed_demo_command)
    # The signed receipt prints the portal's address (Vérifier un accusé de réception):
    # PUBLIC_URL, else make run's.
    base_url = current_app.config.get("PUBLIC_URL") or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
    with refusal_as_error(), current_app.test_request_context(base_url=base_url):
        loaded = scale.load(mandates, dossiers, members, communications, spaces)
    click.echo(
        _(
            "Jeu de données à grande échelle — espaces de la personne de démonstration : %(spaces)s, "
            "mandats obtenus : %(mandates)s, mandats dispensés : %(granted)s, dossiers : %(dossiers)s, "
            "membres : %(members)s, communications : %(communications)s.",
            **numbers(**loaded.counts),
        )
    )
    click.echo(f"Space: {loaded.space_id}")
    click.echo(f"Dossier: {loaded.dossier_id}")
    click.echo(f"Agent administration: {loaded.agent_administration}")
    click.echo(f"Agent UserID: {loaded.agent_userid}")
    click.echo(f"Agent password: {loaded.password}")
    click.echo(f"Agent TOTP secret: {loaded.agent_totp_secret}")
    click.echo(f"UserID: {loaded.userid}")
    click.echo(f"Password: {loaded.password}")
    click.echo(f"TOTP secret: {loaded.totp_secret}")


def init_app(app):
    for command in (
        init_db_command,
        seed_demo_command,
        send_mail_command,
        audit_verify_command,
        unlock_account_command,
        set_space_limit_command,
        restore_space_command,
        purge_deleted_command,
        purge_drafts_command,
        issue_code_command,
        issue_codes_command,
        import_companies_command,
        letters_print_command,
        letters_posted_command,
        create_agent_command,
        send_reminders_command,
        backup_command,
        restore_command,
        load_scale_command,
    ):
        app.cli.add_command(command)
