"""The dossiers' core: who sees and acts on a dossier, starting one for the space's company
or a mandant's, the list, the status machine and its concurrency, the notifications."""

import pytest
from peewee import IntegrityError

import factories
from helpers import at_once, count_queries
from models import Certification, Dossier, DossierEvent, Membership, OutboxMail, User, db
from services import dossiers, spaces

pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def guichet(app):
    """Léa administers the Guichet SARL space, certified for the ACD's fiches de retenue."""
    factories.procedure()
    return factories.certified_member()


def test_start_files_a_draft_for_the_space_company_with_its_history(guichet):
    dossier = dossiers.start(guichet, guichet.user, "acd-essai")
    assert (dossier.status, dossier.company_identifier, dossier.space_id) == (
        "draft",
        "B123456",
        guichet.space_id,
    )
    assert [event.action for event in dossiers.history(dossier)] == ["created"]
    assert dossiers.dossier_for(guichet, dossier.id, "edit").id == dossier.id


def test_a_procedure_requiring_a_certification_is_refused_to_an_uncertified_space(guichet):
    other = factories.space(guichet.user, name="Autre", identifier="B654321")
    member = spaces.membership_for(guichet.user, other.id)
    with pytest.raises(dossiers.CertificationRequired):
        dossiers.start(member, guichet.user, "acd-essai")
    assert Dossier.select().count() == 0


def test_procedure_without_service_is_open_to_every_professional_space(guichet):
    factories.procedure("lbr-essai", "LBR", None)
    other = factories.space(guichet.user, name="Autre", identifier="B654321")
    member = spaces.membership_for(guichet.user, other.id)
    assert dossiers.start(member, guichet.user, "lbr-essai").status == "draft"


def test_unknown_procedure_is_404(guichet):
    with pytest.raises(dossiers.ProcedureNotFound) as refused:
        dossiers.start(guichet, guichet.user, "nope")
    assert refused.value.status == 404


def test_another_space_does_not_see_the_dossier(guichet):
    dossier = factories.dossier(guichet.space)
    stranger = factories.user("marc")
    elsewhere = spaces.membership_for(stranger, factories.space(stranger, name="Ailleurs").id)
    with pytest.raises(dossiers.DossierNotFound):
        dossiers.dossier_for(elsewhere, dossier.id)


def test_reader_reads_but_neither_edits_nor_writes(guichet):
    dossier = factories.dossier(guichet.space)
    reader = factories.user("rita")
    factories.member(guichet.space, reader, "reader")
    member = spaces.membership_for(reader, guichet.space_id)
    assert dossiers.dossier_for(member, dossier.id).id == dossier.id
    for action in ("edit", "message"):
        with pytest.raises(spaces.NotAllowed):
            dossiers.dossier_for(member, dossier.id, action)
    with pytest.raises(spaces.NotAllowed):
        dossiers.start(member, reader, "acd-essai")


def test_a_transmitted_dossier_is_not_editable_but_can_be_written_about(guichet):
    dossier = factories.dossier(guichet.space, status="submitted")
    with pytest.raises(dossiers.NotEditable):
        dossiers.dossier_for(guichet, dossier.id, "edit")
    assert dossiers.dossier_for(guichet, dossier.id, "message").id == dossier.id


@pytest.fixture
def fiduciary(guichet):
    """Fiona's fiduciary space holds a live mandate of Guichet SARL for the fiches de retenue."""
    fiona = factories.user("fiona")
    space = factories.space(fiona, name="Fiduciaire", company_name="Fidu SA", identifier="B222222")
    member = spaces.membership_for(fiona, space.id)
    return member, factories.taken_up_mandate(guichet, member)


def test_a_mandatary_files_for_the_mandant_which_reads_it(guichet, fiduciary):
    member, mandate = fiduciary
    assert [m.id for m in dossiers.start_choice(member, "acd-essai").mandates] == [mandate.id]
    dossier = dossiers.start(member, member.user, "acd-essai", mandate_id=mandate.id)
    assert (dossier.company_identifier, dossier.mandant_space_id) == ("B123456", guichet.space_id)
    assert dossiers.company_record(dossier).id == guichet.space_id
    assert dossiers.dossier_for(guichet, dossier.id).id == dossier.id
    with pytest.raises(dossiers.FiledByMandatary):
        dossiers.dossier_for(guichet, dossier.id, "edit")
    assert [d.id for d in dossiers.listing(guichet)[0]] == [dossier.id]


def test_without_its_own_certification_a_mandatary_needs_the_mandate(guichet, fiduciary):
    member, mandate = fiduciary
    with pytest.raises(dossiers.CertificationRequired):
        dossiers.start(member, member.user, "acd-essai")
    with pytest.raises(dossiers.NoMandate):
        dossiers.start(member, member.user, "acd-essai", mandate_id=mandate.id + 1000)


def test_the_mandatary_loses_its_rights_the_moment_the_mandate_ends(guichet, fiduciary, clock):
    member, mandate = fiduciary
    dossier = dossiers.start(member, member.user, "acd-essai", mandate_id=mandate.id)
    Certification.update(revoked_at=clock.now()).where(Certification.id == mandate.id).execute()
    assert dossiers.dossier_for(member, dossier.id).id == dossier.id  # still readable
    with pytest.raises(dossiers.MandateEnded):
        dossiers.dossier_for(member, dossier.id, "edit")
    with pytest.raises(dossiers.NoMandate):
        dossiers.start(member, member.user, "acd-essai", mandate_id=mandate.id)


def test_listing_searches_and_filters(guichet):
    factories.dossier(guichet.space, reference="ACD-2026-000001", status="submitted")
    factories.dossier(guichet.space)
    rows, total = dossiers.listing(guichet, query="000001")
    assert (total, [d.reference for d in rows]) == (1, ["ACD-2026-000001"])
    assert dossiers.listing(guichet, status="draft")[1] == 1


def test_status_machine_refuses_illegal_moves_and_keeps_history(guichet):
    dossier = factories.dossier(guichet.space)
    with pytest.raises(dossiers.StatusChanged):
        with db.atomic():
            dossiers.change_status(dossier, "accepted")
    assert Dossier.get_by_id(dossier.id).status == "draft"
    with db.atomic():
        dossiers.change_status(dossier, "submitted", user=guichet.user)
    assert [(e.action, e.status) for e in dossiers.history(dossier)] == [("submitted", "submitted")]
    assert Dossier.get_by_id(dossier.id).version == 1


def test_the_database_refuses_an_unknown_status(guichet):
    dossier = factories.dossier(guichet.space)
    with pytest.raises(IntegrityError):
        with db.atomic():
            Dossier.update(status="lost").where(Dossier.id == dossier.id).execute()


def test_two_agents_deciding_at_once_one_wins(app, guichet):
    dossier = factories.dossier(guichet.space, status="in_progress")

    def decide(to):
        def call():
            with db.atomic():
                dossiers.change_status(Dossier.get_by_id(dossier.id), to)

        return call

    outcomes = at_once(app, [decide("accepted"), decide("rejected")])
    db.connect(reuse_if_open=True)
    assert sorted(type(o).__name__ if o != "ok" else o for o in outcomes) == ["StatusChanged", "ok"]
    won = ["accepted", "rejected"][outcomes.index("ok")]
    assert Dossier.get_by_id(dossier.id).status == won
    assert DossierEvent.select().count() == 1


def test_notify_members_mails_a_link_to_every_member_of_both_spaces(guichet, fiduciary):
    member, mandate = fiduciary
    dossier = dossiers.start(member, member.user, "acd-essai", mandate_id=mandate.id)
    OutboxMail.delete().execute()
    dossiers.notify_members(dossier, "Votre dossier a changé", "Le statut de votre dossier a changé.")
    mails = {m.to: m.body_text for m in OutboxMail.select()}
    assert set(mails) == {"lea@example.lu", "fiona@example.lu"}
    assert f"/dossiers/{dossier.id}" in mails["lea@example.lu"]


def test_notify_members_writes_a_large_space_s_mails_in_as_many_statements_as_a_small_one_s(guichet):
    dossier = factories.dossier(guichet.space, status="submitted")
    counts = {}
    for members in (3, 60):
        for n in range(Membership.select().count(), members):
            language = ("fr", "de", "en")[n % 3]
            factories.member(guichet.space, factories.user(f"membre{n}", language=language), "reader")
        OutboxMail.delete().execute()
        with count_queries() as queries:
            dossiers.notify_members(dossier, "Votre dossier a changé", "Le statut de votre dossier a changé.")
        counts[members] = queries.count
        mails = list(OutboxMail.select())
        assert sorted(m.to for m in mails) == sorted(u.email for u in User.select().join(Membership))
    assert counts[3] == counts[60], counts
    bodies = {m.to: m.body_text for m in mails}
    assert "Bitte antworten Sie nicht" in bodies["membre4@example.lu"]  # each in the member's language
    assert "merci de ne pas répondre" in bodies["membre3@example.lu"]
    assert all(f"/dossiers/{dossier.id}" in m.body_text for m in mails)


def test_messages_need_a_body_and_come_in_order(guichet):
    dossier = factories.dossier(guichet.space, status="submitted")
    with pytest.raises(dossiers.MessageMissing):
        dossiers.add_message(dossier, "  ", user=guichet.user)
    dossiers.add_message(dossier, "Bonjour", user=guichet.user)
    dossiers.add_message(dossier, "Merci", user=guichet.user)
    rows, total = dossiers.thread(dossier)
    assert (total, [m.body for m in rows]) == (2, ["Bonjour", "Merci"])
