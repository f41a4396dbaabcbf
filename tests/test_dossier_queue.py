"""The back-office's side of dossiers: the queue of an agent's administration (never a draft,
never another administration's), its filters, search and pages in two queries, and the
decisions: each follows from the status or is refused with nothing changed, requires its
text, writes its history, thread, mails and audit entry in one transaction, and of two
agents deciding at once one wins."""

import pytest

import factories
from helpers import at_once, count_queries
from models import AuditEntry, Communication, Dossier, DossierEvent, DossierMessage, OutboxMail, db
from services import dossier_queue, dossiers

pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def world(app, clock):
    """Léa's Guichet SARL (with Rita, a reader) files with the ACD; Agnès is an ACD agent,
    Igor an ITM agent."""
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    factories.member(space, factories.user("rita", email="rita@example.lu"), "reader")
    acd = factories.procedure()
    itm = factories.procedure("itm-essai", "ITM", "elections-sociales")
    return {
        "space": space,
        "acd": acd,
        "itm": itm,
        "agnes": factories.agent("ACD", "agent.acd"),
        "agnes2": factories.agent("ACD", "agent.acd2", name="Albert Agent"),
        "igor": factories.agent("ITM", "agent.itm", name="Igor Agent"),
    }


def snapshot(dossier_id):
    """What a refused decision must leave as it was."""
    return (
        Dossier.select().where(Dossier.id == dossier_id).tuples().first(),
        list(DossierEvent.select().tuples()),
        list(DossierMessage.select().tuples()),
        OutboxMail.select().count(),
        AuditEntry.select().count(),
    )


# --- The queue ----------------------------------------------------------------------------


def test_the_queue_holds_the_administrations_transmitted_dossiers_only(world, clock):
    space = world["space"]
    factories.dossier(space, world["acd"])  # a draft: never in the back-office
    first = factories.transmitted_dossier(space, world["acd"], 1)
    clock.advance(minutes=5)
    second = factories.transmitted_dossier(space, world["acd"], 2, status="in_progress")
    factories.transmitted_dossier(space, world["itm"], 1)
    rows, total = dossier_queue.queue(world["agnes"])
    assert (total, [d.id for d in rows]) == (2, [second.id, first.id])  # the last changed first
    assert rows[0].procedure.title == "Démarche d'essai" and rows[0].reference == "ACD-2026-000002"
    assert [d.reference for d in dossier_queue.queue(world["igor"])[0]] == ["ITM-2026-000001"]


def test_the_queue_filters_and_searches(world):
    space = world["space"]
    other = factories.space(factories.user("marc"), name="Boulangerie", company_name="Boulangerie Marc")
    other.identifier = "B999999"
    other.save()
    second_procedure = factories.procedure("acd-autre", definition={"title": "Autre démarche"})
    factories.transmitted_dossier(space, world["acd"], 1)
    factories.transmitted_dossier(space, world["acd"], 2, status="in_progress")
    factories.transmitted_dossier(other, second_procedure, 3)

    def refs(**filters):
        return sorted(d.reference for d in dossier_queue.queue(world["agnes"], **filters)[0])

    assert refs(status="in_progress") == ["ACD-2026-000002"]
    assert refs(status="draft") == refs() and len(refs()) == 3  # not a filter an agent has
    assert refs(procedure=second_procedure.id) == ["ACD-2026-000003"]
    assert refs(procedure=world["itm"].id) == []
    assert refs(query="2026-000001") == ["ACD-2026-000001"]
    assert refs(query="boulangerie") == ["ACD-2026-000003"]  # the company's name, any case
    assert refs(query="B999") == ["ACD-2026-000003"]  # its identifier
    assert refs(query="guichet", status="submitted") == ["ACD-2026-000001"]
    assert [p.title for p in dossier_queue.procedures(world["agnes"])] == [
        "Autre démarche",
        "Démarche d'essai",
    ]


def test_the_queue_pages(world):
    factories.dossier_rows(world["space"], world["acd"], 7)
    rows, total = dossier_queue.queue(world["agnes"], page=2, per_page=3)
    assert total == 7 and [d.reference for d in rows] == [f"ACD-2026-00000{n}" for n in (4, 5, 6)]
    assert dossier_queue.queue(world["agnes"], page=4, per_page=3)[0] == []


def queue_queries(agent):
    with count_queries() as q:
        rows, total = dossier_queue.queue(agent, query="ACD", status="submitted")
        assert rows  # the rows are read, not merely selected
    return q.count, total


def test_the_queue_takes_three_queries_at_10_and_at_thousands_of_dossiers(world):
    factories.dossier_rows(world["space"], world["acd"], 10)
    small = queue_queries(world["agnes"])
    factories.dossier_rows(world["space"], world["acd"], 3000, start=11)
    large = queue_queries(world["agnes"])
    assert small == (3, 10) and large == (3, 3010)  # the rows, their procedures, the total


# --- One dossier ----------------------------------------------------------------------------


def test_another_administration_or_a_draft_is_not_found(world):
    transmitted = factories.transmitted_dossier(world["space"], world["acd"])
    draft = factories.dossier(world["space"], world["acd"])
    assert dossier_queue.dossier_of(world["agnes"], transmitted.id).space.name == "Guichet"
    for agent, dossier_id in ((world["igor"], transmitted.id), (world["agnes"], draft.id)):
        with pytest.raises(dossier_queue.DossierNotFound) as refused:
            dossier_queue.dossier_of(agent, dossier_id)
        assert refused.value.status == 404
        for key in dossier_queue.DECISIONS:
            with pytest.raises(dossier_queue.DossierNotFound):
                dossier_queue.decide(agent, dossier_id, key, "Un texte")
        with pytest.raises(dossier_queue.DossierNotFound):
            dossier_queue.send_message(agent, dossier_id, "Bonjour")
    assert Dossier.get_by_id(transmitted.id).status == "submitted"


def test_files_and_receipts_are_listed_without_their_content(world):
    from models import DossierFile, Receipt

    found = factories.transmitted_dossier(world["space"], world["acd"])
    kept = DossierFile.create(
        dossier=found,
        field="pv",
        name="pv.pdf",
        content_type="application/pdf",
        size=9,
        sha256="0" * 64,
        content=b"%PDF-1.4\n",
    )
    Receipt.create(
        dossier=found, number=1, signer="Léa", data_sha256="1" * 64, pdf=b"%PDF", pdf_sha256="2" * 64
    )
    listed = dossier_queue.files(found)
    assert list(listed) == [kept.id] and listed[kept.id].content is None
    assert [r.number for r in dossier_queue.receipts(found)] == [1]
    assert dossier_queue.receipts(found)[0].pdf is None
    assert bytes(dossier_queue.file_of(world["agnes"], found.id, kept.id).content) == b"%PDF-1.4\n"
    assert bytes(dossier_queue.receipt_of(world["agnes"], found.id, 1)[1].pdf) == b"%PDF"
    for call in (
        lambda: dossier_queue.file_of(world["igor"], found.id, kept.id),
        lambda: dossier_queue.receipt_of(world["agnes"], found.id, 2),
    ):
        with pytest.raises(dossier_queue.DossierNotFound):
            call()


# --- Decisions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, offered",
    [
        ("submitted", ["take"]),
        ("in_progress", ["complement", "accept", "reject"]),
        ("complement", ["reject"]),  # a complement never given can be refused
        ("accepted", []),
        ("rejected", []),
    ],
)
def test_the_decisions_offered_follow_the_status(world, status, offered):
    found = factories.transmitted_dossier(world["space"], world["acd"], status=status)
    assert [d.key for d in dossier_queue.actions_for(found)] == offered


def mails():
    return {m.to: (m.subject, m.body_text) for m in OutboxMail.select()}


def test_take_then_accept(world, clock):
    found = factories.transmitted_dossier(world["space"], world["acd"])
    clock.advance(hours=1)
    dossier_queue.decide(world["agnes"], found.id, "take")
    taken = Dossier.get_by_id(found.id)
    assert (taken.status, taken.updated_at, taken.version) == ("in_progress", clock.now(), 1)
    event = dossiers.history(taken)[-1]
    assert (event.action, event.status, event.actor, event.actor_agent_id) == (
        "taken",
        "in_progress",
        "Agnès Agent (ACD)",
        world["agnes"].id,
    )
    sent = mails()
    assert set(sent) == {"lea@example.lu", "rita@example.lu"}  # every member, readers too
    subject, body = sent["lea@example.lu"]
    assert subject == "Dossier ACD-2026-000001 : pris en charge"
    decision = Communication.select().order_by(Communication.id.desc()).first()  # the mail's
    assert (decision.kind, decision.subject) == ("decision", subject)
    assert f"/espaces/{found.space_id}/communications/{decision.id}" in body
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
    assert (entry.action, entry.actor_id, entry.space_id, entry.details) == (
        "dossier.taken",
        world["agnes"].id,
        found.space_id,
        {"dossier_id": found.id, "reference": "ACD-2026-000001"},
    )

    OutboxMail.delete().execute()
    dossier_queue.decide(world["agnes"], found.id, "accept")
    assert Dossier.get_by_id(found.id).status == "accepted"
    assert mails()["lea@example.lu"][0] == "Dossier ACD-2026-000001 : accepté"
    assert AuditEntry.select().order_by(AuditEntry.id.desc()).first().action == "dossier.accepted"
    assert DossierMessage.select().count() == 0  # nothing to say, nothing posted


def test_a_complement_needs_a_message_which_goes_to_the_thread_not_the_mail(world):
    found = factories.transmitted_dossier(world["space"], world["acd"], status="in_progress")
    before = snapshot(found.id)
    for blank in ("", "   \n "):
        with pytest.raises(dossier_queue.ComplementWithoutMessage) as refused:
            dossier_queue.decide(world["agnes"], found.id, "complement", blank)
        assert refused.value.status == 422 and refused.value.field == "text"
    assert snapshot(found.id) == before

    asked = "Merci de joindre le procès-verbal signé."
    dossier_queue.decide(world["agnes"], found.id, "complement", f"  {asked} ")
    assert Dossier.get_by_id(found.id).status == "complement"
    [message] = DossierMessage.select()
    assert (message.body, message.author_agent_id, message.author) == (
        asked,
        world["agnes"].id,
        "Agnès Agent (ACD)",
    )
    assert dossiers.history(found)[-1].action == "complement"
    subject, body = mails()["lea@example.lu"]
    assert subject == "Dossier ACD-2026-000001 : complément demandé"
    assert "procès-verbal" not in subject + body and "/communications/" in body
    assert asked in Communication.select().order_by(Communication.id.desc()).first().body  # read in the space
    assert AuditEntry.select().order_by(AuditEntry.id.desc()).first().action == "dossier.complement"


def test_a_refusal_needs_a_reason_kept_in_the_history_and_the_thread(world):
    found = factories.transmitted_dossier(world["space"], world["acd"], status="in_progress")
    before = snapshot(found.id)
    with pytest.raises(dossier_queue.RejectionWithoutReason) as refused:
        dossier_queue.decide(world["agnes"], found.id, "reject", " ")
    assert refused.value.status == 422 and "motif" in refused.value.message
    assert snapshot(found.id) == before

    reason = "L'établissement n'est pas enregistré."
    dossier_queue.decide(world["agnes"], found.id, "reject", reason)
    rejected = Dossier.get_by_id(found.id)
    event = dossiers.history(rejected)[-1]
    assert (rejected.status, event.action, event.note) == ("rejected", "rejected", reason)
    assert [m.body for m in DossierMessage.select()] == [reason]
    subject, body = mails()["lea@example.lu"]
    assert subject == "Dossier ACD-2026-000001 : refusé" and "enregistré" not in body


@pytest.mark.parametrize(
    "status, key",
    [
        ("submitted", "accept"),  # not taken
        ("submitted", "reject"),
        ("submitted", "complement"),
        ("in_progress", "take"),
        ("complement", "accept"),  # waiting for the company
        ("accepted", "reject"),  # closed
        ("accepted", "take"),
        ("rejected", "accept"),
        ("rejected", "complement"),
    ],
)
def test_illegal_decisions_are_refused_and_change_nothing(world, status, key):
    found = factories.transmitted_dossier(world["space"], world["acd"], status=status)
    before = snapshot(found.id)
    with pytest.raises(dossier_queue.DecisionNotAllowed) as refused:
        dossier_queue.decide(world["agnes"], found.id, key, "Un motif")
    assert refused.value.status == 409
    assert str(dossiers.STATUSES[status]) in refused.value.message
    assert snapshot(found.id) == before


@pytest.mark.parametrize("status", ["submitted", "in_progress", "complement"])
def test_an_agent_writes_while_the_dossier_is_open(world, status):
    found = factories.transmitted_dossier(world["space"], world["acd"], status=status)
    with pytest.raises(dossiers.MessageMissing):
        dossier_queue.send_message(world["agnes"], found.id, "  ")
    assert OutboxMail.select().count() == 0
    dossier_queue.send_message(world["agnes"], found.id, "Votre dossier est complet.")
    assert [m.body for m in dossiers.thread(found)[0]] == ["Votre dossier est complet."]
    assert Dossier.get_by_id(found.id).status == status  # a message moves nothing
    subject, body = mails()["lea@example.lu"]
    assert subject == "Dossier ACD-2026-000001 : nouveau message" and "complet" not in body
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).get()
    assert (entry.action, entry.actor, entry.space_id) == (
        "dossier.agent_message",
        "Agnès Agent (ACD)",
        found.space_id,
    )


@pytest.mark.parametrize("status", ["accepted", "rejected"])
def test_a_closed_dossier_thread_takes_no_more_messages_the_company_could_not_answer(world, status):
    found = factories.transmitted_dossier(world["space"], world["acd"], status=status)
    before = snapshot(found.id)
    with pytest.raises(dossiers.ThreadClosed) as refused:
        dossier_queue.send_message(world["agnes"], found.id, "Encore un mot.")
    assert refused.value.status == 409
    assert snapshot(found.id) == before and OutboxMail.select().count() == 0


def test_a_dossier_filed_for_a_mandant_mails_both_spaces(world):
    fiona = factories.user("fiona")
    fiduciary = factories.space(fiona, name="Fiduciaire", company_name="Fidu SA", identifier="B222222")
    factories.holder_certification(world["space"])
    from services import spaces

    mandate = factories.taken_up_mandate(
        spaces.membership_for(world["space"].created_by, world["space"].id),
        spaces.membership_for(fiona, fiduciary.id),
    )
    found = factories.transmitted_dossier(
        fiduciary, world["acd"], mandate=mandate, mandant_space=world["space"], company_name="Guichet SARL"
    )
    OutboxMail.delete().execute()
    assert dossier_queue.dossier_of(world["agnes"], found.id).space.company_name == "Fidu SA"
    dossier_queue.decide(world["agnes"], found.id, "take")
    assert set(mails()) == {"fiona@example.lu", "lea@example.lu", "rita@example.lu"}


# --- Two agents at once ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, first, second",
    [
        ("submitted", ("take", ""), ("take", "")),
        ("in_progress", ("accept", ""), ("reject", "Incomplet.")),
        ("in_progress", ("complement", "Le PV, svp."), ("accept", "")),
    ],
)
def test_two_agents_deciding_at_once_one_wins_the_other_is_told(app, world, status, first, second):
    found = factories.transmitted_dossier(world["space"], world["acd"], status=status)
    events, audits = DossierEvent.select().count(), AuditEntry.select().count()

    def deciding(agent, decision):
        return lambda: dossier_queue.decide(agent, found.id, *decision)

    outcomes = at_once(app, [deciding(world["agnes"], first), deciding(world["agnes2"], second)])
    assert outcomes.count("ok") == 1, outcomes
    [lost] = [o for o in outcomes if o != "ok"]
    # Told by the conditional UPDATE, or by the status read if the other had committed already.
    assert isinstance(lost, (dossiers.StatusChanged, dossier_queue.DecisionNotAllowed)) and lost.status == 409
    won = (first, second)[outcomes.index("ok")]
    assert Dossier.get_by_id(found.id).status == dossier_queue.DECISIONS[won[0]].to
    assert str(dossiers.STATUSES[Dossier.get_by_id(found.id).status]) in lost.message
    assert DossierEvent.select().count() == events + 1 and AuditEntry.select().count() == audits + 1
    assert [m.body for m in DossierMessage.select()] == ([won[1]] if won[1] else [])
    assert OutboxMail.select().count() == 2  # one decision's mails, to Léa and Rita


def test_a_stale_decision_gets_status_changed(world):
    """The agent's page was loaded before another agent decided: the conditional UPDATE
    refuses, whatever the status read before it."""
    found = factories.transmitted_dossier(world["space"], world["acd"], status="in_progress")
    stale = dossier_queue.dossier_of(world["agnes"], found.id)
    dossier_queue.decide(world["agnes2"], found.id, "accept")
    with pytest.raises(dossiers.StatusChanged) as refused:
        with db.atomic():
            dossiers.change_status(stale, "rejected", agent=world["agnes"])
    assert "Accepté" in refused.value.message and Dossier.get_by_id(found.id).status == "accepted"
