"""The outbox: mails are rows first; a dead SMTP server delays them, never loses them."""

from pathlib import Path

import pytest
from jinja2 import ChainableUndefined

from models import OutboxMail
from services import mail

EMAILS = Path(__file__).parent.parent / "templates" / "emails"


def queue(app, to="lea.guichet@example.lu"):
    with app.test_request_context():
        return mail.queue_mail(
            to,
            "Nouveau message",
            "notification",
            language="fr",
            message="Un nouveau message vous attend.",
            link="http://localhost/",
        )


def test_without_mail_server_mails_stay_in_the_outbox(app, client):
    row = queue(app)
    assert mail.deliver_due() == (0, 0)
    assert OutboxMail.get_by_id(row.id).sent_at is None
    page = client.get("/dev/courriels").get_data(as_text=True)
    assert "Nouveau message" in page and "lea.guichet@example.lu" in page
    detail = client.get(f"/dev/courriels/{row.id}").get_data(as_text=True)
    assert "Un nouveau message vous attend." in detail


def test_mail_has_text_and_html_bodies(app):
    row = queue(app)
    assert "Un nouveau message vous attend." in row.body_text
    assert "<p>Un nouveau message vous attend.</p>" in row.body_html


@pytest.mark.parametrize("name", sorted(path.stem for path in EMAILS.glob("[!_]*.txt")))
def test_every_mail_says_not_to_reply_and_is_signed(app, name):
    """The note and the signature come from the layouts, around each mail's own text."""
    loose = app.jinja_env.overlay(undefined=ChainableUndefined, cache_size=0)  # any context will do
    with app.test_request_context():
        text = loose.get_template(f"emails/{name}.txt").render()
        html = loose.get_template(f"emails/{name}.html").render()
    assert text.startswith("Note : merci de ne pas répondre") and text.endswith("\n\nEspace Pro")
    assert "merci de ne pas répondre" in html and "Espace Pro</p>" in html


def test_server_down_then_up_nothing_lost(app, smtp, clock):
    smtp.stop()  # the server is down
    row = queue(app)
    assert mail.deliver_due() == (0, 1)
    failed = OutboxMail.get_by_id(row.id)
    assert failed.sent_at is None and failed.attempts == 1 and failed.last_error
    assert failed.next_attempt_at > clock.now()

    assert mail.deliver_due() == (0, 0)  # not due yet: backoff
    smtp.start()  # the server is back (same port)
    assert mail.deliver_due() == (0, 0)
    clock.advance(minutes=1)
    assert mail.deliver_due() == (1, 0)

    sent = OutboxMail.get_by_id(row.id)
    assert sent.sent_at == clock.now() and sent.attempts == 2 and sent.last_error is None
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "lea.guichet@example.lu"
    assert message["Subject"] == "Nouveau message"
    assert "Un nouveau message vous attend." in message.get_body(("plain",)).get_content()
    assert "<p>Un nouveau message vous attend.</p>" in message.get_body(("html",)).get_content()
    assert mail.deliver_due() == (0, 0)  # sent once only


def test_backoff_grows_and_is_capped():
    minutes = [mail.backoff(n).total_seconds() / 60 for n in range(1, 10)]
    assert minutes[:4] == [1, 2, 4, 8]
    assert max(minutes) == 60


def test_cli_send_mail(app, runner, smtp):
    queue(app)
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "Courriels envoyés : 1, en échec : 0." in result.output
    assert len(smtp.messages) == 1


def test_mail_is_sent_after_the_request_that_queued_it(app, smtp):
    @app.get("/queue-test")
    def queue_test():
        mail.queue_mail(
            "anne@example.lu",
            "Bienvenue",
            "notification",
            language="fr",
            message="Bonjour",
            link="http://localhost/",
        )
        return "ok"

    response = app.test_client().get("/queue-test")
    response.close()  # the WSGI server closes the response once sent
    assert [m["To"] for m in smtp.messages] == ["anne@example.lu"]
    assert OutboxMail.get().sent_at is not None


def test_a_sent_mail_keeps_only_what_the_audit_needs(app, client, smtp, clock):
    """Recovery links and codes leave with the mail: the outbox keeps recipient, subject, times."""
    row = queue(app)
    assert mail.deliver_due() == (1, 0)
    sent = OutboxMail.get_by_id(row.id)
    assert (sent.to, sent.subject, sent.sent_at) == ("lea.guichet@example.lu", "Nouveau message", clock.now())
    assert (sent.body_text, sent.body_html) == ("", "")
    assert "Un nouveau message vous attend." in smtp.messages[0].get_body(("plain",)).get_content()
    detail = client.get(f"/dev/courriels/{row.id}").get_data(as_text=True)
    assert "Nouveau message" in detail and "son contenu (liens, codes) a été effacé" in detail


def test_mails_sent_before_lose_their_bodies_at_the_migration(app, clock):
    import factories
    import migrations

    sent = factories.outbox_mail(sent_at=clock.now())
    waiting = factories.outbox_mail()
    [migration] = [function for version, _, function in migrations.MIGRATIONS if version == "0003"]
    migration(None)
    assert OutboxMail.get_by_id(sent.id).body_text == "" and OutboxMail.get_by_id(sent.id).body_html == ""
    assert OutboxMail.get_by_id(waiting.id).body_text == "texte"


def test_subjects_are_one_line_and_fit_their_column(app):
    with app.test_request_context():
        row = mail.queue_mail(
            "lea@example.lu",
            "Espace\r\nBcc: eve@example.lu  " + "x" * 400,
            "notification",
            language="fr",
            message="m",
            link="http://localhost/",
        )
    assert (
        row.subject.startswith("Espace Bcc: eve@example.lu x")
        and len(row.subject) == OutboxMail.subject.max_length
    )
