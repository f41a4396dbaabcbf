"""Adhesions to the DGFiP's services, called on the service: J'adhère in a Mode expert space
and its checks (SIREN in the register, at least one service, the company's e-mail for the
Messagerie, a bank account for a Payer service when the register knows none, one adhesion
per company in progress), the code posted to the registered address, activation within 60
days exact (single use, under concurrency too; throttled), a new code once, withdrawal; who
may do what; the Messagerie reading the DGFiP's communications to the company; the list's
query budget."""

import io
import os
from datetime import timedelta

import pypdf
import pytest

import factories
from helpers import at_once, count_queries
from models import Adhesion, AuditEntry, Certification, Letter, Service, Throttle
from services import adhesions, communications, companies, letters, spaces, throttle

pytestmark = pytest.mark.usefixtures("request_context")

InvalidIban, HolderMissing = adhesions.InvalidIban, adhesions.AccountHolderMissing
ON_SQLITE = not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")


@pytest.fixture
def expert(app, clock):
    """Marie's Mode expert space; two companies of the register: Boulangerie Dupont (an
    e-mail, no bank account) and Garage Martin (an e-mail and a bank account)."""
    member = factories.expert_space()
    factories.registered_company(**factories.BOULANGERIE_DUPONT)
    factories.registered_company(**factories.GARAGE_MARTIN)
    return member


def slugs(*names):
    return [Service.get(Service.slug == f"dgfip-{name}").id for name in names]


def request(member, siren=factories.SIREN, services=("declarer-tva",), **given):
    return adhesions.request_adhesion(member, member.user, siren, slugs(*services), **given)


def letter_text(letter):
    pdf = letters.render_pdf([letter])
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def code_of(adhesion):
    return letters.carried_code(Letter.get_by_id(Adhesion.get_by_id(adhesion.id).letter_id))


def reload(row):
    return type(row).get_by_id(row.id)


def member_with_role(member, role, userid):
    person = factories.impots_user(f"{userid}@example.fr", first_name=userid.title())
    factories.member(member.space, person, role)
    return spaces.membership_for(person, member.space_id)


# --- J'adhère ------------------------------------------------------------------------------------


def test_adhering_posts_the_code_to_the_registered_address_in_the_dgfip_queue(expert, clock):
    adhesion = request(expert, " 404 833 048 ", ("messagerie", "declarer-tva"), company_email="C@Dupont.FR")
    assert (
        adhesion.company_identifier == factories.SIREN and adhesion.company_name == "Boulangerie Dupont SAS"
    )
    assert adhesion.company_email == "C@dupont.fr" and adhesion.iban == ""
    assert adhesion.status(clock.now()) == "pending"
    assert adhesion.code_expires_at == clock.now() + timedelta(days=60)
    letter = Letter.get_by_id(adhesion.letter_id)
    dgfip = adhesions.impots_administration()
    assert letter.administration_id == dgfip.id and list(letters.pending(dgfip.id)) == [letter]
    text = letter_text(letter)
    assert "Boulangerie Dupont SAS" in text and "12, rue des Lilas" in text and "69003 Lyon" in text
    # Who asks, from which space, and where the code goes: the company decides to hand it over.
    words = " ".join(text.split())
    assert "Marie Expert" in words and "numéro d'abonné 0612345678" in words
    assert "Saisir le code d'activation" in words
    code = code_of(adhesion)
    assert len(code.replace("-", "")) == 12 and code in text  # printed in groups of four
    assert adhesion.code_hash and code.replace("-", "") not in adhesion.code_hash  # only an HMAC
    entry = AuditEntry.get(AuditEntry.action == "adhesion.requested")
    assert entry.space_id == expert.space_id and code not in str(entry.details)


@pytest.mark.parametrize(
    "siren, services, given, error",
    [
        ("40483304", ("declarer-tva",), {}, companies.InvalidSiren),
        ("404833049", ("declarer-tva",), {}, companies.InvalidSiren),
        (factories.THIRD_SIREN, ("declarer-tva",), {}, companies.UnknownCompany),
        (factories.SIREN, (), {}, adhesions.NoServiceChosen),
        (factories.SIREN, ("messagerie",), {}, adhesions.CompanyEmailMissing),
        (
            factories.SIREN,
            ("messagerie",),
            {"company_email": "pas une adresse"},
            adhesions.InvalidCompanyEmail,
        ),
        (factories.SIREN, ("payer-tva",), {"account_holder": "Dupont"}, adhesions.IbanMissing),
        (
            factories.SIREN,
            ("payer-tva",),
            {"iban": "FR76 3000 6000 0112 3456 7890 188", "account_holder": "Dupont"},
            adhesions.InvalidIban,
        ),
        (
            factories.SIREN,
            ("payer-tva",),
            {"iban": "FR7630006000011234567890189"},
            HolderMissing,
        ),
        (
            factories.SIREN,
            ("payer-tva",),
            {"iban": "FR7630006000011234567890189", "account_holder": " \n "},
            HolderMissing,
        ),
    ],
)
def test_refusals_name_their_field_and_change_nothing(expert, siren, services, given, error):
    with pytest.raises(error) as refused:
        request(expert, siren, services, **given)
    assert refused.value.status == 422 and refused.value.field
    assert Adhesion.select().count() == 0 and Letter.select().count() == 0


def test_every_refused_field_is_said_at_once(expert):
    with pytest.raises(adhesions.AdhesionRefused) as refused:
        request(expert, factories.SIREN, ("messagerie", "payer-tva"), company_email="", iban="FR76 0000")
    assert [type(r) for r in refused.value.refusals] == [
        adhesions.CompanyEmailMissing,
        adhesions.InvalidIban,
        adhesions.AccountHolderMissing,
    ]
    assert refused.value.status == 422 and Adhesion.select().count() == 0


def test_a_service_not_on_offer_is_refused(expert):
    dgfip_service = Service.get(Service.slug == "dgfip-declarer-tva")
    other = Service.get(Service.slug == "fiches-retenue")
    for chosen in ([other.id], ["x"], [dgfip_service.id, other.id]):
        with pytest.raises(adhesions.NoServiceChosen):
            adhesions.request_adhesion(expert, expert.user, factories.SIREN, chosen)
    Service.update(active=False).where(Service.id == dgfip_service.id).execute()
    with pytest.raises(adhesions.NoServiceChosen):
        request(expert)
    assert Adhesion.select().count() == 0


def test_payer_needs_a_bank_account_only_when_the_register_knows_none(expert):
    garage = request(expert, factories.OTHER_SIREN, ("payer-tva",))  # the register's account
    assert garage.iban == "" and garage.account_holder == ""
    dupont = request(
        expert, services=("payer-tva",), iban="fr76 3000 6000 0112 3456 7890 189", account_holder="Dupont"
    )
    assert dupont.iban == "FR7630006000011234567890189" and dupont.account_holder == "Dupont"
    assert adhesions.mask_iban(dupont.iban) == "FR76 •••• 0189"


def test_one_adhesion_per_company_in_progress_and_an_expired_one_is_replaced(expert, clock):
    first = request(expert)
    with pytest.raises(adhesions.AlreadyAdhered):
        request(expert, services=("compte-fiscal",))
    clock.advance(days=60, seconds=1)
    second = request(expert, services=("compte-fiscal",))
    assert reload(first).status(clock.now()) == "withdrawn" and reload(first).code_hash is None
    adhesions.activate(expert, expert.user, second.id, code_of(second))
    with pytest.raises(adhesions.AlreadyAdhered):
        request(expert)
    adhesions.withdraw(expert, expert.user, second.id)
    assert request(expert).status(clock.now()) == "pending"  # after a withdrawal, again


def test_only_an_expert_space_adheres(app, clock):
    member, _adhesion, _code = factories.simplified_space()
    with pytest.raises(adhesions.NotAnExpertSpace):
        request(member)
    private = spaces.create_private_space(member.user)
    with pytest.raises(spaces.ProfessionalOnly):
        request(spaces.membership_for(member.user, private.id))


# --- Activating: the posted code ---------------------------------------------------------------


def test_the_code_is_valid_60_days_exactly(expert, clock):
    adhesion = request(expert)
    code = code_of(adhesion)
    clock.advance(days=60, seconds=1)
    with pytest.raises(adhesions.ActivationCodeExpired) as expired:
        adhesions.activate(expert, expert.user, adhesion.id, code)
    assert expired.value.status == 410 and reload(adhesion).status(clock.now()) == "expired"
    clock.advance(seconds=-1)  # the deadline itself
    activated = adhesions.activate(expert, expert.user, adhesion.id, code.lower())
    assert activated.status(clock.now()) == "active" and activated.code_hash is None


def test_an_expert_space_gets_proxy_certifications_for_the_company(expert, clock):
    adhesion = request(expert, services=("messagerie", "compte-fiscal"), company_email="c@dupont.fr")
    adhesions.activate(expert, expert.user, adhesion.id, factories_group(code_of(adhesion)))
    rows = list(Certification.select().order_by(Certification.service))
    assert [(c.kind, c.company_identifier, c.adhesion_id, c.service_id) for c in rows] == [
        ("proxy", factories.SIREN, adhesion.id, service_id)
        for service_id in slugs("messagerie", "compte-fiscal")
    ]
    assert all(c.status(clock.now()) == "active" for c in rows)
    assert AuditEntry.get(AuditEntry.action == "adhesion.activated").details["company"] == factories.SIREN
    with pytest.raises(adhesions.AlreadyActive):  # single use
        adhesions.activate(expert, expert.user, adhesion.id, code_of(adhesion) or "X")


def factories_group(code):
    """The code as the letter prints it: groups of four with dashes or spaces."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def test_a_simplified_space_gets_holder_certifications_for_every_service(app, clock):
    member, adhesion, code = factories.simplified_space()
    assert adhesions.waiting(member.space).adhesion.id == adhesion.id
    adhesions.activate(member, member.user, adhesion.id, code)
    certs = list(Certification.select().where(Certification.space == member.space_id))
    assert {c.service_id for c in certs} == {s.id for s in adhesions.offered_services()} and len(certs) == 4
    assert {c.kind for c in certs} == {"holder"} and communications.certified(member.space_id)
    assert adhesions.waiting(member.space) is None


def test_wrong_codes_are_counted_with_one_message_then_throttled(expert, clock):
    adhesion = request(expert)
    for _ in range(10):
        with pytest.raises(adhesions.InvalidActivationCode) as wrong:
            adhesions.activate(expert, expert.user, adhesion.id, "AAAA-BBBB-CCCC")
        assert wrong.value.status == 422
    with pytest.raises(throttle.Throttled) as throttled:
        adhesions.activate(expert, expert.user, adhesion.id, code_of(adhesion))  # even the right one
    assert throttled.value.status == 429 and 0 < throttled.value.retry_after <= 15 * 60
    assert reload(adhesion).activated_at is None
    assert AuditEntry.select().where(AuditEntry.action == "adhesion.code_failed").count() == 10
    clock.advance(minutes=15)
    adhesions.activate(expert, expert.user, adhesion.id, code_of(adhesion))
    assert Throttle.get(Throttle.key == f"code:user:{expert.user_id}").window_failures == 0


def test_a_new_code_once_and_the_old_one_dies(expert, clock):
    adhesion = request(expert)
    old = code_of(adhesion)
    clock.advance(days=59)
    adhesions.send_new_code(expert, expert.user, adhesion.id)
    renewed = reload(adhesion)
    new = code_of(renewed)
    # The old code's letter, never printed, left the queue: one letter, with the new code.
    assert new != old and Letter.select().count() == 1
    assert renewed.code_expires_at == clock.now() + timedelta(days=60)
    with pytest.raises(adhesions.AlreadyResent) as again:
        adhesions.send_new_code(expert, expert.user, adhesion.id)
    assert again.value.status == 409 and Letter.select().count() == 1
    with pytest.raises(adhesions.InvalidActivationCode):
        adhesions.activate(expert, expert.user, adhesion.id, old)
    clock.advance(days=59)
    adhesions.activate(expert, expert.user, adhesion.id, new)
    assert reload(adhesion).status(clock.now()) == "active"


def test_an_expired_code_is_renewed_by_a_new_code(app, clock):
    member, adhesion, _code = factories.simplified_space()
    clock.advance(days=61)
    assert adhesions.waiting(member.space).expired
    adhesions.send_new_code(member, member.user, adhesion.id)
    assert reload(adhesion).status(clock.now()) == "pending"
    adhesions.activate(member, member.user, adhesion.id, code_of(adhesion))
    assert reload(adhesion).status(clock.now()) == "active"


def test_withdrawing_revokes_the_certifications_and_the_code(expert, clock):
    active = request(expert)
    adhesions.activate(expert, expert.user, active.id, code_of(active))
    pending = request(expert, factories.OTHER_SIREN)
    code = code_of(pending)
    adhesions.withdraw(expert, expert.user, active.id)
    adhesions.withdraw(expert, expert.user, pending.id)
    assert Certification.get().revoked_at == clock.now()
    assert [reload(a).status(clock.now()) for a in (active, pending)] == ["withdrawn", "withdrawn"]
    with pytest.raises(adhesions.AdhesionWithdrawn):
        adhesions.activate(expert, expert.user, pending.id, code)
    with pytest.raises(adhesions.AdhesionWithdrawn):
        adhesions.withdraw(expert, expert.user, pending.id)
    assert AuditEntry.select().where(AuditEntry.action == "adhesion.withdrawn").count() == 2


# --- Who may do what ---------------------------------------------------------------------------


def test_another_space_s_adhesion_is_not_found(expert, clock):
    adhesion = request(expert)
    code = code_of(adhesion)
    other = factories.expert_space(factories.impots_user("paul@example.fr"), subscriber_number="0698765432")
    for act in (
        lambda: adhesions.activate(other, other.user, adhesion.id, code),
        lambda: adhesions.send_new_code(other, other.user, adhesion.id),
        lambda: adhesions.withdraw(other, other.user, adhesion.id),
        lambda: adhesions.adhesion_of(other, adhesion.id),
    ):
        with pytest.raises(adhesions.AdhesionNotFound) as refused:
            act()
        assert refused.value.status == 404
    assert reload(adhesion).status(clock.now()) == "pending" and Letter.select().count() == 1
    assert adhesions.listing(other) == ([], 0)


@pytest.mark.parametrize("role", ["manager", "reader"])
def test_admins_manage_others_see(expert, clock, role):
    adhesion = request(expert)
    code = code_of(adhesion)
    colleague = member_with_role(expert, role, role)
    for act in (
        lambda: request(colleague, factories.OTHER_SIREN),
        lambda: adhesions.activate(colleague, colleague.user, adhesion.id, code),
        lambda: adhesions.send_new_code(colleague, colleague.user, adhesion.id),
        lambda: adhesions.withdraw(colleague, colleague.user, adhesion.id),
    ):
        with pytest.raises(spaces.NotAllowed):
            act()
    lines, total = adhesions.listing(colleague)
    assert total == 1 and lines[0].adhesion.id == adhesion.id and lines[0].status == "pending"
    assert Adhesion.select().count() == 1 and Certification.select().count() == 0


# --- Concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.skipif(ON_SQLITE, reason="row locking and concurrent writers: PostgreSQL")
def test_one_code_entered_ten_times_at_once_activates_once(app, expert, clock):
    adhesion = request(expert, services=("messagerie", "declarer-tva"), company_email="c@dupont.fr")
    code = code_of(adhesion)
    admins = [expert] + [member_with_role(expert, "admin", f"admin{i}") for i in range(9)]
    outcomes = at_once(app, [lambda m=m: adhesions.activate(m, m.user, adhesion.id, code) for m in admins])
    assert outcomes.count("ok") == 1, outcomes
    assert all(o == "ok" or isinstance(o, adhesions.AlreadyActive) for o in outcomes), outcomes
    assert Certification.select().count() == 2
    assert AuditEntry.select().where(AuditEntry.action == "adhesion.code_failed").count() == 0


@pytest.mark.skipif(ON_SQLITE, reason="row locking and concurrent writers: PostgreSQL")
def test_one_company_adhered_twice_at_once_gives_one_adhesion(app, expert, clock):
    other = member_with_role(expert, "admin", "other")
    outcomes = at_once(app, [lambda m=m: request(m) for m in (expert, other)])
    assert sorted(o if o == "ok" else type(o).__name__ for o in outcomes) == ["AlreadyAdhered", "ok"]
    assert Adhesion.select().count() == 1 and Letter.select().count() == 1


# --- Listing ---------------------------------------------------------------------------------------


def test_the_list_is_newest_first_searchable_with_statuses_and_service_names(expert, clock):
    first = request(expert, services=("declarer-tva", "compte-fiscal"))
    clock.advance(minutes=1)
    second = request(expert, factories.OTHER_SIREN, ("payer-tva",))
    adhesions.activate(expert, expert.user, second.id, code_of(second))
    lines, total = adhesions.listing(expert)
    assert total == 2 and [line.adhesion.id for line in lines] == [second.id, first.id]
    assert lines[0].status == "active" and lines[0].services == ["Payer la TVA"]
    assert lines[1].services == ["Déclarer la TVA", "Consulter le compte fiscal"]
    assert [line.adhesion.id for line in adhesions.listing(expert, "garage")[0]] == [second.id]
    assert [line.adhesion.id for line in adhesions.listing(expert, "404 833")[0]] == [first.id]


def test_the_list_runs_the_same_queries_for_5_and_500_adhesions(expert):
    counts = []
    for n in (5, 500):
        factories.adhesions_rows(expert, n)
        with count_queries() as q:
            lines, total = adhesions.listing(expert, page=2 if n == 500 else 1)
        assert total == n and lines
        counts.append(q.count)
    assert counts[0] == counts[1] == 3


def test_which_spaces_are_impots_spaces(app, expert, clock):
    member, _adhesion, _code = factories.simplified_space(factories.impots_user("paul@example.fr"))
    token_space = factories.space(factories.user("lea"))
    assert adhesions.is_impots_space(expert.space) and adhesions.is_impots_space(member.space)
    with count_queries() as q:
        assert not adhesions.is_impots_space(token_space) and adhesions.is_impots_space(expert.space)
    assert q.count == 0


# --- The Messagerie -------------------------------------------------------------------------------


@pytest.fixture
def dgfip_messages(expert, clock):
    """The DGFiP writes to Boulangerie Dupont and to Garage Martin; the ACD to Boulangerie Dupont."""
    return {
        "dupont": factories.communication("DGFIP", factories.SIREN, subject="Votre avis de TVA"),
        "garage": factories.communication("DGFIP", factories.OTHER_SIREN, subject="Relance Garage"),
        "acd": factories.communication("ACD", factories.SIREN, subject="Fiches de retenue"),
    }


def listed(member):
    entries, total, _ = communications.space_list(member)
    return {entry.subject or f"(hidden {entry.id})" for entry in entries}, total


def test_the_messagerie_of_an_adhesion_reads_the_dgfip_s_messages_to_that_company(
    expert, clock, dgfip_messages
):
    assert listed(expert) == (set(), 0) and communications.unread_count(expert) == 0
    messagerie = request(expert, services=("messagerie",), company_email="c@dupont.fr")
    assert listed(expert) == (set(), 0)  # pending: nothing yet
    adhesions.activate(expert, expert.user, messagerie.id, code_of(messagerie))
    assert listed(expert) == ({"Votre avis de TVA"}, 1) and communications.unread_count(expert) == 1
    opened = communications.open_communication(expert, expert.user, dgfip_messages["dupont"].id)
    assert opened.communication.subject == "Votre avis de TVA"
    for other in ("garage", "acd"):  # another company's, another administration's
        with pytest.raises(communications.CommunicationNotFound):
            communications.open_communication(expert, expert.user, dgfip_messages[other].id)
    # Another service than the Messagerie reads nothing.
    garage = request(expert, factories.OTHER_SIREN, ("declarer-tva",))
    adhesions.activate(expert, expert.user, garage.id, code_of(garage))
    assert listed(expert)[1] == 1
    # Withdrawn: read no more.
    adhesions.withdraw(expert, expert.user, messagerie.id)
    assert listed(expert) == (set(), 0)
    with pytest.raises(communications.CommunicationNotFound):
        communications.open_communication(expert, expert.user, dgfip_messages["dupont"].id)


def test_the_messagerie_counts_in_who_a_message_reaches(expert, clock, dgfip_messages):
    from services import sent_communications

    messagerie = request(expert, services=("messagerie",), company_email="c@dupont.fr")
    adhesions.activate(expert, expert.user, messagerie.id, code_of(messagerie))
    from models import Space

    reached = {s.id for s in Space.select().where(communications.reached_spaces(dgfip_messages["dupont"].id))}
    assert reached == {expert.space_id}
    assert not Space.select().where(communications.reached_spaces(dgfip_messages["acd"].id)).exists()
    rows, total = sent_communications.receipts(dgfip_messages["dupont"])
    assert total == 1 and rows[0].id == expert.space_id and rows[0].reads


def test_the_space_list_s_queries_do_not_grow_with_adhesions(expert, clock, dgfip_messages):
    messagerie = request(expert, services=("messagerie",), company_email="c@dupont.fr")
    adhesions.activate(expert, expert.user, messagerie.id, code_of(messagerie))
    counts = []
    for n in (5, 300):
        factories.adhesions_rows(expert, n, status="active")
        factories.communications_to(factories.SIREN, n, "DGFIP")
        with count_queries() as q:
            entries, _total, _ = communications.space_list(expert)
            communications.unread_count(expert)
        assert entries
        counts.append(q.count)
    assert counts[0] == counts[1]


def test_j_adhere_posts_a_bounded_number_of_letters_a_day(expert, clock, monkeypatch):
    monkeypatch.setattr(adhesions, "LETTERS_PER_DAY", 1)
    request(expert)
    with pytest.raises(throttle.TooManySent) as refused:
        request(expert, factories.OTHER_SIREN)
    assert refused.value.status == 429 and refused.value.retry_after == 24 * 3600
    assert Adhesion.select().count() == 1 and Letter.select().count() == 1
    clock.advance(days=1)
    request(expert, factories.OTHER_SIREN)
    assert Letter.select().count() == 2


# --- A Mode simplifié space keeps its adhesion; merges -------------------------------------------


def test_a_simplified_space_s_own_adhesion_is_not_withdrawn(app, clock):
    member, adhesion, code = factories.simplified_space()
    adhesions.activate(member, member.user, adhesion.id, code)
    with pytest.raises(adhesions.OwnAdhesionKept) as refusal:
        adhesions.withdraw(member, member.user, adhesion.id)
    assert refusal.value.status == 409
    assert reload(adhesion).withdrawn_at is None
    assert Certification.select().where(Certification.revoked_at.is_null()).count() == 4


def test_adhesions_move_in_a_merge_and_one_company_twice_blocks_it(expert, clock):
    from services import merge

    moving = request(expert, factories.OTHER_SIREN)
    adhesions.activate(expert, expert.user, moving.id, code_of(moving))
    target = factories.expert_space(expert.user, subscriber_number="0698765432", name="Cabinet")
    plan = merge.preview(expert.user, expert.space_id, target.space_id)
    assert not [c for c in plan.conflicts if c.blocking]
    merge.merge(expert.user, expert.space_id, target.space_id)
    assert reload(moving).space_id == target.space_id
    assert Certification.get(Certification.adhesion == moving.id).space_id == target.space_id

    source = factories.expert_space(expert.user, subscriber_number="0611111111", name="Autre")
    request(source, factories.OTHER_SIREN)
    conflicts = merge.preview(expert.user, source.space_id, target.space_id).conflicts
    blocking = [c for c in conflicts if c.blocking]
    assert [(c.kind, c.key) for c in blocking] == [("adhesions", factories.OTHER_SIREN)]


def test_no_letter_with_a_dead_code_waits_in_the_queue(expert, clock):
    """A new code cancels the unprinted letter of the old one, a withdrawal its own, and the
    code's arrival (the adhesion activated) erases it from its letter: the DGFiP's queue
    never prints a dead code."""
    dgfip = adhesions.impots_administration().id
    first = request(expert)
    old_code = code_of(first)
    renewed = adhesions.send_new_code(expert, expert.user, first.id)
    assert [letters.carried_code(letter) for letter in letters.pending(dgfip)] == [code_of(renewed)]
    assert code_of(renewed) != old_code
    adhesions.activate(expert, expert.user, renewed.id, code_of(renewed))
    posted = Letter.get_by_id(renewed.letter_id)
    assert posted.posted_at == clock.now() and posted.code_encrypted is None
    withdrawn = request(expert, factories.OTHER_SIREN)
    adhesions.withdraw(expert, expert.user, withdrawn.id)
    assert list(letters.pending(dgfip)) == []
