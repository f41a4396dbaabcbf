"""The rules of certification, called on the services and the CLI: access
codes issued and redeemed once, throttled code entry, mandates granted, taken up, revoked
and expiring, the guard of certified services, online requests decided by agents, reminders."""

import os
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

import factories
from helpers import at_once
from models import (
    MODELS,
    AccessCode,
    Agent,
    AuditEntry,
    Certification,
    CertificationRequest,
    Communication,
    Letter,
    Mandate,
    OutboxMail,
    Space,
)
from services import (
    access_codes,
    agents,
    auth,
    authentic_sources,
    catalogue as catalogue_module,
    certification_requests,
    certifications,
    crypto,
    letters,
    mandates,
    spaces,
    throttle,
)

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 2–9, A–Z less I, L, O: no look-alikes
CODE_FORMAT = re.compile(r"[{0}]{{4}}(-[{0}]{{4}}){{4}}".format(ALPHABET))
ADMINISTRATION_OF = {
    "fiches-retenue": "ACD",
    "elections-sociales": "ITM",
    "securite-alimentaire": "ALVA",
    "sources-authentiques": "LBR",
}
AGENT_PASSWORD = factories.AGENT_PASSWORD


pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def catalogue(app):
    catalogue_module.load()
    from models import Service

    return {service.slug: service for service in Service.select()}


ADDRESS = factories.COMPANY_ADDRESS


def issue(slug="fiches-retenue", company="B123456", kind="holder", **kwargs):
    """An administration issues a code: returns (AccessCode, code as shown)."""
    return factories.access_code(ADMINISTRATION_OF[slug], slug, company, kind, **kwargs)


def company_space(userid, name, identifier="B123456", company_name="Guichet SARL", **fields):
    """A person admin of a professional space of the company; returns its membership."""
    person = factories.user(userid)
    space = factories.space(person, name=name, identifier=identifier, company_name=company_name, **fields)
    return membership(person, space.id)


def membership(person, space_id):
    """The membership with its space and person loaded, as a request has them."""
    member = spaces.membership_for(person, space_id)
    member.user = person
    return member


@pytest.fixture
def guichet(app, clock, catalogue):
    """Léa, admin of a space of Guichet SARL (B123456)."""
    return company_space("lea", "Guichet")


@pytest.fixture
def fiduciary(app, clock, catalogue):
    """Fred, admin of the space of a fiduciary (another company) managing clients."""
    return company_space("fred", "Fiduciaire", identifier="B654321", company_name="Fiduciaire SA")


def redeem(member, code, kind="holder"):
    if kind == "holder":
        return access_codes.redeem_holder_code(member, member.user, code)
    return access_codes.redeem_proxy_code(member, member.user, code)


def reload(row):
    return type(row).get_by_id(row.id)


def invalid_code_message():
    return access_codes.InvalidCode().message


@pytest.fixture
def mandate(guichet, fiduciary, clock):
    """Guichet is holder for fiches-retenue and has granted a mandate (not yet taken up)."""
    _, code = issue()
    redeem(guichet, code)
    granted, proxy_code = mandates.grant_mandate(
        guichet, guichet.user, service_id(), clock.now() + timedelta(days=60), note="Fiduciaire SA"
    )
    return SimpleNamespace(mandate=granted, code=proxy_code)


def service_id(slug="fiches-retenue"):
    from models import Service

    return Service.get(Service.slug == slug).id


@pytest.fixture
def taken_up(mandate, fiduciary):
    """The fiduciary has redeemed the mandate's proxy code."""
    certification = redeem(fiduciary, mandate.code, "proxy")
    return SimpleNamespace(mandate=reload(mandate.mandate), certification=certification)


# --- Issuing (flask issue-code) ------------------------------------------------------------


def issue_command(
    runner,
    *extra,
    administration="ACD",
    service="fiches-retenue",
    company="B123456",
    kind="holder",
    addressed=("--name", "Guichet SARL", "--address", ADDRESS[0], "--address", ADDRESS[1]),
):
    return runner.invoke(
        args=[
            "issue-code",
            "--administration",
            administration,
            "--service",
            service,
            "--company",
            company,
            "--kind",
            kind,
            *addressed,
            *extra,
        ]
    )


def test_issue_code_prints_the_code_alone_on_its_last_line_and_queues_a_letter(runner, guichet, clock):
    result = issue_command(runner, "--activation-days", "10", "--valid-days", "90")
    assert result.exit_code == 0, result.output
    code = result.output.strip().splitlines()[-1]
    assert CODE_FORMAT.fullmatch(code), code
    assert not set("01ILO") & set(code)

    access_code = AccessCode.get()
    assert (access_code.kind, access_code.company_identifier, access_code.service.slug) == (
        "holder",
        "B123456",
        "fiches-retenue",
    )
    assert access_code.activation_deadline == clock.now() + timedelta(days=10)
    assert access_code.ends_at == clock.now() + timedelta(days=90)
    # Only the HMAC keyed by the server's secret is stored.
    assert access_code.code_hash == crypto.keyed_hash("access-code", code.replace("-", ""))

    letter = Letter.get()
    assert letter.recipient_name == "Guichet SARL" and letter.address_lines == list(ADDRESS)
    assert [queued.id for queued in letters.pending()] == [letter.id]
    assert letter.code_encrypted and letters.carried_code(letter) == code
    assert AuditEntry.get(AuditEntry.action == "access_code.issued").details["company"] == "B123456"


def test_issued_code_is_nowhere_in_plain_text_in_the_database(runner, guichet):
    code = issue_command(runner).output.strip().splitlines()[-1]
    forms = {code, code.replace("-", ""), code.lower(), code.replace("-", "").lower()}
    for model in MODELS:
        for row in model.select().dicts():
            for value in row.values():
                assert not any(form in str(value) for form in forms), (model.__name__, value)


def test_issue_code_kind_proxy_for_a_company_without_space(runner, catalogue):
    result = issue_command(
        runner,
        kind="proxy",
        company="b 777 777",
        addressed=("--name", "Boulangerie SA", "--address", "7, place du Marché"),
    )
    assert result.exit_code == 0, result.output
    assert CODE_FORMAT.fullmatch(result.output.strip().splitlines()[-1])
    access_code = AccessCode.get()
    assert (access_code.kind, access_code.company_identifier) == ("proxy", "B777777")
    assert (Letter.get().recipient_name, Letter.get().address) == ("Boulangerie SA", "7, place du Marché")


@pytest.mark.parametrize(
    "addressed",
    [
        (),  # the README's old example
        ("--name", "Guichet SARL"),
        ("--address", "1, rue du Commerce"),
    ],
    ids=["neither", "no-address", "no-name"],
)
def test_issue_code_needs_the_registered_name_and_address(runner, catalogue, addressed):
    """A letter that cannot be posted is not queued: without the company's registered name
    and address, given or in the company register (empty here), nothing is issued."""
    result = issue_command(runner, addressed=addressed)
    assert result.exit_code == 1 and "Le code part par courrier postal : indiquez" in result.output
    assert "le registre des entreprises ne la connaît pas" in result.output
    assert AccessCode.select().count() == 0 and Letter.select().count() == 0


@pytest.mark.parametrize(
    "addressed, why",
    [
        (("--name", "Guichet\x00SARL", "--address", "1, rue du Commerce"), "caractère de contrôle"),
        (("--name", "Guichet SARL", "--address", "1, rue du Commerce\nBcc: x"), "saut de ligne"),
        (("--name", "G" * 201, "--address", "1, rue du Commerce"), "200 caractères au plus"),
        (("--name", "Guichet SARL", "--address", "r" * 201), "200 caractères au plus"),
    ],
    ids=["nul", "line-break", "long-name", "long-address"],
)
def test_issue_code_refuses_what_the_letter_could_not_carry(runner, catalogue, addressed, why):
    """The command line gets the web forms' rules: one line, within the column."""
    result = issue_command(runner, addressed=addressed)
    assert result.exit_code == 2 and why in result.output
    assert AccessCode.select().count() == 0 and Letter.select().count() == 0


def test_create_agent_refuses_control_characters_and_overlong_names(runner, catalogue):
    for args in (
        ["ALVA", "agent\x00x", "--name", "Agnès"],
        ["ALVA", "agent.alva", "--name", "A" * 201],
        ["ALVA", "agent.alva", "--name", "Agnès\r\nAgent"],
    ):
        result = runner.invoke(
            args=["create-agent", *args], env={"AGENT_PASSWORD": "une phrase de passe d'agent"}
        )
        assert result.exit_code == 2, result.output
    assert Agent.select().count() == 0


@pytest.mark.parametrize("name, address", [("Guichet SARL", ["", "  "]), ("  ", ADDRESS)])
def test_issuing_a_code_without_name_or_address_is_refused_and_issues_nothing(
    runner, catalogue, name, address
):
    with pytest.raises(access_codes.CodeRequestRefused):
        issue(company_name=name, address_lines=address)
    result = issue_command(
        runner, addressed=("--name", name, *[a for line in address for a in ("--address", line)])
    )
    assert result.exit_code == 1 and "adresse" in result.output
    assert AccessCode.select().count() == 0 and Letter.select().count() == 0


@pytest.mark.parametrize(
    "options",
    [
        {"administration": "XYZ"},
        {"service": "inconnu"},
        {"administration": "ITM"},  # fiches-retenue belongs to ACD
        {"company": "123"},
    ],
)
def test_issue_code_refuses_unknown_service_or_administration(runner, catalogue, options):
    result = issue_command(runner, **options)
    assert result.exit_code == 1
    assert "Error" in result.output
    assert AccessCode.select().count() == 0 and Letter.select().count() == 0


def test_issue_code_rejects_a_kind_other_than_holder_or_proxy(runner, catalogue):
    assert issue_command(runner, kind="admin").exit_code == 2
    assert AccessCode.select().count() == 0


def test_code_letter_does_not_go_to_an_address_typed_by_any_user(runner, guichet, clock):
    clock.advance(days=1)
    company_space(
        "mallory", "Pas Guichet", street="666, rue de l'Intrus", company_name="Guichet SARL (siège)"
    )
    issue_command(runner)
    letter = Letter.get()
    assert (letter.recipient_name, letter.address_lines) == ("Guichet SARL", list(ADDRESS))


# --- Holder codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code,
        lambda code: code.replace("-", ""),
        lambda code: code.lower(),
        lambda code: " " + code.replace("-", " ").lower() + " ",
    ],
)
def test_holder_code_certifies_a_space_of_the_company(guichet, clock, typed):
    access_code, code = issue(valid_days=200)
    certification = redeem(guichet, typed(code))
    assert (certification.space_id, certification.kind, certification.service.slug) == (
        guichet.space_id,
        "holder",
        "fiches-retenue",
    )
    assert (certification.company_identifier, certification.company_name) == ("B123456", "Guichet SARL")
    assert certification.ends_at == clock.now() + timedelta(days=200)
    assert certification.status(clock.now()) == "active"
    assert mandates.mandate_of_certification(certification) is None
    access_code = reload(access_code)
    assert (access_code.redeemed_at, access_code.redeemed_in_id, access_code.redeemed_by_id) == (
        clock.now(),
        guichet.space_id,
        guichet.user.id,
    )
    assert AuditEntry.get(AuditEntry.action == "certification.holder_redeemed").space_id == guichet.space_id


def test_holder_code_is_single_use(guichet):
    other = company_space("marc", "Guichet bis")  # another space of the same company
    _, code = issue()
    redeem(guichet, code)
    for member in (other, guichet):
        with pytest.raises(access_codes.InvalidCode) as refused:
            redeem(member, code)
        assert refused.value.status == 422 and refused.value.message == invalid_code_message()
    assert Certification.select().count() == 1


def test_holder_code_of_another_company_is_refused_with_the_same_message(guichet, fiduciary):
    access_code, code = issue(company="B123456")
    with pytest.raises(access_codes.InvalidCode) as refused:
        redeem(fiduciary, code)
    assert refused.value.status == 422 and refused.value.message == invalid_code_message()
    assert reload(access_code).redeemed_at is None and Certification.select().count() == 0
    assert AuditEntry.get(AuditEntry.action == "code.failed").details["reason"] == "company"
    redeem(guichet, code)  # still good for the company it was issued to


def test_unknown_code_and_wrong_administration_are_refused_alike(guichet, catalogue):
    with pytest.raises(access_codes.InvalidCode) as unknown:
        redeem(guichet, crypto.random_code(20))
    with pytest.raises(access_codes.InvalidCode) as malformed:
        redeem(guichet, "ABCD-1234")
    access_code, code = issue()
    itm = catalogue["elections-sociales"].administration
    with pytest.raises(access_codes.InvalidCode) as elsewhere:
        access_codes.redeem_holder_code(guichet, guichet.user, code, administration=itm)
    assert (
        unknown.value.message == malformed.value.message == elsewhere.value.message == invalid_code_message()
    )
    assert reload(access_code).redeemed_at is None


def test_holder_and_proxy_codes_are_not_interchangeable(guichet):
    holder_code, holder = issue(kind="holder")
    proxy_code, proxy = issue(kind="proxy")
    with pytest.raises(access_codes.InvalidCode):
        redeem(guichet, holder, "proxy")
    with pytest.raises(access_codes.InvalidCode):
        redeem(guichet, proxy, "holder")
    assert reload(holder_code).redeemed_at is None and reload(proxy_code).redeemed_at is None


@pytest.mark.parametrize("late, accepted", [(timedelta(0), True), (timedelta(seconds=1), False)])
def test_activation_deadline_is_the_last_moment_a_code_is_accepted(guichet, clock, late, accepted):
    access_code, code = issue(activation_days=10)
    clock.advance(days=10)
    clock.advance(seconds=late.total_seconds())
    if accepted:
        assert redeem(guichet, code).kind == "holder"
    else:
        with pytest.raises(access_codes.InvalidCode) as refused:
            redeem(guichet, code)
        assert refused.value.message == invalid_code_message()
        assert reload(access_code).redeemed_at is None and Certification.select().count() == 0


def test_second_holder_code_for_the_same_service_is_refused_and_stays_unused(guichet):
    redeem(guichet, issue()[1])
    second, code = issue()
    with pytest.raises(access_codes.AlreadyCertified) as refused:
        redeem(guichet, code)
    assert refused.value.status == 409 and "Fiches de retenue" in refused.value.message
    assert reload(second).redeemed_at is None
    assert Certification.select().where(Certification.space == guichet.space_id).count() == 1
    # The unused code still certifies another space of the company.
    assert redeem(company_space("marc", "Guichet bis"), code).kind == "holder"


def test_holder_for_one_service_can_be_holder_for_another(guichet):
    redeem(guichet, issue("fiches-retenue")[1])
    redeem(guichet, issue("elections-sociales")[1])
    assert Certification.select().where(Certification.space == guichet.space_id).count() == 2


@pytest.mark.parametrize("role", ["reader", "manager"])
def test_only_admins_enter_codes(guichet, role):
    person = factories.user("tom")
    factories.member(guichet.space, person, role)
    member = membership(person, guichet.space_id)
    access_code, code = issue()
    for kind in ("holder", "proxy"):
        with pytest.raises(spaces.NotAllowed):
            redeem(member, code, kind)
    assert reload(access_code).redeemed_at is None


def test_private_space_cannot_be_certified(app, clock, catalogue):
    lea = factories.user("lea")
    private = factories.space(lea, name="Espace privé", kind="private")
    member = membership(lea, private.id)
    access_code, code = issue()
    with pytest.raises(certifications.DomainError) as refused:
        redeem(member, code)
    assert "professionnels" in refused.value.message
    assert reload(access_code).redeemed_at is None and Certification.select().count() == 0


# --- Concurrency -------------------------------------------------------------------------------


def kinds(outcomes):
    return sorted(o if o == "ok" else type(o).__name__ for o in outcomes)


ON_SQLITE = not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")


class LosersNotRefusedCleanly(AssertionError):
    """Raised for the losers' outcome only, so that an xfail on it never hides a broken
    single-use rule (a plain AssertionError)."""


@pytest.mark.parametrize("where", ["50 spaces of the company", "one space"])
def test_one_holder_code_redeemed_by_50_at_once_certifies_exactly_one_space(app, clock, catalogue, where):
    access_code, code = issue()
    if where == "one space":
        first = company_space("u0", "Guichet")
        members = [first]
        for i in range(1, 50):
            person = factories.user(f"u{i}")
            factories.member(first.space, person, "admin")
            members.append(membership(person, first.space_id))
    else:
        members = [company_space(f"u{i}", f"Guichet {i}") for i in range(50)]
    outcomes = at_once(app, [lambda member=member: redeem(member, code) for member in members])
    assert outcomes.count("ok") == 1 and None not in outcomes, outcomes
    winner = members[outcomes.index("ok")]
    assert Certification.select().count() == 1
    assert Certification.get().space_id == winner.space_id == reload(access_code).redeemed_in_id
    # Every other attempt gets the generic message (422), not a server error.
    if kinds(outcomes) != ["InvalidCode"] * 49 + ["ok"]:
        raise LosersNotRefusedCleanly(
            [repr(o) for o in outcomes if o != "ok" and type(o).__name__ != "InvalidCode"]
        )
    assert AuditEntry.select().where(AuditEntry.action == "code.failed").count() == 49


def test_two_holder_codes_for_one_service_at_once_give_one_holder_certification(app, guichet):
    marc = factories.user("marc")
    factories.member(guichet.space, marc, "admin")
    both = [guichet, membership(marc, guichet.space_id)]
    codes = [issue(), issue()]
    outcomes = at_once(
        app,
        [
            lambda member=member, code=code: redeem(member, code)
            for member, (_, code) in zip(both, codes, strict=True)
        ],
    )
    assert kinds(outcomes) == ["AlreadyCertified", "ok"], [repr(o) for o in outcomes]
    assert (
        Certification.select()
        .where(Certification.space == guichet.space_id, Certification.kind == "holder")
        .count()
        == 1
    )
    # The refused code was not consumed.
    assert sorted(reload(access_code).redeemed_at is None for access_code, _ in codes) == [False, True]


# --- Throttling of code entry -------------------------------------------------------------------


def wrong_code():
    return crypto.group(crypto.random_code(20))


def test_ten_wrong_codes_in_15_minutes_impose_a_15_minute_wait(guichet, clock):
    _, code = issue()
    for _attempt in range(10):
        with pytest.raises(access_codes.InvalidCode):
            redeem(guichet, wrong_code())
        clock.advance(seconds=30)
    with pytest.raises(throttle.Throttled) as waiting:
        redeem(guichet, code)  # even a valid code waits
    assert waiting.value.status == 429 and 0 < waiting.value.retry_after <= 15 * 60
    assert "minute" in waiting.value.message
    assert Certification.select().count() == 0
    assert AuditEntry.select().where(AuditEntry.action == "code.failed").count() == 10

    clock.advance(seconds=waiting.value.retry_after - 1)
    with pytest.raises(throttle.Throttled):
        redeem(guichet, code)
    clock.advance(seconds=1)
    assert redeem(guichet, code).kind == "holder"


def test_wrong_codes_spread_over_more_than_15_minutes_do_not_wait(guichet, clock):
    _, code = issue()
    for _attempt in range(9):
        with pytest.raises(access_codes.InvalidCode):
            redeem(guichet, wrong_code())
    clock.advance(minutes=15)
    with pytest.raises(access_codes.InvalidCode):
        redeem(guichet, wrong_code())  # the 10th, in a new window
    assert redeem(guichet, code).kind == "holder"


def test_throttling_counts_per_account(guichet, fiduciary):
    for _attempt in range(10):
        with pytest.raises(access_codes.InvalidCode):
            redeem(guichet, wrong_code())
    with pytest.raises(throttle.Throttled):
        redeem(guichet, wrong_code())
    assert redeem(fiduciary, issue(kind="proxy")[1], "proxy").kind == "proxy"


def fail_until_locked(member, clock, failures=100):
    """Wrong codes until `failures` were counted, waiting out each 15-minute pause."""
    counted = 0
    while counted < failures:
        try:
            redeem(member, wrong_code())
        except access_codes.InvalidCode:
            counted += 1
        except throttle.Throttled as waiting:
            clock.advance(seconds=waiting.retry_after)


def test_100_consecutive_wrong_codes_lock_code_entry(guichet, clock):
    _, code = issue(activation_days=60)
    fail_until_locked(guichet, clock, 99)  # Locked would escape the loop before the 100th
    clock.advance(minutes=15)
    with pytest.raises(access_codes.InvalidCode):
        redeem(guichet, wrong_code())
    for later in (timedelta(0), timedelta(days=1)):
        clock.advance(seconds=later.total_seconds())
        with pytest.raises(throttle.Locked) as locked:
            redeem(guichet, code)
        assert locked.value.status == 423 and "Helpdesk" in locked.value.message
    assert AuditEntry.select().where(AuditEntry.action == "code.failed").count() == 100
    assert AuditEntry.select().where(AuditEntry.action == "code.locked").count() == 1
    assert Certification.select().count() == 0


def test_a_success_ends_the_run_of_consecutive_failures(guichet, clock):
    fail_until_locked(guichet, clock, 99)
    clock.advance(minutes=15)
    redeem(guichet, issue(activation_days=60)[1])
    fail_until_locked(guichet, clock, 99)  # would raise Locked if the run had gone on
    clock.advance(minutes=15)
    assert redeem(guichet, issue("elections-sociales", activation_days=60)[1]).kind == "holder"


def test_helpdesk_unlocks_code_entry(runner, guichet, clock):
    _, code = issue(activation_days=60)
    fail_until_locked(guichet, clock)
    result = runner.invoke(args=["unlock-account", "lea"])
    assert result.exit_code == 0
    assert redeem(guichet, code).kind == "holder"


# --- Proxy codes ----------------------------------------------------------------------------


def test_proxy_code_from_an_administration_works_in_any_space(runner, guichet, fiduciary, clock):
    result = issue_command(runner, kind="proxy", service="fiches-retenue")
    code = result.output.strip().splitlines()[-1]
    certification = redeem(fiduciary, code.lower(), "proxy")
    assert (certification.space_id, certification.kind, certification.company_identifier) == (
        fiduciary.space_id,
        "proxy",
        "B123456",
    )
    assert mandates.mandate_of_certification(certification) is None
    assert certification.ends_at == clock.now() + timedelta(days=365)
    with pytest.raises(access_codes.InvalidCode):
        redeem(guichet, code, "proxy")  # single use too


def test_a_space_holds_several_proxy_certifications_per_service(fiduciary, mandate):
    redeem(fiduciary, issue(company="B111111", kind="proxy")[1], "proxy")
    redeem(fiduciary, issue(company="B222222", kind="proxy")[1], "proxy")
    redeem(fiduciary, mandate.code, "proxy")
    redeem(fiduciary, issue(company="B654321")[1])  # and its own holder certification beside them
    rows, total = mandates.mandates_obtained(fiduciary)
    assert total == 3
    assert sorted(c.company_identifier for c in rows) == ["B111111", "B123456", "B222222"]
    assert {c.service.slug for c in rows} == {"fiches-retenue"}
    rows, total = certifications.space_certifications(fiduciary)
    assert total == 4 and [c.kind for c in rows][0] == "proxy" and "holder" in [c.kind for c in rows]
    assert [c.company_identifier for c in mandates.mandates_obtained(fiduciary, "B2222")[0]] == ["B222222"]


# --- Mandates -------------------------------------------------------------------------------


def test_only_a_holder_space_grants_mandates(guichet, fiduciary, clock):
    fiches = service_id()
    redeem(fiduciary, issue(kind="proxy")[1], "proxy")  # a proxy certification is not enough
    for member in (guichet, fiduciary):
        with pytest.raises(mandates.NotHolder) as refused:
            mandates.grant_mandate(member, member.user, fiches, clock.now() + timedelta(days=30))
        assert refused.value.status == 422
    assert Mandate.select().count() == 0


def test_only_admins_grant_mandates(guichet, clock):
    redeem(guichet, issue()[1])
    manager = factories.user("tom")
    factories.member(guichet.space, manager, "manager")
    with pytest.raises(spaces.NotAllowed):
        mandates.grant_mandate(
            membership(manager, guichet.space_id), manager, service_id(), clock.now() + timedelta(days=30)
        )


def test_mandate_ends_no_later_than_the_holder_certification(guichet, clock):
    holder = redeem(guichet, issue(valid_days=100)[1])
    with pytest.raises(mandates.EndAfterHolder):
        mandates.grant_mandate(guichet, guichet.user, service_id(), holder.ends_at + timedelta(seconds=1))
    for past in (clock.now(), (clock.now() - timedelta(days=1)).date(), None):
        with pytest.raises(mandates.EndNotInFuture):
            mandates.grant_mandate(guichet, guichet.user, service_id(), past)
    granted, code = mandates.grant_mandate(guichet, guichet.user, service_id(), holder.ends_at)
    assert granted.ends_at == holder.ends_at and CODE_FORMAT.fullmatch(code)
    assert granted.status(clock.now()) == "pending"


def test_mandate_may_end_on_the_holder_end_date_but_not_the_day_after(guichet):
    holder = redeem(guichet, issue(valid_days=100)[1])
    with pytest.raises(mandates.EndAfterHolder):
        mandates.grant_mandate(
            guichet, guichet.user, service_id(), (holder.ends_at + timedelta(days=1)).date()
        )
    granted, _ = mandates.grant_mandate(guichet, guichet.user, service_id(), holder.ends_at.date())
    assert granted.ends_at == holder.ends_at


def test_granted_mandate_code_is_shown_once_and_carried_by_a_letter(mandate, guichet, clock):
    granted = mandate.mandate
    access_code = granted.access_code
    assert (access_code.kind, access_code.company_identifier, access_code.issued_by_space_id) == (
        "proxy",
        "B123456",
        guichet.space_id,
    )
    assert access_code.code_hash == crypto.keyed_hash("access-code", mandate.code.replace("-", ""))
    assert granted.activation_deadline == clock.now() + timedelta(days=30)
    assert letters.carried_code(mandates.mandate_letter(guichet, granted.id)) == mandate.code
    assert granted.letter_id not in [
        letter.id for letter in letters.pending()
    ]  # printed by Guichet, not posted
    rows, total = mandates.mandates_granted(guichet)
    assert total == 1 and rows[0].id == granted.id and rows[0].note == "Fiduciaire SA"
    assert AuditEntry.get(AuditEntry.action == "mandate.granted").details["mandate_id"] == granted.id


def test_proxy_code_of_a_mandate_gives_the_fiduciary_access_for_the_company(
    guichet, fiduciary, mandate, clock
):
    certification = redeem(fiduciary, mandate.code, "proxy")
    assert (
        certification.space_id,
        certification.kind,
        mandates.mandate_of_certification(certification).id,
    ) == (fiduciary.space_id, "proxy", mandate.mandate.id)
    assert (certification.company_identifier, certification.company_name) == ("B123456", "Guichet SARL")
    assert certification.ends_at == mandate.mandate.ends_at
    granted = reload(mandate.mandate)
    assert (granted.mandatary_space_id, granted.redeemed_at) == (fiduciary.space_id, clock.now())
    assert granted.status(clock.now()) == "active"
    # The letter's code is erased once used, and the letter is no longer offered.
    assert Letter.get_by_id(granted.letter_id).code_encrypted is None
    with pytest.raises(certifications.NotFound):
        mandates.mandate_letter(guichet, granted.id)
    assert OutboxMail.get(OutboxMail.to == "lea@example.lu").subject.startswith("Mandat obtenu")
    assert mandates.mandates_granted(guichet, "Fiduciaire")[1] == 1


def test_the_mandant_cannot_take_up_its_own_mandate(guichet, fiduciary, mandate):
    with pytest.raises(access_codes.OwnMandate):
        redeem(guichet, mandate.code, "proxy")
    granted = reload(mandate.mandate)
    assert granted.mandatary_space_id is None and granted.access_code.redeemed_at is None
    assert Certification.select().where(Certification.kind == "proxy").count() == 0
    assert redeem(fiduciary, mandate.code, "proxy").kind == "proxy"


@pytest.mark.parametrize("side", ["mandant", "mandatary"])
def test_revoking_a_mandate_ends_access_at_once(guichet, fiduciary, taken_up, clock, side):
    assert certifications.requires_certification(fiduciary, "fiches-retenue")[1] == [taken_up.certification]
    member = guichet if side == "mandant" else fiduciary
    mails_before = OutboxMail.select().count()
    mandates.revoke_mandate(member, member.user, taken_up.mandate.id)
    granted = reload(taken_up.mandate)
    assert granted.revoked_at == clock.now() and granted.revoked_by_id == member.user.id
    assert granted.status(clock.now()) == "revoked"
    certification = reload(taken_up.certification)
    assert certification.revoked_at == clock.now() and certification.status(clock.now()) == "revoked"
    with pytest.raises(certifications.NotCertified):
        certifications.requires_certification(fiduciary, "fiches-retenue")
    # The mandant keeps its own holder certification.
    assert certifications.requires_certification(guichet, "fiches-retenue")[1][0].kind == "holder"
    assert AuditEntry.get(AuditEntry.action == "mandate.revoked").details["side"] == side
    assert {m.to for m in OutboxMail.select().where(OutboxMail.id > mails_before)} == {
        "lea@example.lu",
        "fred@example.lu",
    }
    with pytest.raises(mandates.AlreadyRevoked):
        mandates.revoke_mandate(member, member.user, taken_up.mandate.id)


def test_revoking_a_pending_mandate_kills_its_code(guichet, fiduciary, mandate, clock):
    mandates.revoke_mandate(guichet, guichet.user, mandate.mandate.id)
    assert reload(mandate.mandate).status(clock.now()) == "revoked"
    with pytest.raises(access_codes.InvalidCode):
        redeem(fiduciary, mandate.code, "proxy")
    assert Letter.get_by_id(mandate.mandate.letter_id).code_encrypted is None


def test_mandate_expires_at_its_end(guichet, fiduciary, taken_up, clock):
    ends_at = taken_up.mandate.ends_at
    clock.set_now(ends_at - timedelta(seconds=1))
    assert certifications.requires_certification(fiduciary, "fiches-retenue")[1] == [taken_up.certification]
    assert taken_up.mandate.status(clock.now()) == "active"
    clock.set_now(ends_at)
    assert reload(taken_up.certification).status(clock.now()) == "expired"
    assert reload(taken_up.mandate).status(clock.now()) == "expired"
    with pytest.raises(certifications.NotCertified):
        certifications.requires_certification(fiduciary, "fiches-retenue")


def test_mandate_status_pending_then_active_then_expired(guichet, fiduciary, mandate, clock):
    granted = mandate.mandate
    assert granted.status(clock.now()) == "pending"
    redeem(fiduciary, mandate.code, "proxy")
    assert reload(granted).status(clock.now()) == "active"
    clock.set_now(granted.ends_at)
    assert reload(granted).status(clock.now()) == "expired"


def test_mandate_not_taken_up_before_its_activation_deadline_expires(guichet, fiduciary, mandate, clock):
    clock.set_now(mandate.mandate.activation_deadline)
    assert mandate.mandate.status(clock.now()) == "pending"
    clock.advance(seconds=1)
    assert mandate.mandate.status(clock.now()) == "expired"
    with pytest.raises(access_codes.InvalidCode):
        redeem(fiduciary, mandate.code, "proxy")
    with pytest.raises(certifications.NotFound):
        mandates.mandate_letter(guichet, mandate.mandate.id)


# --- The guard of certified services -------------------------------------------------------------


def test_uncertified_space_is_refused_a_certified_service(guichet):
    with pytest.raises(certifications.NotCertified) as refused:
        certifications.requires_certification(guichet, "sources-authentiques")
    assert refused.value.status == 403 and refused.value.service.slug == "sources-authentiques"
    assert "certifié" in refused.value.message
    with pytest.raises(certifications.NotFound):
        certifications.requires_certification(guichet, "inconnu")


def test_certified_holder_uses_the_service(guichet):
    certification = redeem(guichet, issue("sources-authentiques")[1])
    service, live = certifications.requires_certification(guichet, "sources-authentiques")
    assert service.slug == "sources-authentiques" and live == [certification]
    with pytest.raises(certifications.NotCertified):  # per service
        certifications.requires_certification(guichet, "fiches-retenue")


def test_holder_certification_expires_at_its_end_date(guichet, clock):
    certification = redeem(guichet, issue(valid_days=30)[1])
    clock.set_now(certification.ends_at)
    with pytest.raises(certifications.NotCertified):
        certifications.requires_certification(guichet, "fiches-retenue")


def test_active_mandate_gives_the_service_for_the_principal_company(fiduciary, taken_up):
    service, live = certifications.requires_certification(fiduciary, "fiches-retenue")
    assert [(c.kind, c.company_identifier, c.company_name) for c in live] == [
        ("proxy", "B123456", "Guichet SARL")
    ]
    records = authentic_sources.records(live)
    assert records[0]["identifier"] == "B123456"


# --- Online requests and agents -----------------------------------------------------------------------


def agent_command(runner, userid="agent.alva", administration="ALVA", **kwargs):
    return runner.invoke(
        args=["create-agent", administration, userid, "--name", "Agnès Agent", "--email", "agnes@alva.lu"],
        **kwargs,
    )


@pytest.mark.parametrize("how", ["env", "input"])
def test_create_agent_by_cli(runner, catalogue, how):
    if how == "env":
        result = agent_command(runner, env={"AGENT_PASSWORD": AGENT_PASSWORD})
    else:
        result = agent_command(runner, input=f"{AGENT_PASSWORD}\n{AGENT_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    agent = Agent.get()
    assert (agent.userid, agent.administration.code, agent.name, agent.email) == (
        "agent.alva",
        "ALVA",
        "Agnès Agent",
        "agnes@alva.lu",
    )
    assert AGENT_PASSWORD not in agent.password_hash
    assert auth.verify_password(agent.password_hash, AGENT_PASSWORD)
    assert agents.check_password("Agent.Alva", AGENT_PASSWORD, "127.0.0.1").id == agent.id


@pytest.mark.parametrize(
    "args, env",
    [
        ({"administration": "XYZ"}, {"AGENT_PASSWORD": AGENT_PASSWORD}),
        ({}, {"AGENT_PASSWORD": "court"}),
    ],
)
def test_create_agent_refuses_unknown_administration_and_weak_password(runner, catalogue, args, env):
    result = agent_command(runner, env=env, **args)
    assert result.exit_code == 1 and Agent.select().count() == 0


def test_create_agent_refuses_a_taken_userid(runner, catalogue):
    assert agent_command(runner, env={"AGENT_PASSWORD": AGENT_PASSWORD}).exit_code == 0
    assert agent_command(runner, userid="AGENT.alva", env={"AGENT_PASSWORD": AGENT_PASSWORD}).exit_code == 1
    assert Agent.select().count() == 1


def make_agent(administration="ALVA", userid="agent.alva"):
    return agents.create_agent(administration, userid, "Agnès Agent", "agnes@alva.lu", AGENT_PASSWORD)


@pytest.mark.parametrize(
    "userid, password", [("agent.alva", "pas le bon mot de passe"), ("personne", AGENT_PASSWORD)]
)
def test_check_agent_refuses_wrong_credentials(catalogue, userid, password):
    make_agent()
    with pytest.raises(auth.InvalidCredentials):
        agents.check_password(userid, password, "127.0.0.1")
    assert AuditEntry.get(AuditEntry.action == "agent.login.password_failure").details["userid"] == userid


def alva_request(member, reason="Nous exploitons une boulangerie à Luxembourg."):
    return certification_requests.file_request(
        member, member.user, service_id("securite-alimentaire"), reason
    )


def test_file_request_validates_the_reason_and_refuses_a_duplicate(guichet):
    with pytest.raises(certification_requests.ReasonTooShort):
        alva_request(guichet, "   court   ")
    with pytest.raises(certifications.NotFound):  # fiches-retenue is by code only
        certification_requests.file_request(guichet, guichet.user, service_id(), "Une raison suffisante.")
    request = alva_request(guichet)
    assert (request.status, request.requested_by_id) == ("pending", guichet.user.id)
    with pytest.raises(certification_requests.RequestPending):
        alva_request(guichet)
    assert CertificationRequest.select().count() == 1


def test_readers_cannot_file_a_request(guichet):
    person = factories.user("tom")
    factories.member(guichet.space, person, "reader")
    with pytest.raises(spaces.NotAllowed):
        alva_request(membership(person, guichet.space_id))


def test_approved_request_certifies_the_space_and_tells_its_members(guichet, clock):
    marc, tom = factories.user("marc"), factories.user("tom")
    factories.member(guichet.space, marc, "admin")
    factories.member(guichet.space, tom, "reader")
    request = alva_request(guichet)
    agent = make_agent()
    assert certification_requests.pending_requests(agent)[1] == 1
    certification_requests.decide_request(agent, request.id, approve=True)
    request = reload(request)
    assert (request.status, request.decided_by_id, request.decided_at) == ("approved", agent.id, clock.now())
    certification = Certification.get()
    assert (certification.space_id, certification.kind, certification.service.slug) == (
        guichet.space_id,
        "holder",
        "securite-alimentaire",
    )
    assert certification.company_identifier == "B123456"
    assert certification.ends_at == clock.now() + timedelta(days=365)
    assert certifications.requires_certification(guichet, "securite-alimentaire")[1] == [certification]
    # The decision is a communication of the administration to the space, its mail the
    # members' notification.
    [decision] = Communication.select()
    assert (decision.kind, decision.administration.code) == ("decision", "ALVA")
    assert decision.sent_by_id == agent.id
    mails = list(OutboxMail.select())
    assert sorted(m.to for m in mails) == ["lea@example.lu", "marc@example.lu", "tom@example.lu"]
    assert all("Sécurité alimentaire" in m.subject and "approuvée" in m.body_text for m in mails)
    link = f"/espaces/{guichet.space_id}/communications/{decision.id}"
    assert all(link in m.body_text for m in mails)
    assert certification_requests.pending_requests(agent)[1] == 0


def test_rejection_needs_a_reason(guichet):
    request = alva_request(guichet)
    agent = make_agent()
    with pytest.raises(certification_requests.RejectionWithoutReason):
        certification_requests.decide_request(agent, request.id, approve=False, reason="  ")
    assert reload(request).status == "pending"
    certification_requests.decide_request(
        agent, request.id, approve=False, reason="Aucun établissement enregistré."
    )
    request = reload(request)
    assert (request.status, request.decision_reason) == ("rejected", "Aucun établissement enregistré.")
    assert Certification.select().count() == 0
    assert "refusée" in OutboxMail.get(OutboxMail.to == "lea@example.lu").body_text


def test_agent_of_another_administration_cannot_see_the_request(guichet):
    request = alva_request(guichet)
    other = make_agent("ACD", "agent.acd")
    with pytest.raises(certifications.NotFound):
        certification_requests.decide_request(other, request.id, approve=True)
    assert certification_requests.pending_requests(other)[1] == 0
    assert reload(request).status == "pending" and Certification.select().count() == 0


def test_decided_request_cannot_be_decided_again(guichet):
    request = alva_request(guichet)
    agent = make_agent()
    certification_requests.decide_request(agent, request.id, approve=True)
    for approve, reason in ((True, ""), (False, "Changement d'avis.")):
        with pytest.raises(certification_requests.AlreadyDecided):
            certification_requests.decide_request(agent, request.id, approve=approve, reason=reason)
    assert reload(request).status == "approved" and Certification.select().count() == 1


def test_a_request_of_a_deleted_space_can_only_be_refused(guichet, clock):
    request = alva_request(guichet)
    agent = make_agent()
    Space.update(deleted_at=clock.now()).where(Space.id == guichet.space_id).execute()
    with pytest.raises(certification_requests.SpaceGone) as refused:
        certification_requests.decide_request(agent, request.id, approve=True)
    assert refused.value.status == 409
    assert reload(request).status == "pending" and Certification.select().count() == 0
    certification_requests.decide_request(agent, request.id, approve=False, reason="Espace supprimé.")
    assert reload(request).status == "rejected"


# --- Reminders ---------------------------------------------------------------------------------


def test_reminders_30_and_7_days_before_the_end_are_sent_once(runner, guichet, fiduciary, taken_up, clock):
    ends_at = taken_up.mandate.ends_at  # 60 days ahead
    pending = mandates.grant_mandate(guichet, guichet.user, service_id(), ends_at)[0]  # not taken up
    assert mandates.send_reminders() == 0

    def mails_since(count):
        return [m for m in OutboxMail.select().order_by(OutboxMail.id)][count:]

    clock.set_now(ends_at - timedelta(days=30, hours=1))
    assert mandates.send_reminders() == 0
    clock.set_now(ends_at - timedelta(days=30) + timedelta(hours=1))
    before = OutboxMail.select().count()
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0 and "1 rappel" in result.output
    sent = mails_since(before)
    assert sorted(m.to for m in sent) == ["fred@example.lu", "lea@example.lu"]
    assert all("30 jours" in m.body_text for m in sent)
    assert reload(taken_up.mandate).reminded_30_at == clock.now()
    assert mandates.send_reminders() == 0

    clock.set_now(ends_at - timedelta(days=7) + timedelta(hours=1))
    before = OutboxMail.select().count()
    assert mandates.send_reminders() == 1
    assert all("7 jours" in m.body_text for m in mails_since(before)) and len(mails_since(before)) == 2
    assert mandates.send_reminders() == 0
    clock.set_now(ends_at + timedelta(days=1))
    assert mandates.send_reminders() == 0
    assert reload(pending).reminded_30_at is None and reload(pending).reminded_7_at is None


def test_revoked_mandates_get_no_reminder(guichet, taken_up, clock):
    mandates.revoke_mandate(guichet, guichet.user, taken_up.mandate.id)
    clock.set_now(taken_up.mandate.ends_at - timedelta(days=5))
    assert mandates.send_reminders() == 0


def test_reminder_counts_the_days_exactly(guichet, taken_up, clock):
    clock.set_now(taken_up.mandate.ends_at - timedelta(days=30))
    assert mandates.send_reminders() == 1
    assert "dans 30 jours" in OutboxMail.select().order_by(OutboxMail.id.desc()).first().body_text


# --- Other spaces' ids --------------------------------------------------------------------------


def test_revoking_a_mandate_of_unrelated_spaces_is_not_found(guichet, taken_up):
    outsider = company_space("zoe", "Ailleurs", identifier="B999999", company_name="Ailleurs SA")
    with pytest.raises(certifications.NotFound) as refused:
        mandates.revoke_mandate(outsider, outsider.user, taken_up.mandate.id)
    assert refused.value.status == 404
    assert reload(taken_up.mandate).revoked_at is None and reload(taken_up.certification).revoked_at is None
    with pytest.raises(certifications.NotFound):
        mandates.revoke_mandate(guichet, guichet.user, 999_999)


def test_mandate_letter_of_another_space_is_not_found(guichet, fiduciary, mandate):
    for member in (fiduciary, company_space("zoe", "Ailleurs", identifier="B999999")):
        with pytest.raises(certifications.NotFound):
            mandates.mandate_letter(member, mandate.mandate.id)
    assert mandates.mandate_letter(guichet, mandate.mandate.id).id == mandate.mandate.letter_id
