"""Vérifier et signer on the service: the one transaction of a signature (status, reference
without gaps, receipt, history, mails, audit) or nothing; the fresh one-time code under the
login's rules; stale pages, incomplete dossiers, who may sign; a complement signed again; a
mandant's receipt; and signatures at the same time."""

import io
from datetime import datetime

import pypdf
import pytest

import factories
from helpers import at_once
from models import AuditEntry, Dossier, DossierEvent, OutboxMail, Receipt, ReferenceCounter, Throttle, User
from services import auth, dossier_queue, dossiers, procedures, receipts, spaces, submission, throttle

pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def lea(app, clock):
    """Léa administers the Guichet SARL space, certified for the ACD's fiches de retenue; Marc
    manages it with her."""
    lea = factories.user("lea")
    space = factories.space(lea)
    factories.procedure()
    factories.holder_certification(space)
    factories.member(space, factories.user("marc", email="marc@example.lu"), "manager")
    return spaces.membership_for(lea, space.id)


def manager(lea):
    return spaces.membership_for(User.get(User.userid == "marc"), lea.space_id)


def sign(member, dossier, code=None, version=None):
    return submission.submit(
        member,
        member.user,
        dossier.id,
        dossier.version if version is None else version,
        code or factories.otp(),
        "127.0.0.1",
    )


def state(dossier_id):
    """Everything a refused signature must leave as it was."""
    return {
        "dossier": Dossier.select().where(Dossier.id == dossier_id).tuples().get(),
        "receipts": Receipt.select().count(),
        "events": DossierEvent.select().count(),
        "counters": list(ReferenceCounter.select(ReferenceCounter.last).tuples()),
        "mails": OutboxMail.select().count(),
        "submitted": AuditEntry.select().where(AuditEntry.action == "dossier.submitted").count(),
    }


def test_a_signature_transmits_the_dossier_in_one_go(lea, clock):
    draft = factories.signable_dossier(lea.space)
    dossier, receipt = sign(lea, draft)
    stored = Dossier.get_by_id(draft.id)
    assert (stored.status, stored.reference, stored.submitted_at) == (
        "submitted",
        "ACD-2026-000001",
        clock.now(),
    )
    assert stored.version == draft.version + 1 and dossier.reference == stored.reference
    assert (receipt.number, receipt.signed_by_id, receipt.signer) == (
        1,
        lea.user_id,
        "Léa Guichet (UserID : lea)",
    )
    assert receipt.data_sha256 == procedures.data_sha256(stored.data)
    assert [(e.action, e.status, e.actor) for e in dossiers.history(stored)] == [
        ("submitted", "submitted", "Léa Guichet")
    ]
    mails = {mail.to: mail for mail in OutboxMail.select()}
    assert set(mails) == {"lea@example.lu", "marc@example.lu"}
    mail = mails["marc@example.lu"]
    assert mail.subject == "Dossier ACD-2026-000001 transmis"
    assert f"/espaces/{lea.space_id}/dossiers/{draft.id}" in mail.body_text
    assert "Marc Guichet" not in mail.body_text and "1983081974925" not in mail.body_text  # a link, not data
    entry = AuditEntry.get(AuditEntry.action == "dossier.submitted")
    assert (entry.actor_id, entry.space_id) == (lea.user_id, lea.space_id)
    assert entry.details["reference"] == "ACD-2026-000001" and entry.details["receipt"] == 1


def test_references_follow_each_other_per_administration_and_year(lea, clock):
    assert sign(lea, factories.signable_dossier(lea.space))[0].reference == "ACD-2026-000001"
    clock.advance(seconds=30)
    assert sign(lea, factories.signable_dossier(lea.space))[0].reference == "ACD-2026-000002"
    factories.service(
        factories.administration("ITM", "Inspection du travail et des mines"), "elections-sociales"
    )
    factories.holder_certification(lea.space, "elections-sociales")
    clock.advance(seconds=30)
    itm = factories.signable_dossier(lea.space, "ITM", "elections-sociales")
    assert sign(lea, itm)[0].reference == "ITM-2026-000001"
    # 31 December, 23:30 UTC: already the new year in Luxembourg.
    clock.set_now(datetime(2026, 12, 31, 23, 30))
    assert sign(lea, factories.signable_dossier(lea.space))[0].reference == "ACD-2027-000001"


def test_each_code_signs_once_and_a_code_used_to_log_in_does_not_sign(lea, clock):
    first, second = factories.signable_dossier(lea.space), factories.signable_dossier(lea.space)
    code = factories.otp()
    sign(lea, first, code)
    before = state(second.id)
    with pytest.raises(submission.WrongCode) as refused:
        sign(lea, second, code)
    assert refused.value.status == 422 and refused.value.field == "otp"
    assert state(second.id) == before
    clock.advance(seconds=30)
    auth.check_otp(lea.user, factories.otp(), "127.0.0.1")  # the login's code of this step
    with pytest.raises(submission.WrongCode):
        sign(lea, second)
    clock.advance(seconds=30)
    assert sign(lea, second)[0].status == "submitted"


def test_wrong_codes_count_with_the_logins_and_are_throttled(lea, clock):
    draft = factories.signable_dossier(lea.space)
    before = state(draft.id)
    for _attempt in range(throttle.MAX_IN_WINDOW):
        with pytest.raises(submission.WrongCode):
            sign(lea, draft, "000000")
    counter = Throttle.get(Throttle.key == auth.login_key("lea"))
    assert counter.window_failures == throttle.MAX_IN_WINDOW and counter.blocked_until is not None
    with pytest.raises(throttle.Throttled) as waiting:
        sign(lea, draft)  # even the right code waits
    assert waiting.value.status == 429 and 0 < waiting.value.retry_after <= 15 * 60
    assert state(draft.id) == before
    clock.advance(minutes=15)
    assert sign(lea, draft)[0].status == "submitted"


def test_a_stale_page_or_a_second_submit_changes_nothing(lea, clock):
    draft = factories.signable_dossier(lea.space)
    Dossier.update(version=Dossier.version + 1).where(Dossier.id == draft.id).execute()  # another tab saved
    before = state(draft.id)
    with pytest.raises(submission.StaleVersion) as refused:
        sign(lea, draft, version=draft.version)
    assert refused.value.status == 409 and state(draft.id) == before
    draft = Dossier.get_by_id(draft.id)
    sign(lea, draft)
    clock.advance(seconds=30)
    with pytest.raises(dossiers.NotEditable):  # the same page posted again
        sign(lea, draft)
    assert Receipt.select().count() == 1


def test_an_incomplete_dossier_is_not_signed_and_keeps_its_code(lea):
    draft = factories.signable_dossier(lea.space)
    draft.data = {**draft.data, "company_name": " ", "employees": [], "minutes": "999999"}
    draft.save()
    before = state(draft.id)
    code = factories.otp()
    with pytest.raises(submission.Incomplete) as refused:
        sign(lea, draft, code)
    assert refused.value.status == 422
    assert refused.value.problems == {
        1: {"company_name": "Ce champ est obligatoire."},
        2: {"employees": "Ajoutez au moins 1 ligne."},
        3: {"minutes": "Ce champ est obligatoire."},
    }
    assert state(draft.id) == before
    draft.data = {
        **draft.data,
        "company_name": "Guichet SARL",
        "employees": [{"matricule": "", "name": "Léa"}],
    }
    draft.save()
    assert submission.problems(Dossier.get_by_id(draft.id)) == {
        2: {"employees-0-matricule": "Ce champ est obligatoire."},
        3: {"minutes": "Ce champ est obligatoire."},
    }
    complete = factories.signable_dossier(lea.space)
    assert sign(lea, complete, code)[1].number == 1  # the code was not spent on the refusal


def test_who_may_sign(lea):
    draft = factories.signable_dossier(lea.space)
    rita = factories.user("rita", email="rita@example.lu")
    factories.member(lea.space, rita, "reader")
    reader = spaces.membership_for(rita, lea.space_id)
    with pytest.raises(spaces.NotAllowed):
        sign(reader, draft)
    eve = factories.user("eve", email="eve@example.lu")
    elsewhere = spaces.membership_for(eve, factories.space(eve, name="Ailleurs").id)
    with pytest.raises(dossiers.DossierNotFound):
        sign(elsewhere, draft)
    assert Dossier.get_by_id(draft.id).status == "draft"


def test_a_failure_half_way_leaves_a_draft_and_takes_no_reference(lea, clock, monkeypatch):
    draft = factories.signable_dossier(lea.space)
    before = state(draft.id)

    def broken(*args, **kwargs):
        raise RuntimeError("the signing key cannot be read")

    monkeypatch.setattr(receipts, "sign", broken)
    with pytest.raises(RuntimeError):
        sign(lea, draft)
    after = state(draft.id)
    assert after == {**before, "counters": after["counters"]} and after["counters"] in ([], [(0,)])
    assert Dossier.get_by_id(draft.id).reference is None
    monkeypatch.undo()
    clock.advance(seconds=30)  # the code was spent: the next one
    other = factories.signable_dossier(lea.space)
    assert sign(lea, other)[0].reference == "ACD-2026-000001"  # no gap


def test_a_complement_signed_again_gets_a_new_receipt_and_the_first_stays_valid(lea, clock):
    draft = factories.signable_dossier(lea.space)
    _dossier, first = sign(lea, draft)
    agent = factories.agent("ACD", "agent.acd")
    dossier_queue.decide(agent, draft.id, "take")
    dossier_queue.decide(agent, draft.id, "complement", "Joignez le procès-verbal signé.")
    draft = Dossier.get_by_id(draft.id)
    draft.data = {**draft.data, "period": "2027"}
    draft.save()
    clock.advance(minutes=5)
    dossier, second = sign(lea, draft)
    assert (dossier.status, dossier.reference, second.number) == ("submitted", "ACD-2026-000001", 2)
    assert [e.action for e in dossiers.history(dossier)] == [
        "submitted",
        "taken",
        "complement",
        "resubmitted",
    ]
    assert second.data_sha256 != first.data_sha256
    assert receipts.verify(bytes(first.pdf)) and receipts.verify(bytes(second.pdf))
    assert (
        "Accusé de réception n° 2" in pypdf.PdfReader(io.BytesIO(bytes(second.pdf))).pages[0].extract_text()
    )
    assert (
        OutboxMail.select()
        .where(OutboxMail.subject == "Dossier ACD-2026-000001 : complément transmis")
        .count()
    )
    assert ReferenceCounter.get().last == 1


def test_a_mandants_receipt_names_the_company_and_the_mandatary(lea):
    fiona = factories.user("fiona", email="fiona@example.lu")
    fidu = factories.space(fiona, name="Fiduciaire du Centre", company_name="Fidu SA", identifier="B222222")
    fiduciary = spaces.membership_for(fiona, fidu.id)
    mandate = factories.taken_up_mandate(lea, fiduciary)
    draft = factories.signable_dossier(
        fidu,
        mandate=mandate,
        mandant_space=lea.space_id,
        company_identifier="B123456",
        company_name="Guichet SARL",
    )
    dossier, receipt = sign(fiduciary, draft)
    text = pypdf.PdfReader(io.BytesIO(bytes(receipt.pdf))).pages[0].extract_text()
    assert "Entreprise Guichet SARL (B123456)" in text
    assert "Déposé par Fidu SA (mandataire)" in text and "Espace du mandataire" not in text
    assert "(UserID : fiona)" in text
    assert {mail.to for mail in OutboxMail.select()} >= {
        "fiona@example.lu",
        "lea@example.lu",
        "marc@example.lu",
    }
    with pytest.raises(dossiers.FiledByMandatary):  # the mandant reads it, never signs it
        sign(lea, Dossier.get_by_id(dossier.id))


def test_two_dossiers_of_one_administration_signed_at_once_get_consecutive_references(lea, app):
    marc = manager(lea)
    first, second = factories.signable_dossier(lea.space), factories.signable_dossier(lea.space)
    outcomes = at_once(app, [lambda: sign(lea, first), lambda: sign(marc, second)])
    assert outcomes == ["ok", "ok"]
    assert sorted(Dossier.select(Dossier.reference).where(Dossier.reference.is_null(False)).tuples()) == [
        ("ACD-2026-000001",),
        ("ACD-2026-000002",),
    ]
    assert ReferenceCounter.get().last == 2 and Receipt.select().count() == 2


def test_the_same_dossier_signed_twice_at_once_gets_one_receipt(lea, app):
    marc = manager(lea)
    draft = factories.signable_dossier(lea.space)
    outcomes = at_once(app, [lambda: sign(lea, draft), lambda: sign(marc, draft)])
    assert sorted(outcomes, key=str).count("ok") == 1
    [refused] = [outcome for outcome in outcomes if outcome != "ok"]
    assert isinstance(refused, (submission.StaleVersion, dossiers.StatusChanged, dossiers.NotEditable))
    assert Receipt.select().count() == 1 and ReferenceCounter.get().last == 1
    assert DossierEvent.select().where(DossierEvent.action == "submitted").count() == 1
