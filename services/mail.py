"""The mail outbox: mails are rows first and SMTP messages second, so a dead mail server
delays mail but never loses it.

`queue_mail` writes the row in the caller's transaction. After the request, and whenever
`flask send-mail` runs, `deliver_due` sends what is due. Each mail is claimed by one
conditional UPDATE before it is sent, so several workers never send it twice. Once sent,
a mail keeps only what the audit needs (recipient, subject, times): its bodies, which carry
links and codes, are erased.
"""

from datetime import timedelta

from flask import current_app, g, has_request_context, render_template
from flask_mail import Mail, Message
from peewee import chunked

import clock
from models import OutboxMail, clip
from services import languages
from validators import one_line

mail = Mail()

CLAIM_LEASE = timedelta(minutes=5)  # a worker that dies mid-send frees the mail after this
MAX_BACKOFF = timedelta(hours=1)
ERASED = {"body_text": "", "body_html": ""}  # what a sent mail keeps of its bodies
BATCH = 500  # rows of one INSERT of `queue_mails`


def queue_mail(to, subject, template, *, language, **context):
    """Render `emails/<template>.txt` and `.html` in `language`, the recipient's (the
    subject, a lazy string, and the context's lazy strings and dates are translated and
    formatted then), and store the mail in the outbox."""
    row = OutboxMail.create(to=to, **_rendered(subject, template, language, context))
    _queued()
    return row


def queue_mails(recipients, subject, template, **context):
    """The same mail to many: `recipients` are (address, language, link) each. Rendered once
    per language and link, stored by one INSERT per BATCH rows: the thousands of members of a
    large space are told of a change in a few statements, not one per member."""
    rendered = {}
    rows = []
    for to, language, link in recipients:
        key = (languages.checked(language), link)
        if key not in rendered:
            rendered[key] = _rendered(subject, template, key[0], {**context, "link": link})
        rows.append({"to": to, **rendered[key]})
    for batch in chunked(rows, BATCH):
        OutboxMail.insert_many(batch).execute()
    if rows:
        _queued()
    return len(rows)


def _rendered(subject, template, language, context):
    """The outbox row's subject and bodies, in `language`."""
    language = languages.checked(language)
    with languages.written(language):
        # A line break would make the message invalid.
        subject = clip(OutboxMail.subject, one_line(str(subject)))
        context = {"subject": subject, **context, "language": language}  # the html's lang
        return {
            "subject": subject,
            "body_text": render_template(f"emails/{template}.txt", **context),
            "body_html": render_template(f"emails/{template}.html", **context),
        }


def _queued():
    if has_request_context():
        g.mail_queued = True  # sent once the response has gone (init_app)


def backoff(attempts):
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def deliver_due(limit=100):
    """Send the due mails; returns (sent, failed). Does nothing when no MAIL_SERVER is set."""
    if not current_app.config.get("MAIL_SERVER"):
        return 0, 0
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    now = clock.now()
    due = list(
        OutboxMail.select(OutboxMail.id)
        .where(
            OutboxMail.sent_at.is_null(),
            OutboxMail.next_attempt_at <= now,
            OutboxMail.attempts < max_attempts,
        )
        .order_by(OutboxMail.id)
        .limit(limit)
    )
    sent = failed = 0
    for mail_id in (row.id for row in due):
        claimed = (
            OutboxMail.update(next_attempt_at=now + CLAIM_LEASE, attempts=OutboxMail.attempts + 1)
            .where(OutboxMail.id == mail_id, OutboxMail.sent_at.is_null(), OutboxMail.next_attempt_at <= now)
            .execute()
        )
        if not claimed:
            continue  # another worker has it
        row = OutboxMail.get_by_id(mail_id)
        try:
            mail.send(
                Message(subject=row.subject, recipients=[row.to], body=row.body_text, html=row.body_html)
            )
        except Exception as exc:  # any SMTP or network failure: retry later
            OutboxMail.update(
                next_attempt_at=clock.now() + backoff(row.attempts),
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
            ).where(OutboxMail.id == mail_id).execute()
            failed += 1
            current_app.logger.warning("mail %s not sent (attempt %s): %s", mail_id, row.attempts, exc)
        else:
            OutboxMail.update(sent_at=clock.now(), last_error=None, **ERASED).where(
                OutboxMail.id == mail_id
            ).execute()
            sent += 1
    return sent, failed


def erase_sent_bodies():
    """Erase the bodies of the mails sent before they were erased on sending (migration 0003)."""
    return (
        OutboxMail.update(**ERASED)
        .where(OutboxMail.sent_at.is_null(False), (OutboxMail.body_text != "") | (OutboxMail.body_html != ""))
        .execute()
    )


def init_app(app):
    app.config.setdefault("MAIL_SUPPRESS_SEND", False)
    mail.init_app(app)

    @app.after_request
    def _deliver_after_response(response):
        # The request's transaction is committed by now; send once the response has gone.
        if g.get("mail_queued") and app.config.get("MAIL_SERVER"):
            response.call_on_close(_deliver_in_context(app))
        return response


def _deliver_in_context(app):
    def deliver():
        from models import db

        with app.app_context():
            opened = db.connect(reuse_if_open=True)
            try:
                deliver_due()
            except Exception:  # the outbox keeps the mail; `flask send-mail` retries
                app.logger.exception("mail delivery after request failed")
            finally:
                if opened:
                    db.close()

    return deliver
