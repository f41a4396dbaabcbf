"""Cron on every app machine at once: two processes each of `send-mail`, `send-reminders`,
`purge-drafts` and `purge-deleted`, started together on one database, do each thing once:
each mail is received once, each reminder and each warning queued once, each deletion
counted once across both outputs."""

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

import factories
from models import AuditEntry, Dossier, Mandate, OutboxMail, Space

pytestmark = pytest.mark.usefixtures("request_context")

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("send-mail", "send-reminders", "purge-drafts", "purge-deleted")
# Each process imports the app, says it is ready and waits for the line that starts them all:
# the commands then run at the same moment, not one process's start-up apart.
STARTER = """
import sys
from flask.cli import cli
import app
print("ready", flush=True)
sys.stdin.readline()
cli.main(args=sys.argv[1:], prog_name="flask")
"""


def run_together(settings, now, commands):
    """Run each `flask <command>` in its own process, all released at once, on the app that
    `settings` configure, their clock frozen at `now`; returns {command: [outputs]}."""
    environment = dict(os.environ, ESPACE_ENV="test", ESPACE_TEST_NOW=now.isoformat(), LANG="C.UTF-8")
    spec = f"app:create_app({json.dumps(settings)})"
    processes = [
        (
            command,
            subprocess.Popen(
                [sys.executable, "-c", STARTER, "--app", spec, command],
                cwd=ROOT,
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for command in commands
    ]
    for _command, process in processes:
        assert process.stdout.readline() == "ready\n", process.stderr.read()
    for _command, process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = {}
    for command, process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"{command}: {out}{err}"
        outputs.setdefault(command, []).append(out)
    return outputs


def counts(outputs):
    """The numbers each output says, summed line by line over the outputs."""
    found = [[int(n) for n in re.findall(r"\d+", line)] for out in outputs for line in out.splitlines()]
    lines = len(found) // len(outputs)
    return [sum(numbers[0] for numbers in found[i::lines]) for i in range(lines)]


@pytest.fixture
def busy(app, clock):
    """Work for every command 83 days on: 20 mails due, three mandates ending in 7 days (both
    their reminders due), 4 drafts due for their warning, 3 due for deletion, 2 spaces deleted
    more than 30 days ago. Returns that day."""
    factories.procedure()
    fiduciary = factories.certified_member(
        "fiona", name="Fiduciaire", company_name="Fidu SA", identifier="B222222"
    )
    mandates = factories.client_companies(fiduciary, count=3)
    assert len(mandates) == Mandate.select().count() == 3
    for number in range(20):
        factories.outbox_mail(to=f"guichet{number}@example.lu", subject=f"Courriel {number}")
    day = clock.now() + timedelta(days=83)  # the mandates were given for 90 days
    for number in range(7):
        draft = factories.dossier(fiduciary.space)
        if number < 4:  # its six months end within 14 days
            changed, warned = day - timedelta(days=175), None
        else:  # six months and more, warned 20 days ago
            changed, warned = day - timedelta(days=200), day - timedelta(days=20)
        Dossier.update(updated_at=changed, purge_warned_at=warned).where(Dossier.id == draft.id).execute()
    for number in range(2):
        admin = factories.user(f"ancien{number}")
        factories.space(
            admin, name=f"Ancien {number}", identifier=f"B40000{number}", deleted_at=day - timedelta(days=31)
        )
    return day


def subjects(prefix):
    return Counter(
        (mail.to, mail.subject) for mail in OutboxMail.select().where(OutboxMail.subject.startswith(prefix))
    )


def test_two_of_each_cron_job_at_once_do_everything_once(app, busy, smtp, database_url):
    settings = {
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "PUBLIC_URL": "https://espace.example.lu",
    }
    queued = [mail.id for mail in OutboxMail.select(OutboxMail.id)]
    drafts = [draft.id for draft in Dossier.select(Dossier.id).order_by(Dossier.id)]
    outputs = run_together(settings, busy, [command for command in COMMANDS for _ in range(2)])

    # Reminders: three mandates, each reminded of its 30 and of its 7 days, once each.
    assert counts(outputs["send-reminders"]) == [6]
    assert (
        not Mandate.select()
        .where(Mandate.reminded_30_at.is_null() | Mandate.reminded_7_at.is_null())
        .exists()
    )
    reminders = subjects("Mandat bientôt expiré")
    assert len(reminders) == 6  # both sides of three mandates
    assert set(reminders.values()) == {2}  # the 30-day and the 7-day one

    # Drafts: four warned, once each (Fiona, the one member, gets four mails); three deleted,
    # counted once in the outputs and in the audit log.
    assert counts(outputs["purge-drafts"]) == [4, 3]
    assert sum(subjects("Brouillon bientôt supprimé").values()) == 4
    assert [draft.id for draft in Dossier.select().where(Dossier.purge_warned_at == busy)] == drafts[:4]
    assert [draft.id for draft in Dossier.select(Dossier.id).order_by(Dossier.id)] == drafts[:4]
    purged = [
        i
        for e in AuditEntry.select().where(AuditEntry.action == "dossier.drafts_purged")
        for i in e.details["dossier_ids"]
    ]
    assert sorted(purged) == drafts[4:]

    # Spaces: two deleted for good, counted once.
    assert counts(outputs["purge-deleted"]) == [2]
    assert not Space.select().where(Space.deleted_at.is_null(False)).exists()
    purged = [
        i
        for e in AuditEntry.select().where(AuditEntry.action == "space.purged")
        for i in e.details["space_ids"]
    ]
    assert len(purged) == len(set(purged)) == 2

    # Mails: each one sent was received exactly once, and those queued before were all sent.
    sent = Counter((m.to, m.subject) for m in OutboxMail.select().where(OutboxMail.sent_at.is_null(False)))
    assert Counter((str(m["To"]), str(m["Subject"])) for m in smtp.messages) == sent
    assert counts(outputs["send-mail"])[0] == len(smtp.messages)
    assert not OutboxMail.select().where(OutboxMail.id.in_(queued), OutboxMail.sent_at.is_null()).exists()
