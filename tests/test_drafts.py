"""purge-drafts: drafts are kept six months after their last change, their members warned by
mail 14 days before; a change since the warning asks for a new one before the new deadline."""

from datetime import datetime, timedelta

import pytest

import factories
from helpers import at_once
from models import AuditEntry, Dossier, DossierEvent, DossierFile, DossierMessage, OutboxMail
from services import assistant, dossiers, drafts, mail, spaces

pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def guichet(app, clock):
    """Léa administers Guichet SARL's space, Rita reads it; a draft was last changed now."""
    lea = factories.user("lea")
    space = factories.space(lea)
    factories.member(space, factories.user("rita", email="rita@example.lu"), "reader")
    factories.procedure()
    factories.holder_certification(space)
    return spaces.membership_for(lea, space.id)


def draft_of(member, **fields):
    dossier = factories.dossier(member.space, data={"company_name": "Secret de fabrication"}, **fields)
    dossiers.record_event(dossier, "created", user=member.user)
    return dossier


def change(member, dossier):
    """Someone comes back to the draft: Enregistrer le brouillon in the assistant."""
    version = Dossier.get_by_id(dossier.id).version
    assistant.save_step(member, member.user, dossier.id, 1, version, {"company_name": "Guichet"}, {}, "draft")


def exists(dossier):
    return Dossier.select().where(Dossier.id == dossier.id).exists()


def mails():
    return list(OutboxMail.select().order_by(OutboxMail.id))


SIX_MONTHS = datetime(2026, 9, 25, 7, 40, 40)  # the fixture's clock, six months on
WARNING_DAY = SIX_MONTHS - timedelta(days=14)


def test_members_are_warned_once_14_days_before_with_the_procedure_the_date_and_a_link(guichet, clock):
    dossier = draft_of(guichet)
    clock.set_now(WARNING_DAY - timedelta(seconds=1))
    assert drafts.purge_drafts() == (0, 0)
    assert mails() == []

    clock.set_now(WARNING_DAY)
    assert drafts.purge_drafts() == (1, 0)
    sent = {m.to: m for m in mails()}
    assert set(sent) == {"lea@example.lu", "rita@example.lu"}  # every member, readers too
    lea = sent["lea@example.lu"]
    assert lea.subject == "Brouillon bientôt supprimé : Démarche d'essai"
    assert "« Démarche d'essai »" in lea.body_text and "25 septembre 2026" in lea.body_text
    assert f"/espaces/{guichet.space_id}/dossiers/{dossier.id}" in lea.body_text
    assert "Secret" not in lea.body_text + lea.body_html  # never what the draft holds
    assert Dossier.get_by_id(dossier.id).purge_warned_at == WARNING_DAY

    clock.advance(days=1)
    assert drafts.purge_drafts() == (0, 0)  # once
    assert len(mails()) == 2


def test_a_draft_goes_at_its_deadline_with_its_files_history_and_thread(guichet, clock, runner):
    dossier = draft_of(guichet)
    kept = draft_of(guichet, status="submitted")  # only drafts go
    message = dossiers.add_message(dossier, "Une question", user=guichet.user)
    pdf = dict(name="pv.pdf", content_type="application/pdf", size=4, sha256="0" * 64, content=b"%PDF")
    DossierFile.create(dossier=dossier, field="pv", **pdf)  # at a step of the assistant
    DossierFile.create(dossier=dossier, message=message, **pdf)  # with a message
    clock.set_now(WARNING_DAY)
    assert drafts.purge_drafts() == (1, 0)
    clock.set_now(SIX_MONTHS - timedelta(seconds=1))
    assert drafts.purge_drafts() == (0, 0) and exists(dossier)

    clock.set_now(SIX_MONTHS)
    result = runner.invoke(args=["purge-drafts"])
    assert result.exit_code == 0, result.output
    assert "0 brouillons signalés avant suppression.\n1 brouillon supprimé." in result.output
    assert not exists(dossier) and exists(kept)
    for model in (DossierFile, DossierMessage, DossierEvent):
        assert not model.select().where(model.dossier == dossier.id).exists(), model.__name__
    assert DossierEvent.select().where(DossierEvent.dossier == kept.id).count() == 1
    entry = AuditEntry.get(AuditEntry.action == "dossier.drafts_purged")
    assert entry.details == {"count": 1, "dossier_ids": [dossier.id]}


def test_a_draft_changed_after_its_warning_is_warned_again_before_its_new_deadline(guichet, clock):
    dossier = draft_of(guichet)
    clock.set_now(WARNING_DAY)
    drafts.purge_drafts()
    clock.advance(days=3)
    change(guichet, dossier)
    clock.set_now(SIX_MONTHS + timedelta(days=1))
    assert drafts.purge_drafts() == (0, 0) and exists(dossier)

    new_deadline = datetime(2027, 3, 14, 7, 40, 40)  # six months after the change
    clock.set_now(new_deadline - timedelta(days=14, seconds=1))
    assert drafts.purge_drafts() == (0, 0)
    clock.advance(seconds=1)
    before = len(mails())
    assert drafts.purge_drafts() == (1, 0)
    assert "14 mars 2027" in mails()[before].body_text
    clock.set_now(new_deadline)
    assert drafts.purge_drafts() == (0, 1) and not exists(dossier)


def test_a_draft_found_late_is_warned_first_and_deleted_14_days_later(guichet, clock):
    """The command did not run for a while: no draft goes without its 14 days' notice."""
    dossier = draft_of(guichet)
    clock.set_now(SIX_MONTHS + timedelta(days=30))
    assert drafts.purge_drafts() == (1, 0)
    assert "8 novembre 2026" in mails()[0].body_text  # today + 14 days
    clock.advance(days=14, seconds=-1)
    assert drafts.purge_drafts() == (0, 0) and exists(dossier)
    clock.advance(seconds=1)
    assert drafts.purge_drafts() == (0, 1)


def test_a_draft_filed_for_a_mandant_warns_both_spaces(guichet, clock):
    fiona = factories.user("fiona")
    fiduciary = factories.space(fiona, name="Fiduciaire", company_name="Fidu SA", identifier="B222222")
    member = spaces.membership_for(fiona, fiduciary.id)
    mandate = factories.taken_up_mandate(guichet, member, days=365)
    dossier = dossiers.start(member, fiona, "acd-essai", mandate_id=mandate.id)
    OutboxMail.delete().execute()
    clock.set_now(WARNING_DAY)
    assert drafts.purge_drafts() == (1, 0)
    links = {m.to: m.body_text for m in mails()}
    assert set(links) == {"lea@example.lu", "rita@example.lu", "fiona@example.lu"}
    assert f"/espaces/{fiduciary.id}/dossiers/{dossier.id}" in links["fiona@example.lu"]
    assert f"/espaces/{guichet.space_id}/dossiers/{dossier.id}" in links["lea@example.lu"]


def test_the_warning_reaches_the_members_by_smtp(guichet, clock, smtp):
    draft_of(guichet)
    clock.set_now(WARNING_DAY)
    drafts.purge_drafts()
    assert mail.deliver_due() == (2, 0)
    received = {m["To"]: m for m in smtp.wait_for(2)}
    body = received["lea@example.lu"].get_body(("plain",)).get_content()
    assert "sera supprimé le 25 septembre 2026" in body


def test_two_runs_at_once_warn_once(app, guichet, clock):
    draft_of(guichet)
    clock.set_now(WARNING_DAY)
    outcomes = at_once(app, [drafts.purge_drafts, drafts.purge_drafts])
    assert outcomes == ["ok", "ok"]
    assert sorted(m.to for m in mails()) == ["lea@example.lu", "rita@example.lu"]


@pytest.mark.parametrize(
    "changed,deadline",
    [
        (datetime(2026, 3, 25, 10, 0), datetime(2026, 9, 25, 10, 0)),
        (datetime(2026, 8, 31, 10, 0), datetime(2027, 2, 28, 10, 0)),  # a shorter month
        (datetime(2027, 8, 31, 10, 0), datetime(2028, 2, 29, 10, 0)),  # a leap year
        (datetime(2026, 12, 1, 0, 0), datetime(2027, 6, 1, 0, 0)),
    ],
)
def test_six_calendar_months(changed, deadline):
    assert drafts.months_later(changed, drafts.RETENTION_MONTHS) == deadline
    assert deadline - changed >= drafts.SHORTEST_RETENTION
