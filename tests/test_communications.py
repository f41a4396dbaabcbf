"""The rules of communications, called on the service: what an agent sends and to whom (one
company, or every company certified for a service), everything checked before anything is
written; who sees and who reads (a certified space of the company, a future one too, never
another company's); the read receipt (the first per space, once under concurrency); one
mail per person, without the content; the sent list and its receipts, each administration
its own; decisions as communications; merges."""

import pytest

import factories
from helpers import at_once
from models import (
    Administration,
    AuditEntry,
    Certification,
    Communication,
    CommunicationDocument,
    CommunicationRead,
    CommunicationRecipient,
    Membership,
    OutboxMail,
    Service,
    Space,
)
from services import catalogue, communications, merge, sent_communications, spaces

pytestmark = pytest.mark.usefixtures("request_context")

PDF = factories.PDF


@pytest.fixture
def world(app, clock):
    """Guichet SARL (B123456) has a certified space (Léa, Marc) and an uncertified one
    (Ugo, and Léa again); Boulangerie SA (B777777) a certified space of its own (Bea).
    Agnès is an ACD agent, Igor an ITM agent."""
    catalogue.load()
    lea = factories.user("lea")
    marc, ugo, bea = (factories.user(name, first_name=name.title()) for name in ("marc", "ugo", "bea"))
    certified = factories.space(lea, name="Guichet")
    factories.member(certified, marc, "reader")
    factories.holder_certification(certified)
    uncertified = factories.space(ugo, name="Guichet bis")
    factories.member(uncertified, lea, "reader")
    other = factories.space(bea, name="Boulangerie", company_name="Boulangerie SA", identifier="B777777")
    factories.holder_certification(other, "securite-alimentaire")
    return {
        "lea": lea,
        "marc": marc,
        "ugo": ugo,
        "bea": bea,
        "certified": certified,
        "uncertified": uncertified,
        "other": other,
        "agnes": factories.agent("ACD", "agent.acd"),
        "igor": factories.agent("ITM", "agent.itm", name="Igor Agent"),
    }


def member(world, name, space):
    return spaces.membership_for(world[name], world[space].id)


def send(world, agent="agnes", audience="company", identifier="B123456", service=None, **fields):
    fields.setdefault("subject", "Rappel : déclaration annuelle")
    fields.setdefault("body", "Votre déclaration est attendue avant le 31 mars.")
    return sent_communications.send(
        world[agent],
        audience,
        identifier,
        service,
        fields["subject"],
        fields["body"],
        fields.get("uploads", ()),
    )


def written():
    """What a refused send must leave as it was."""
    return (
        Communication.select().count(),
        CommunicationRecipient.select().count(),
        CommunicationDocument.select().count(),
        OutboxMail.select().count(),
        AuditEntry.select().count(),
    )


# --- Sending -----------------------------------------------------------------------------------


def test_a_message_to_a_company_reaches_its_spaces_and_mails_each_member_once(world, clock):
    uploads = [sent_communications.Upload("Avis d'imposition 2025.pdf", PDF)]
    communication, reached = send(world, identifier=" b 123456 ", body="Ligne 1\r\nLigne 2", uploads=uploads)
    assert reached == 2  # the certified space and the uncertified one
    assert (communication.kind, communication.administration.code, communication.sender) == (
        "message",
        "ACD",
        "Agnès Agent (ACD)",
    )
    assert communication.body == "Ligne 1\nLigne 2" and communication.sent_at == clock.now()
    assert communication.audience == "Entreprise B123456 (Guichet SARL)"
    [recipient] = CommunicationRecipient.select()
    assert (recipient.company_identifier, recipient.space_id) == ("B123456", None)
    [document] = CommunicationDocument.select()
    assert (document.name, document.content_type, document.size, bytes(document.content)) == (
        "Avis-d-imposition-2025.pdf",
        "application/pdf",
        len(PDF),
        PDF,
    )
    # Léa is in both spaces: one mail, linking to the space that reads it.
    mails = {m.to: m for m in OutboxMail.select()}
    assert sorted(mails) == ["lea@example.lu", "marc@example.lu", "ugo@example.lu"]
    link = f"/espaces/{world['certified'].id}/communications/{communication.id}"
    assert link in mails["lea@example.lu"].body_text
    for mail in mails.values():
        assert mail.subject == "Nouvelle communication : Administration des contributions directes"
        for content in ("Rappel", "déclaration", "Ligne 1", "Avis"):
            assert content not in mail.subject + mail.body_text + mail.body_html
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
    assert (entry.action, entry.actor_id, entry.details) == (
        "communication.sent",
        world["agnes"].id,
        {
            "communication_id": communication.id,
            "audience": "company",
            "company": "B123456",
            "service": None,
            "companies": 1,
            "documents": 1,
            "spaces": 2,
        },
    )


def test_a_company_without_a_space_yet_gets_it_in_its_future_spaces(world):
    communication, reached = send(world, identifier="B999999")
    assert reached == 0 and communication.audience == "Entreprise B999999"
    assert OutboxMail.select().count() == 0
    newcomer = factories.user("nina")
    space = factories.space(newcomer, name="Nouvelle", company_name="Nouvelle SA", identifier="B999999")
    factories.holder_certification(space)
    found = spaces.membership_for(newcomer, space.id)
    assert [e.id for e in communications.space_list(found)[0]] == [communication.id]
    assert communications.unread_count(found) == 1


def test_a_message_to_every_company_certified_for_a_service(world, clock):
    acd = Service.get(slug="fiches-retenue")
    # Certified for the service: Guichet (its live certification), Client SA; not the expired
    # one, the revoked one, a deleted space's, another service's (Boulangerie, ALVA).
    for identifier, name, fields in (
        ("B300001", "Client SA", {}),
        ("B300002", "Expirée SA", {"ends_at": clock.now()}),
        ("B300003", "Révoquée SA", {"revoked_at": clock.now()}),
        ("B300004", "Supprimée SA", {"space": {"deleted_at": clock.now()}}),
    ):
        owner = factories.user(f"u{identifier}")
        space = factories.space(
            owner, name=name, company_name=name, identifier=identifier, **fields.pop("space", {})
        )
        factories.holder_certification(space, **fields)
    communication, reached = send(world, audience="service", identifier="", service=str(acd.id))
    companies = {r.company_identifier: r.company_name for r in CommunicationRecipient.select()}
    assert companies == {"B123456": "Guichet SARL", "B300001": "Client SA"}
    assert reached == 3  # Guichet's two spaces and Client SA's
    assert communication.audience == "Entreprises certifiées pour « Fiches de retenue d'impôt »"
    details = AuditEntry.select().order_by(AuditEntry.id.desc()).first().details
    assert (details["audience"], details["service"], details["company"], details["companies"]) == (
        "service",
        "fiches-retenue",
        None,
        2,
    )


def test_only_a_service_on_offer_of_the_agents_administration(world):
    itm = Service.get(slug="elections-sociales")
    acd = Service.get(slug="fiches-retenue")
    before = written()
    for service in (str(itm.id), "", "abc", "99999999999", "²"):
        with pytest.raises(sent_communications.ServiceMissing):
            send(world, audience="service", service=service)
    with pytest.raises(sent_communications.NobodyCertified):
        send(world, "igor", audience="service", service=str(itm.id))
    Service.update(active=False).where(Service.id == acd.id).execute()
    with pytest.raises(sent_communications.ServiceMissing):
        send(world, audience="service", service=str(acd.id))
    assert [s.slug for s in sent_communications.audience_services(world["agnes"])] == []
    Service.update(active=True).where(Service.id == acd.id).execute()
    Administration.update(active=False).where(Administration.code == "ACD").execute()  # the helpdesk's
    with pytest.raises(sent_communications.ServiceMissing):
        send(world, audience="service", service=str(acd.id))
    assert sent_communications.audience_services(world["agnes"]) == []
    assert written() == before


@pytest.mark.parametrize(
    "fields, refusal",
    [
        ({"subject": "  "}, sent_communications.SubjectMissing),
        ({"body": " \n "}, sent_communications.BodyMissing),
        ({"body": "x" * 20_001}, sent_communications.BodyTooLong),
        ({"identifier": "B012345"}, sent_communications.InvalidCompany),
        ({"identifier": ""}, sent_communications.InvalidCompany),
        (
            {"uploads": [sent_communications.Upload("photo.png", factories.PNG)]},
            sent_communications.DocumentRefused,
        ),
        (
            {
                "uploads": [
                    sent_communications.Upload("gros.pdf", PDF + b"0" * sent_communications.MAX_DOCUMENT)
                ]
            },
            sent_communications.DocumentRefused,
        ),
        (
            {"uploads": [sent_communications.Upload(f"{n}.pdf", PDF) for n in range(6)]},
            sent_communications.TooManyDocuments,
        ),
    ],
)
def test_everything_is_checked_before_anything_is_written(world, fields, refusal):
    before = written()
    with pytest.raises(refusal) as refused:
        send(world, **fields)
    assert refused.value.status == 422 and refused.value.field
    assert written() == before


def test_empty_file_inputs_are_no_documents(world):
    send(world, uploads=[sent_communications.Upload("", b"")] * 6)
    assert CommunicationDocument.select().count() == 0


def test_a_failure_half_way_sends_nothing(world, monkeypatch):
    """One transaction: a database error after the communication is written takes it back,
    with its recipients, documents and mails."""
    before = written()

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(sent_communications.audit, "record", broken)
    with pytest.raises(RuntimeError):
        send(world, uploads=[sent_communications.Upload("a.pdf", PDF)])
    assert written() == before


# --- Who sees, who reads -------------------------------------------------------------------------


def test_a_certified_space_reads_an_uncertified_one_only_lists(world):
    communication, _reached = send(world)
    entries, total, certified = communications.space_list(member(world, "lea", "certified"))
    assert (total, certified) == (1, True)
    assert (entries[0].subject, entries[0].readable, entries[0].read_at) == (
        "Rappel : déclaration annuelle",
        True,
        None,
    )
    entries, total, certified = communications.space_list(member(world, "ugo", "uncertified"))
    assert (total, certified) == (1, False)
    assert (entries[0].subject, entries[0].readable, entries[0].administration_code) == ("", False, "ACD")
    assert communications.unread_count(member(world, "ugo", "uncertified")) == 1
    with pytest.raises(communications.NotCertifiedToRead) as refused:
        communications.open_communication(member(world, "ugo", "uncertified"), world["ugo"], communication.id)
    assert refused.value.status == 403
    assert CommunicationRead.select().count() == 0
    # Another company's space never sees it: as if it did not exist.
    boulangerie = member(world, "bea", "other")
    assert communications.space_list(boulangerie)[:2] == ([], 0)
    with pytest.raises(communications.CommunicationNotFound) as missing:
        communications.open_communication(boulangerie, world["bea"], communication.id)
    assert missing.value.status == 404


def test_a_certification_that_ends_stops_the_reading(world, clock):
    communication, _reached = send(world)
    Certification.update(revoked_at=clock.now()).execute()
    lea = member(world, "lea", "certified")
    assert communications.space_list(lea)[0][0].readable is False
    with pytest.raises(communications.NotCertifiedToRead):
        communications.open_communication(lea, world["lea"], communication.id)


def test_a_decision_is_read_by_its_space_only_certified_or_not(world):
    decision = factories.communication(space_=world["uncertified"], subject="Demande refusée")
    ugo = member(world, "ugo", "uncertified")
    assert communications.space_list(ugo)[0][0].readable is True
    assert communications.open_communication(ugo, world["ugo"], decision.id).communication.subject == (
        "Demande refusée"
    )
    lea = member(world, "lea", "certified")  # the same company, another space
    assert communications.space_list(lea)[:2] == ([], 0)
    with pytest.raises(communications.CommunicationNotFound):
        communications.open_communication(lea, world["lea"], decision.id)


def test_a_private_space_has_no_communications(world):
    private = factories.space(world["lea"], name="Privé", kind="private")
    found = spaces.membership_for(world["lea"], private.id)
    send(world)
    assert communications.space_list(found) == ([], 0, False)
    assert communications.unread_count(found) == 0
    with pytest.raises(communications.CommunicationNotFound):
        communications.open_communication(found, world["lea"], Communication.get().id)


def test_deleted_and_merged_spaces_are_not_reached(world, clock):
    Space.update(deleted_at=clock.now()).where(Space.id == world["uncertified"].id).execute()
    _communication, reached = send(world)
    assert reached == 1
    assert sorted(m.to for m in OutboxMail.select()) == ["lea@example.lu", "marc@example.lu"]


def test_search_by_subject_and_administration_but_no_hidden_subject(world):
    send(world, subject="Rappel : déclaration annuelle")
    send(world, subject="Nouveau barème")
    lea = member(world, "lea", "certified")
    assert [e.subject for e in communications.space_list(lea, "barème")[0]] == ["Nouveau barème"]
    assert communications.space_list(lea, "contributions")[1] == 2
    assert communications.space_list(lea, "ACD")[1] == 2
    ugo = member(world, "ugo", "uncertified")
    assert communications.space_list(ugo, "barème")[1] == 0  # a subject it cannot read
    assert communications.space_list(ugo, "ACD")[1] == 2


# --- The read receipt ----------------------------------------------------------------------------


def test_the_first_reader_of_a_space_is_its_receipt(world, clock):
    communication, _reached = send(world, uploads=[sent_communications.Upload("avis.pdf", PDF)])
    lea = member(world, "lea", "certified")
    opened = communications.open_communication(lea, world["lea"], communication.id)
    assert (opened.read.reader, opened.read.read_at, opened.read.user_id) == (
        "Léa Guichet",
        clock.now(),
        world["lea"].id,
    )
    assert [d.name for d in opened.documents] == ["avis.pdf"]
    assert communications.unread_count(lea) == 0
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
    assert (entry.action, entry.actor_id, entry.space_id, entry.details) == (
        "communication.read",
        world["lea"].id,
        world["certified"].id,
        {"communication_id": communication.id, "administration": "ACD"},
    )
    audits, first = AuditEntry.select().count(), clock.now()
    clock.advance(hours=2)
    again = communications.open_communication(
        member(world, "marc", "certified"), world["marc"], communication.id
    )
    assert (again.read.reader, again.read.read_at) == ("Léa Guichet", first)
    assert CommunicationRead.select().count() == 1 and AuditEntry.select().count() == audits
    entry = communications.space_list(member(world, "marc", "certified"))[0][0]
    assert (entry.reader, entry.read_at) == ("Léa Guichet", opened.read.read_at)


def test_two_readers_at_once_make_one_receipt(app, world):
    communication, _reached = send(world)
    outcomes = at_once(
        app,
        [
            lambda name=name: communications.open_communication(
                member(world, name, "certified"), world[name], communication.id
            )
            for name in ("lea", "marc")
        ],
    )
    assert outcomes == ["ok", "ok"]
    assert CommunicationRead.select().count() == 1
    assert AuditEntry.select().where(AuditEntry.action == "communication.read").count() == 1


def test_documents_only_for_spaces_that_read(world):
    communication, _reached = send(world, uploads=[sent_communications.Upload("avis.pdf", PDF)])
    document = CommunicationDocument.get()
    got = communications.space_document(member(world, "lea", "certified"), communication.id, document.id)
    assert bytes(got.content) == PDF
    with pytest.raises(communications.NotCertifiedToRead):
        communications.space_document(member(world, "ugo", "uncertified"), communication.id, document.id)
    with pytest.raises(communications.CommunicationNotFound):
        communications.space_document(member(world, "bea", "other"), communication.id, document.id)
    other = factories.communication(documents=[PDF])
    foreign = CommunicationDocument.get(CommunicationDocument.communication == other.id)
    with pytest.raises(communications.CommunicationNotFound):  # a document of another communication
        communications.space_document(member(world, "lea", "certified"), communication.id, foreign.id)


# --- The administration's side ---------------------------------------------------------------------


def test_the_sent_list_and_receipts_are_the_administrations_own(world):
    communication, _reached = send(world, uploads=[sent_communications.Upload("avis.pdf", PDF)])
    communications.open_communication(member(world, "lea", "certified"), world["lea"], communication.id)
    itm, _reached = send(world, "igor", subject="Élections sociales")
    rows, total = sent_communications.sent(world["agnes"])
    assert total == 1 and [(r.subject, r.reads, r.reached) for r in rows] == [
        ("Rappel : déclaration annuelle", 1, 2)
    ]
    assert sent_communications.sent(world["agnes"], "Élections")[1] == 0
    assert sent_communications.sent(world["agnes"], "B123456")[1] == 1  # the audience
    receipts, total = sent_communications.receipts(
        sent_communications.sent_one(world["agnes"], communication.id)
    )
    assert total == 2
    assert [
        (r.name, r.communicationread and r.communicationread.reader, bool(r.reads)) for r in receipts
    ] == [
        ("Guichet", "Léa Guichet", True),
        ("Guichet bis", None, False),
    ]
    assert sent_communications.receipts(communication, "bis")[1] == 1
    for refused in (
        lambda: sent_communications.sent_one(world["agnes"], itm.id),
        lambda: sent_communications.agent_document(
            world["igor"], communication.id, CommunicationDocument.get().id
        ),
    ):
        with pytest.raises(communications.CommunicationNotFound):
            refused()
    assert (
        bytes(
            sent_communications.agent_document(
                world["agnes"], communication.id, CommunicationDocument.get().id
            ).content
        )
        == PDF
    )


def test_a_deleted_space_keeps_its_receipt(world, clock):
    communication, _reached = send(world)
    communications.open_communication(member(world, "lea", "certified"), world["lea"], communication.id)
    Space.update(deleted_at=clock.now()).where(Space.id == world["certified"].id).execute()
    [row] = sent_communications.sent(world["agnes"])[0]
    assert (row.reads, row.reached) == (1, 2)
    receipts, _total = sent_communications.receipts(communication)
    assert [r.name for r in receipts] == ["Guichet", "Guichet bis"]


# --- Merges --------------------------------------------------------------------------------------


def test_a_merge_moves_decisions_and_receipts_the_targets_read_wins(world, clock):
    """Guichet bis (certified too, for another service) merges into Guichet: the decision it
    got now shows in Guichet; its receipt of a message Guichet had not read moves, its
    receipt of one Guichet had read goes."""
    Membership.update(role="admin").where(Membership.user == world["lea"].id).execute()
    factories.holder_certification(world["uncertified"], "elections-sociales")
    both, _reached = send(world, subject="Lu des deux côtés")
    one, _reached = send(world, subject="Lu dans Guichet bis")
    decision = factories.communication(space_=world["uncertified"], subject="Décision")
    communications.open_communication(member(world, "lea", "certified"), world["lea"], both.id)
    clock.advance(hours=1)
    for read in (both, one):
        communications.open_communication(member(world, "ugo", "uncertified"), world["ugo"], read.id)
    assert communications.merge_count(world["uncertified"].id) == 3  # a decision, two receipts
    merge.merge(world["lea"], world["uncertified"].id, world["certified"].id)
    target = world["certified"].id
    reads = {r.communication_id: (r.space_id, r.reader) for r in CommunicationRead.select()}
    assert reads == {both.id: (target, "Léa Guichet"), one.id: (target, "Ugo Guichet")}
    assert CommunicationRecipient.get(CommunicationRecipient.communication == decision.id).space_id == target
    entries = communications.space_list(member(world, "lea", "certified"))[0]
    assert {e.subject for e in entries} == {"Lu des deux côtés", "Lu dans Guichet bis", "Décision"}
