"""The helpdesk's services: the catalogue (administrations, services, procedure definitions
uploaded and checked as at start-up), what deactivation means everywhere, and the accounts
(space limit, unlocking, deleted spaces restored), each change audited with its actor."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

import factories
from models import AccessCode, AuditEntry, Certification, Procedure, Service, Space, Throttle
from services import (
    access_codes,
    agents,
    auth,
    catalogue,
    certification_requests,
    certifications,
    dossiers,
    helpdesk,
    mandates,
    procedure_catalogue,
    procedures,
    spaces,
    throttle,
)

pytestmark = pytest.mark.usefixtures("request_context")

ROOT = Path(__file__).resolve().parent.parent
ADDRESS_CHANGE = json.loads((ROOT / "data" / "procedures" / "lbr-changement-adresse.json").read_text("utf-8"))


@pytest.fixture
def desk(app, clock):
    factories.demo_procedures()
    return factories.helpdesk()


def file_of(data):
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def in_three(**french):
    """The German and English of the French texts `french`, as the helpdesk's forms give them."""
    return {
        language: {field: f"{text} ({language})" for field, text in french.items()}
        for language in ("de", "en")
    }


def last_entry():
    return AuditEntry.select().order_by(AuditEntry.id.desc()).first()


# --- Administrations and services ----------------------------------------------------------------


def test_create_an_administration_checks_its_code_and_audits(desk):
    with pytest.raises(catalogue.BadCode):
        catalogue.create_administration(desk, "c-css", "Centre commun")
    with pytest.raises(catalogue.CodeTaken):
        catalogue.create_administration(desk, "acd", "Encore l'ACD", "", in_three(name="ACD"))
    with pytest.raises(catalogue.NameMissing):
        catalogue.create_administration(desk, "CCSS", "   ")
    created = catalogue.create_administration(
        desk,
        "ccss",
        " Centre commun de la sécurité sociale ",
        "Texte",
        in_three(name="CCSS", certification_text="Texte"),
        "de",
    )
    assert (created.code, created.name, created.active) == (
        "CCSS",
        "Centre commun de la sécurité sociale",
        True,
    )
    entry = last_entry()
    assert (entry.action, entry.actor, entry.details) == (
        "catalogue.administration_created",
        "Hélène Helpdesk (Helpdesk)",
        {"administration": "CCSS", "name": "Centre commun de la sécurité sociale"},
    )

    edited = catalogue.edit_administration(
        desk, created.id, "CCSS", "Modalités", in_three(name="CCSS", certification_text="M")
    )
    assert (edited.code, edited.name, edited.certification_text) == ("CCSS", "CCSS", "Modalités")
    with pytest.raises(catalogue.NotInCatalogue):
        catalogue.edit_administration(desk, 9999, "x", "", in_three(name="x"))


def test_create_and_edit_a_service(desk):
    acd = catalogue.administration_of(1)
    with pytest.raises(catalogue.BadSlug):
        catalogue.create_service(desk, acd.id, "Fiches Retenue", "Nom", "", False, [])
    with pytest.raises(catalogue.SlugTaken):
        catalogue.create_service(desk, acd.id, "fiches-retenue", "Nom", "", False, [], in_three(name="Nom"))
    with pytest.raises(catalogue.NoMethod):  # certified, but by no way at all
        catalogue.create_service(
            desk, acd.id, "declarations", "Déclarations", "", True, [], in_three(name="D")
        )
    service = catalogue.create_service(
        desk,
        acd.id,
        "declarations",
        "Déclarations",
        "",
        True,
        ["request", "x"],
        in_three(name="Déclarations"),
    )
    assert (service.accepts_code, service.accepts_request, service.requires_certification) == (
        False,
        True,
        True,
    )
    assert last_entry().action == "catalogue.service_created"

    edited = catalogue.edit_service(
        desk,
        service.id,
        "Déclarations fiscales",
        "Texte",
        True,
        ["code"],
        in_three(name="D", description="T"),
    )
    assert (edited.name, edited.slug, edited.accepts_code, edited.accepts_request) == (
        "Déclarations fiscales",
        "declarations",
        True,
        False,
    )
    assert last_entry().details["accepts_code"] is True


def test_the_catalogue_texts_are_given_in_german_and_english(desk):
    """A page in German or English never falls back to French: each name, and each text
    given in French, is required in both; an administration says its letters' language."""
    with pytest.raises(catalogue.TranslationMissing) as refused:
        catalogue.create_administration(desk, "CCSS", "Centre commun", "", {"de": {"name": "Zentrum"}})
    assert refused.value.field == "name_en"
    with pytest.raises(catalogue.TranslationMissing) as refused:
        catalogue.create_administration(desk, "CCSS", "Centre commun", "Par courrier.", in_three(name="CCSS"))
    assert refused.value.field == "certification_text_de"
    with pytest.raises(catalogue.BadLetterLanguage):
        catalogue.create_administration(desk, "CCSS", "Centre commun", "", in_three(name="CCSS"), "lb")
    created = catalogue.create_administration(
        desk, "CCSS", "Centre commun", "", {"de": {"name": " Zentrum "}, "en": {"name": "Centre"}}, "en"
    )
    assert (created.letter_language, created.translations) == (
        "en",
        {
            "de": {"name": "Zentrum", "certification_text": ""},
            "en": {"name": "Centre", "certification_text": ""},
        },
    )
    with pytest.raises(catalogue.TranslationMissing) as refused:
        catalogue.edit_service(
            desk, Service.get(slug="fiches-retenue").id, "Fiches", "Texte", True, ["code"], in_three(name="F")
        )
    assert refused.value.field == "description_de"
    assert Service.get(slug="fiches-retenue").translations["de"]["name"] == "Lohnsteuerkarten"  # unchanged


def test_catalogue_page_lists_everything_in_four_queries(desk):
    from helpers import count_queries

    with count_queries() as q:
        rows, total = catalogue.catalogue_page(1)
    assert total == 5 and [row.code for row in rows] == ["ACD", "ALVA", "DGFIP", "ITM", "LBR"]
    assert q.count == 4
    lbr = rows[-1]
    assert [s.slug for s in lbr.service_list] == ["sources-authentiques"]
    assert [p.slug for p in lbr.procedure_list] == ["lbr-changement-adresse"]


# --- Deactivation, everywhere ------------------------------------------------------------------


@pytest.fixture
def certified_space(desk):
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    return lea, spaces.membership_for(lea, space.id)


def test_an_inactive_service_gives_no_new_certification(desk, certified_space, clock):
    lea, member = certified_space
    fiches = Service.get(slug="fiches-retenue")
    _code_row, code = factories.access_code()
    row, changed = catalogue.set_active(desk, "service", fiches.id, False)
    assert changed and not row.active and last_entry().action == "catalogue.service_deactivated"
    assert catalogue.set_active(desk, "service", fiches.id, False)[1] is False  # already: nothing audited
    assert last_entry().action == "catalogue.service_deactivated"

    offered = certifications.code_administrations(member)
    assert "fiches-retenue" not in [s.slug for services in offered.values() for s in services]
    with pytest.raises(catalogue.ServiceClosed):
        access_codes.redeem_holder_code(member, lea, code)
    assert AccessCode.get().redeemed_at is None and Certification.select().count() == 0
    assert Throttle.select().where(Throttle.window_failures > 0).count() == 0  # not a wrong code

    catalogue.set_active(desk, "service", fiches.id, True)
    assert access_codes.redeem_holder_code(member, lea, code).service_id == fiches.id

    # A holder may dispense mandates only while the service is offered; the certification lasts.
    catalogue.set_active(desk, "service", fiches.id, False)
    assert mandates.holder_services(member) == []
    with pytest.raises(catalogue.ServiceClosed):
        mandates.grant_mandate(member, lea, fiches.id, (clock.now() + timedelta(days=30)).date())
    assert certifications.requires_certification(member, "fiches-retenue")[1]  # still certified


def test_an_inactive_administration_offers_no_request_and_no_page(desk, certified_space):
    lea, member = certified_space
    alva = catalogue.administration_of(Service.get(slug="securite-alimentaire").administration_id)
    catalogue.set_active(desk, "administration", alva.id, False)
    assert last_entry().details == {"administration": "ALVA"}
    with pytest.raises(certifications.NotFound):
        certifications.administration("ALVA")
    with pytest.raises(certifications.NotFound):
        certification_requests.file_request(
            member, lea, Service.get(slug="securite-alimentaire").id, "Nous exploitons une boulangerie."
        )
    assert "ALVA" not in [adm.code for adm in certifications.code_administrations(member)]


def test_an_inactive_procedure_starts_no_dossier_and_existing_ones_go_on(desk, certified_space):
    lea, member = certified_space
    procedure = Procedure.get(slug="lbr-changement-adresse")
    draft = dossiers.start(member, lea, procedure.slug)
    catalogue.set_active(desk, "procedure", procedure.id, False)
    assert procedure.slug not in [offer.procedure.slug for offer in procedures.offers(member)]
    with pytest.raises(dossiers.ProcedureClosed):
        dossiers.start(member, lea, procedure.slug)
    with pytest.raises(dossiers.ProcedureClosed):
        dossiers.start_choice(member, procedure.slug)
    assert dossiers.procedure(procedure.slug).id == procedure.id  # the draft still opens
    assert draft.procedure_id == procedure.id

    # An inactive administration closes its procedures the same way.
    catalogue.set_active(desk, "procedure", procedure.id, True)
    catalogue.set_active(desk, "administration", procedure.administration_id, False)
    assert procedure.slug not in [offer.procedure.slug for offer in procedures.offers(member)]
    with pytest.raises(dossiers.ProcedureClosed):
        dossiers.start(member, lea, procedure.slug)


def test_seed_demo_reactivates_nothing_and_keeps_the_helpdesk_edits(desk, app):
    acd = catalogue.administration_of(1)
    catalogue.edit_administration(desk, acd.id, "ACD renommée", "", in_three(name="ACD"))
    catalogue.set_active(desk, "administration", acd.id, False)
    catalogue.set_active(desk, "service", Service.get(slug="elections-sociales").id, False)
    procedure = Procedure.get(slug="lbr-changement-adresse")
    catalogue.set_active(desk, "procedure", procedure.id, False)
    procedure_catalogue.replace_procedure(
        desk, procedure.id, file_of(factories.retitled(ADDRESS_CHANGE, "Nouveau titre"))
    )

    factories.demo_procedures()  # what seed-demo runs

    assert (catalogue.administration_of(acd.id).name, catalogue.administration_of(acd.id).active) == (
        "ACD renommée",
        False,
    )
    assert Service.get(slug="elections-sociales").active is False
    again = Procedure.get_by_id(procedure.id)
    assert (again.active, again.title) == (False, "Nouveau titre")


# --- Procedure definitions ---------------------------------------------------------------------


def test_a_valid_definition_adds_a_procedure(desk):
    created = procedure_catalogue.add_procedure(desk, file_of({**ADDRESS_CHANGE, "slug": "lbr-radiation"}))
    assert (created.slug, created.administration.code, created.service, created.active) == (
        "lbr-radiation",
        "LBR",
        None,
        True,
    )
    assert (last_entry().action, last_entry().details) == (
        "catalogue.procedure_added",
        {"slug": "lbr-radiation", "administration": "LBR"},
    )
    # With a BOM, as some editors save it; of an administration the helpdesk created.
    ccss = catalogue.create_administration(desk, "CCSS", "Centre commun", "", in_three(name="CCSS"))
    catalogue.create_service(
        desk, ccss.id, "affiliation", "Affiliation", "", True, ["code"], in_three(name="A")
    )
    data = {**ADDRESS_CHANGE, "slug": "ccss-affiliation", "administration": "CCSS", "service": "affiliation"}
    created = procedure_catalogue.add_procedure(desk, b"\xef\xbb\xbf" + file_of(data))
    assert created.service.slug == "affiliation"


@pytest.mark.parametrize(
    "change, problem",
    [
        (
            {"slug": "lbr-changement-adresse"},
            "slug : une démarche porte déjà le slug 'lbr-changement-adresse'",
        ),
        ({"slug": "Pas Un Slug"}, "slug : 'Pas Un Slug' does not match"),
        ({"administration": "XYZ"}, "administration : administration 'XYZ' inconnue"),
        ({"service": "fiches-retenue"}, "service : service 'fiches-retenue' inconnu de l'administration LBR"),
        ({"steps": []}, "steps : [] should be non-empty"),
        ({"colour": "bleu"}, "(racine) : Additional properties are not allowed ('colour' was unexpected)"),
        ({"title": "Radiation"}, "translations/de : texte sans traduction : « Radiation »"),
    ],
)
def test_a_broken_definition_is_refused_with_the_path_of_each_problem(desk, change, problem):
    before = Procedure.select().count()
    with pytest.raises(procedure_catalogue.DefinitionRefused) as refused:
        procedure_catalogue.add_procedure(desk, file_of({**ADDRESS_CHANGE, "slug": "lbr-autre", **change}))
    assert any(str(line).startswith(problem) for line in refused.value.problems), refused.value.problems
    assert Procedure.select().count() == before


def test_semantic_problems_deep_in_a_definition(desk):
    data = json.loads(json.dumps(ADDRESS_CHANGE))
    data["slug"] = "lbr-autre"
    data["steps"][0]["fields"][0]["prefill"] = "company.colour"
    data["steps"][1]["fields"][0]["name"] = "company_name"
    with pytest.raises(procedure_catalogue.DefinitionRefused) as refused:
        procedure_catalogue.add_procedure(desk, file_of(data))
    assert refused.value.problems == [
        "steps/0/fields/0/prefill : clé 'company.colour' inconnue de data/vault_keys.json",
        "steps/1/fields/0/name : champ 'company_name' en double",
    ]


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "Le fichier est vide."),
        (b"{pas du json", "(racine) : JSON illisible"),
        (b"\xff\xfe{}", "(racine) : JSON illisible"),
        (b" " * (512 * 1024 + 1), "Le fichier dépasse 512 Ko."),
    ],
)
def test_a_file_that_is_no_definition(desk, content, problem):
    with pytest.raises(procedure_catalogue.DefinitionRefused) as refused:
        procedure_catalogue.add_procedure(desk, content)
    assert str(refused.value.problems[0]).startswith(problem)


def test_replace_a_definition_keeps_its_slug(desk):
    procedure = Procedure.get(slug="lbr-changement-adresse")
    with pytest.raises(procedure_catalogue.DefinitionRefused) as refused:
        procedure_catalogue.replace_procedure(
            desk, procedure.id, file_of({**ADDRESS_CHANGE, "slug": "autre"})
        )
    assert refused.value.problems == [
        "slug : le fichier décrit 'autre', pas la démarche 'lbr-changement-adresse'"
    ]
    with pytest.raises(catalogue.NotInCatalogue):
        procedure_catalogue.replace_procedure(desk, 9999, file_of(ADDRESS_CHANGE))

    replaced = procedure_catalogue.replace_procedure(
        desk, procedure.id, file_of(factories.retitled(ADDRESS_CHANGE, "Transfert du siège social"))
    )
    assert replaced.title == "Transfert du siège social" == replaced.definition["title"]
    assert json.loads(procedure_catalogue.definition_file(replaced))["title"] == "Transfert du siège social"
    assert last_entry().action == "catalogue.procedure_replaced"


# --- Accounts and spaces -----------------------------------------------------------------------


def test_find_a_person_and_set_their_space_limit(desk):
    lea = factories.user("Lea.Guichet")
    factories.space(lea)
    with pytest.raises(helpdesk.PersonNotFound):
        helpdesk.find_person("lea")  # exact, not a search
    person = helpdesk.find_person(" lea.guichet ")
    assert (person.user.id, person.product.space_limit, person.spaces_created, person.login.blocked) == (
        lea.id,
        200,
        1,
        False,
    )
    for wrong in (-1, 100_001, None):
        with pytest.raises(helpdesk.SpaceLimitOutOfRange):
            helpdesk.set_space_limit(desk, "lea.guichet", wrong)
    person = helpdesk.set_space_limit(desk, "LEA.GUICHET", 250)
    assert person.product.space_limit == 250
    entry = last_entry()
    assert (entry.action, entry.actor, entry.details["limit"], entry.details["previous"]) == (
        "helpdesk.space_limit",
        "Hélène Helpdesk (Helpdesk)",
        250,
        200,
    )


def test_unlock_a_person_says_whether_it_was_locked(desk, clock):
    lea = factories.user("lea")
    assert helpdesk.unlock_person(desk, "lea") is False
    key = auth.login_key("lea")
    Throttle.create(key=key, consecutive_failures=throttle.MAX_CONSECUTIVE, locked_at=clock.now())
    assert helpdesk.find_person("lea").login.locked
    with pytest.raises(throttle.Locked):
        throttle.check(key)
    assert helpdesk.unlock_person(desk, "lea") is True
    throttle.check(key)  # free again
    assert not helpdesk.find_person("lea").login.blocked
    entry = last_entry()
    assert (entry.action, entry.details["userid"], entry.details["agent"]) == (
        "helpdesk.unlock_account",
        "lea",
        False,
    )
    assert lea.id == helpdesk.find_person("lea").user.id


def test_unlock_an_agent(desk, clock):
    factories.agent()
    with pytest.raises(helpdesk.AgentNotFound):
        helpdesk.unlock_agent(desk, "personne")
    key = auth.login_key("agent.alva", agents.AGENTS)
    Throttle.create(key=key, window_failures=10, blocked_until=clock.now() + timedelta(minutes=15))
    agent, was_blocked = helpdesk.unlock_agent(desk, "Agent.Alva")
    assert was_blocked and agent.userid == "agent.alva"
    assert helpdesk.unlock_agent(desk, "agent.alva")[1] is False
    assert last_entry().details == {"userid": "agent.alva", "agent": True, "cleared": 0}


def test_deleted_spaces_for_thirty_days_and_restore(desk, clock):
    lea = factories.user("lea")
    old = factories.space(lea, name="Ancien")
    recent = factories.space(lea, name="Récent")
    factories.space(lea, name="Vivant")
    spaces.delete_space(spaces.membership_for(lea, old.id), lea, "Ancien")
    clock.advance(days=20)
    spaces.delete_space(spaces.membership_for(lea, recent.id), lea, "Récent")
    clock.advance(days=10, seconds=1)  # "Ancien" was deleted 30 days and a second ago

    rows, total = helpdesk.deleted_spaces(1)
    assert [(row.name, row.deleted_by.display_name) for row in rows] == [("Récent", "Léa Guichet")]
    assert total == 1 and rows[0].restorable_until == rows[0].deleted_at + timedelta(days=30)
    with pytest.raises(spaces.DeletedTooLongAgo):
        helpdesk.restore_space(desk, old.id)
    restored = helpdesk.restore_space(desk, recent.id)
    assert Space.get_by_id(restored.id).deleted_at is None
    entry = last_entry()
    assert (entry.action, entry.space_id, entry.actor) == (
        "helpdesk.space_restored",
        recent.id,
        "Hélène Helpdesk (Helpdesk)",
    )
    with pytest.raises(spaces.NoDeletedSpace):
        helpdesk.restore_space(desk, recent.id)
    assert helpdesk.deleted_spaces(1) == ([], 0)
