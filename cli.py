"""Flask CLI commands of the foundation (`flask --app app <command>`); `init-db` lives in
database.py. Later areas register their own commands next to their services."""
import click

from services import DomainError, audit, auth, catalogue, mail, spaces


@click.command("seed-demo")
def seed_demo_command():
    """Load the catalogue of administrations and services and the demo content."""
    administrations, services = catalogue.load()
    click.echo(f"Catalogue chargé : {administrations} administrations, {services} services.")


@click.command("send-mail")
def send_mail_command():
    """Send the due mails of the outbox (retries with backoff; run it from cron)."""
    sent, failed = mail.deliver_due()
    click.echo(f"{sent} envoyé(s), {failed} en échec.")
    if failed:
        raise SystemExit(1)


@click.command("audit-verify")
def audit_verify_command():
    """Check the audit log's hash chain; exit 1 at the first broken link."""
    broken = audit.verify()
    if broken:
        entry_id, reason = broken
        click.echo(f"Chaîne d'audit rompue à l'entrée {entry_id} ({reason}).", err=True)
        raise SystemExit(1)
    click.echo("Chaîne d'audit intacte.")


@click.command("unlock-account")
@click.argument("userid")
def unlock_account_command(userid):
    """Helpdesk: lift the waits and the lock after too many wrong passwords or codes."""
    count = auth.unlock(userid)
    audit.record("helpdesk.unlock_account", userid=auth.userid_key(userid))
    click.echo(f"Compte {userid} débloqué." if count else f"Aucun blocage pour {userid}.")


@click.command("set-space-limit")
@click.argument("userid")
@click.argument("limit", type=click.IntRange(min=0))
def set_space_limit_command(userid, limit):
    """Helpdesk: set how many professional spaces USERID's Token may create (default 200)."""
    try:
        spaces.set_space_limit(userid, limit)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Limite d'espaces professionnels de {userid} : {limit}.")


@click.command("restore-space")
@click.argument("space_id", type=int)
def restore_space_command(space_id):
    """Helpdesk: restore a space deleted less than 30 days ago."""
    try:
        space = spaces.restore_space(space_id)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Espace {space.id} « {space.name} » restauré.")


@click.command("purge-deleted")
def purge_deleted_command():
    """Remove for good the spaces deleted more than 30 days ago (run it daily)."""
    click.echo(f"{spaces.purge_deleted()} espace(s) supprimé(s) définitivement.")


def init_app(app):
    for command in (seed_demo_command, send_mail_command, audit_verify_command, unlock_account_command,
                    set_space_limit_command, restore_space_command, purge_deleted_command):
        app.cli.add_command(command)
