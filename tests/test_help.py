"""Contacter le Helpdesk and Votre avis nous intéresse, as services: a message stored and
acknowledged with its subject only, throttled per address and per client address (also when
sent at once), answered once by the helpdesk alone; opinions stored with their page,
throttled, listed and summed up for the helpdesk."""

import html

import pytest

import factories
from helpers import at_once
from models import AuditEntry, ContactRequest, Feedback, OutboxMail, Throttle
from services import contact, mail, throttle

pytestmark = pytest.mark.usefixtures("request_context")

MESSAGE = "Bonjour,\nj'ai atteint la limite de 200 espaces professionnels.\nMerci."


def send(email="lea.guichet@example.lu", ip="192.0.2.1", subject="Limite d'espaces", **kwargs):
    return contact.send_contact("Léa Guichet", email, subject, MESSAGE, "fr", ip=ip, **kwargs)


# --- Contacter le Helpdesk ------------------------------------------------------------------


def test_a_message_is_stored_acknowledged_and_audited(app, clock):
    lea = factories.user("lea")
    sent = send(email=" Lea.Guichet@EXAMPLE.lu ", user=lea)
    stored = ContactRequest.get()
    assert (stored.id, stored.name, stored.email, stored.subject) == (
        sent.id,
        "Léa Guichet",
        "Lea.Guichet@example.lu",  # the domain lower-cased, the local part as typed
        "Limite d'espaces",
    )
    assert stored.message == MESSAGE and stored.user_id == lea.id and stored.answered_at is None
    assert stored.created_at == clock.now()

    [ack] = OutboxMail.select()
    assert ack.to == "Lea.Guichet@example.lu"
    assert ack.subject == "Votre message au Helpdesk : Limite d'espaces"
    for body in (ack.body_text, html.unescape(ack.body_html)):
        assert "Limite d'espaces" in body and "25/03/2026" in body
        assert "200 espaces" not in body and "Léa" not in body  # nothing but the subject is repeated
        assert "http://localhost/contact" in body

    [entry] = AuditEntry.select().where(AuditEntry.action == "contact.received")
    assert entry.actor_id == lea.id and entry.details == {"request": stored.id} and entry.ip == "192.0.2.1"


def test_an_anonymous_message_and_a_real_smtp_server(app, smtp, clock):
    send(subject="Question\r\nBcc: eve@example.lu")  # a line break never reaches a header
    stored = ContactRequest.get()
    assert stored.user is None and stored.subject == "Question Bcc: eve@example.lu"
    assert mail.deliver_due() == (1, 0)
    [message] = smtp.messages
    assert message["To"] == "lea.guichet@example.lu" and message["Bcc"] is None
    assert message["Subject"] == "Votre message au Helpdesk : Question Bcc: eve@example.lu"
    assert "j'ai atteint" not in message.get_body(("plain",)).get_content()
    assert AuditEntry.get(AuditEntry.action == "contact.received").actor_id is None


@pytest.mark.parametrize("email", ["", "lea", "lea@", "lea@example", "a b@example.lu"])
def test_a_wrong_address_is_refused_and_nothing_is_kept(app, clock, email):
    with pytest.raises(contact.InvalidEmail) as refused:
        send(email=email)
    assert refused.value.status == 422 and refused.value.field == "email"
    assert ContactRequest.select().count() == 0 and OutboxMail.select().count() == 0
    assert Throttle.select().count() == 0  # a refused form is not counted


def test_five_messages_an_hour_per_address(app, clock):
    for i in range(contact.CONTACT_LIMIT):
        send(ip=f"192.0.2.{i}")  # from five client addresses: the sender's address counts
    clock.advance(minutes=20)
    with pytest.raises(throttle.TooManySent) as refused:
        send(ip="192.0.2.99")
    assert refused.value.status == 429 and refused.value.retry_after == 40 * 60
    assert "Veuillez réessayer dans 40 minutes." in refused.value.message
    assert ContactRequest.select().count() == 5 and OutboxMail.select().count() == 5
    send(email="zoe@example.lu", ip="192.0.2.99")  # another sender is not held up
    clock.advance(minutes=40)
    send(ip="192.0.2.99")  # the hour is over
    assert ContactRequest.select().count() == 7


def test_five_messages_an_hour_per_client_address(app, clock):
    for i in range(contact.CONTACT_LIMIT):
        send(email=f"person{i}@example.lu")
    with pytest.raises(throttle.TooManySent):
        send(email="person9@example.lu")
    with pytest.raises(throttle.TooManySent):
        send(email="person9@example.lu")  # a refusal does not count, and does not wait longer
    assert ContactRequest.select().count() == 5
    send(email="person9@example.lu", ip="192.0.2.200")


def test_sent_at_once_the_limit_holds(app, clock):
    outcomes = at_once(app, [lambda: send(ip="192.0.2.1") for _ in range(8)])
    assert outcomes.count("ok") == contact.CONTACT_LIMIT
    assert all(isinstance(o, throttle.TooManySent) for o in outcomes if o != "ok")
    assert ContactRequest.select().count() == 5 and OutboxMail.select().count() == 5


# --- The helpdesk's queue and answers ---------------------------------------------------------


def test_the_queue_shows_the_waiting_first(app, clock):
    helper = factories.helpdesk()
    old = factories.contact_request("Ancienne")
    clock.advance(hours=1)
    answered_first = factories.contact_request("Répondue d'abord")
    clock.advance(hours=1)
    recent = factories.contact_request("Récente")
    answered_last = factories.contact_request("Répondue ensuite")
    contact.answer(helper, answered_first.id, "Voici.")
    clock.advance(minutes=5)
    contact.answer(helper, answered_last.id, "Voilà.")
    rows, total = contact.contact_queue(helper)
    assert [r.subject for r in rows] == ["Ancienne", "Récente", "Répondue ensuite", "Répondue d'abord"]
    assert total == 4 and contact.unanswered_count(helper) == 2
    assert old.id and recent.id


def test_an_answer_is_mailed_once_and_audited(app, clock):
    helper = factories.helpdesk()
    request_ = factories.contact_request()
    clock.advance(hours=2)
    answered = contact.answer(helper, request_.id, "  Bonjour,\nc'est fait : 400 espaces.  ")
    assert answered.answered_at == clock.now() and answered.answered_by_id == helper.id
    assert answered.answer == "Bonjour,\nc'est fait : 400 espaces."
    [sent] = OutboxMail.select()
    assert sent.to == "lea.guichet@example.lu"
    assert sent.subject == "Réponse du Helpdesk : Limite d'espaces professionnels"
    assert "c'est fait : 400 espaces." in sent.body_text and "c&#39;est fait : 400 espaces." in sent.body_html
    [entry] = AuditEntry.select().where(AuditEntry.action == "contact.answered")
    assert entry.actor_id == helper.id and entry.actor == "Hélène Helpdesk (Helpdesk)"
    assert entry.details == {"request": request_.id}

    with pytest.raises(contact.AlreadyAnswered) as refused:
        contact.answer(helper, request_.id, "Une seconde réponse")
    assert refused.value.status == 409
    assert ContactRequest.get().answer == "Bonjour,\nc'est fait : 400 espaces."
    assert OutboxMail.select().count() == 1


def test_two_helpdesk_agents_answering_at_once_send_one_answer(app, clock):
    first, second = factories.helpdesk(), factories.helpdesk("helpdesk2")
    request_ = factories.contact_request()
    outcomes = at_once(
        app,
        [
            lambda: contact.answer(first, request_.id, "Réponse de la première"),
            lambda: contact.answer(second, request_.id, "Réponse de la seconde"),
        ],
    )
    assert sorted(map(str, outcomes))[-1] == "ok" and outcomes.count("ok") == 1
    assert any(isinstance(o, contact.AlreadyAnswered) for o in outcomes)
    assert OutboxMail.select().count() == 1
    assert AuditEntry.select().where(AuditEntry.action == "contact.answered").count() == 1


def test_an_empty_answer_is_refused(app, clock):
    helper = factories.helpdesk()
    request_ = factories.contact_request()
    with pytest.raises(contact.AnswerMissing) as refused:
        contact.answer(helper, request_.id, "  \n ")
    assert refused.value.field == "answer" and refused.value.status == 422
    assert ContactRequest.get().answered_at is None and OutboxMail.select().count() == 0


def test_only_the_helpdesk_reads_and_answers(app, clock):
    agent = factories.agent()
    request_ = factories.contact_request()
    factories.feedback()
    for call in (
        lambda: contact.contact_queue(agent),
        lambda: contact.unanswered_count(agent),
        lambda: contact.contact_request(agent, request_.id),
        lambda: contact.answer(agent, request_.id, "Non."),
        lambda: contact.feedback_list(agent),
    ):
        with pytest.raises(contact.HelpdeskOnly) as refused:
            call()
        assert refused.value.status == 403
    assert ContactRequest.get().answered_at is None and OutboxMail.select().count() == 0


def test_an_unknown_request_is_not_found(app, clock):
    helper = factories.helpdesk()
    with pytest.raises(contact.ContactNotFound) as refused:
        contact.answer(helper, 12345, "Bonjour")
    assert refused.value.status == 404 and OutboxMail.select().count() == 0


# --- Votre avis nous intéresse ------------------------------------------------------------------


def test_an_opinion_is_kept_with_its_page(app, clock):
    contact.record_feedback("/espaces/3/donnees?q=iban#data-bank", False, 2, "  Trop long.  ", ip="192.0.2.1")
    kept = Feedback.get()
    assert (kept.page, kept.found, kept.rating) == ("/espaces/3/donnees", False, 2)
    assert kept.comment == "Trop long."
    assert kept.created_at == clock.now()


@pytest.mark.parametrize("page", ["", "aide", "//evil.example/", "https://evil.example/", "/\\evil", None])
def test_an_opinion_on_no_page_of_the_portal_is_refused(app, page):
    with pytest.raises(contact.InvalidPage) as refused:
        contact.record_feedback(page, True, 5)
    assert refused.value.status == 400 and Feedback.select().count() == 0


@pytest.mark.parametrize("found, rating", [(None, 3), ("yes", 3), (True, 0), (True, 6), (True, None)])
def test_both_questions_need_an_answer(app, found, rating):
    with pytest.raises(contact.InvalidFeedback):
        contact.record_feedback("/aide", found, rating)
    assert Feedback.select().count() == 0


def test_opinions_are_throttled_per_client_address(app, clock):
    for _ in range(contact.FEEDBACK_LIMIT):
        contact.record_feedback("/aide", True, 5, ip="192.0.2.1")
    with pytest.raises(throttle.TooManySent) as refused:
        contact.record_feedback("/aide", True, 5, ip="192.0.2.1")
    assert refused.value.retry_after == 3600
    contact.record_feedback("/aide", True, 5, ip="192.0.2.2")
    clock.advance(hours=1)
    contact.record_feedback("/aide", True, 5, ip="192.0.2.1")
    assert Feedback.select().count() == contact.FEEDBACK_LIMIT + 2


def test_the_list_of_opinions_filters_by_page_and_sums_up(app, clock):
    helper = factories.helpdesk()
    factories.feedback("/aide", True, 5)
    clock.advance(minutes=1)
    factories.feedback("/espaces/3/donnees", False, 2, comment="Où est l'IBAN ?")
    clock.advance(minutes=1)
    factories.feedback("/espaces/4/donnees", True, 4)
    rows, summary = contact.feedback_list(helper)
    assert [r.page for r in rows] == ["/espaces/4/donnees", "/espaces/3/donnees", "/aide"]
    assert summary == contact.FeedbackSummary(3, 2, pytest.approx(11 / 3))
    rows, summary = contact.feedback_list(helper, query="donnees")
    assert [r.rating for r in rows] == [4, 2] and summary == (2, 1, 3.0)
    rows, summary = contact.feedback_list(helper, query="/rien")
    assert rows == [] and summary == (0, 0, None)
