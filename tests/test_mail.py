"""The outbox: mails are rows first; a dead SMTP server delays them, never loses them."""
from models import OutboxMail
from services import mail


def queue(app, to="lea.guichet@example.lu"):
    with app.test_request_context():
        return mail.queue_mail(to, "Nouveau message", "notification",
                               message="Un nouveau message vous attend.", link="http://localhost/")


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
    assert "1 envoyé(s), 0 en échec." in result.output
    assert len(smtp.messages) == 1


def test_mail_is_sent_after_the_request_that_queued_it(app, smtp):
    @app.get("/queue-test")
    def queue_test():
        mail.queue_mail("anne@example.lu", "Bienvenue", "notification", message="Bonjour", link="http://localhost/")
        return "ok"

    response = app.test_client().get("/queue-test")
    response.close()  # the WSGI server closes the response once sent
    assert [m["To"] for m in smtp.messages] == ["anne@example.lu"]
    assert OutboxMail.get().sent_at is not None
