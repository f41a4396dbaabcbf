"""Procedures as data and the assistant's rules, called on the services: the definition files
checked at start-up (schema, catalogue, vault keys), seed-demo's loading, each field type's
validation, groups, the prefill's sources, the canonical data, and the assistant's saves
(versions, statuses, roles, files by content, Enregistrer ces informations dans Mes données
professionnelles)."""

import json
from pathlib import Path

import pytest

import factories
from app import create_app
from models import Dossier, DossierFile, Procedure, User, VaultEntry
from services import assistant, dossier_files, dossiers, procedure_values, procedures, spaces

pytestmark = pytest.mark.usefixtures("request_context")

DEMO = Path(__file__).resolve().parent.parent / "data" / "procedures"
ACD = "acd-fiches-retenue"
MATRICULES = ("1983081974925", "1990051212318", "1975113045644")


def demo(slug):
    return json.loads((DEMO / f"{slug}.json").read_text(encoding="utf-8"))


def written(tmp_path, *definitions):
    for data in definitions:
        (tmp_path / f"{data['slug']}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def problems(tmp_path, *definitions):
    with pytest.raises(procedures.DefinitionError) as broken:
        procedures.read_definitions(written(tmp_path, *definitions))
    return broken.value.problems


# --- The definition files -----------------------------------------------------------------


def test_the_demo_catalogue_has_the_four_procedures():
    definitions = {data["slug"]: data for _path, data in procedures.read_definitions(DEMO)}
    assert {slug: data["service"] for slug, data in definitions.items()} == {
        "acd-fiches-retenue": "fiches-retenue",
        "itm-elections-sociales": "elections-sociales",
        "alva-etablissement-alimentaire": "securite-alimentaire",
        "lbr-changement-adresse": None,
    }
    acd = procedures.Definition.of(definitions[ACD])
    employees = acd.steps[1].fields[0]
    assert employees.type == "group" and [f.type for f in employees.fields][:1] == ["matricule"]
    assert acd.steps[0].fields[0].prefill == "company.name"
    itm = procedures.Definition.of(definitions["itm-elections-sociales"])
    minutes = next(f for f in itm.fields() if f.type == "file")
    assert minutes.required and minutes.accept == ("pdf",)
    assert any(f.type == "group" for f in itm.fields())


def test_a_wrong_type_names_the_file_and_the_path(tmp_path):
    broken = demo(ACD)
    broken["steps"][1]["fields"][0]["fields"][0]["type"] = "colour"
    (found,) = problems(tmp_path, broken)
    assert found.startswith(
        f"{tmp_path / 'acd-fiches-retenue.json'}: steps/1/fields/0/fields/0/type: 'colour'"
    )
    assert "is not one of" in found


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d.pop("title"), "(racine): 'title' is a required property"),
        (lambda d: d.update(slug="Pas Un Slug"), "slug: 'Pas Un Slug' does not match"),
        (lambda d: d["steps"][0]["fields"][0].update(options=[]), "steps/0/fields/0/options"),
        (
            lambda d: d["steps"][0]["fields"][0].update(colour="bleu"),
            "steps/0/fields/0: Additional properties",
        ),
        (lambda d: d["steps"][1]["fields"][0].pop("max_rows"), "steps/1/fields/0: 'max_rows' is a required"),
        (
            lambda d: d["steps"][1]["fields"][0]["fields"][0].update(type="file"),
            "fields/0/fields/0/type: 'file'",
        ),
        (lambda d: d["steps"][1]["fields"][0]["fields"][0].update(type="group"), "fields/0/fields/0/type"),
        (
            lambda d: d["steps"][0]["fields"][0].update(min=3),
            "steps/0/fields/0/min: 3 should not be valid under {'description': 'only number and amount",
        ),
        (lambda d: d["steps"].clear(), "steps: [] should be non-empty"),
    ],
)
def test_the_schema_refuses(tmp_path, change, expected):
    broken = demo(ACD)
    change(broken)
    assert any(expected in line for line in problems(tmp_path, broken)), problems(tmp_path, broken)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d.update(administration="XYZ"), "administration: administration 'XYZ' inconnue"),
        (lambda d: d.update(service="elections-sociales"), "service: service 'elections-sociales' inconnu"),
        (lambda d: d["steps"][0]["fields"][0].update(prefill="company.colour"), "fields/0/prefill: clé"),
        (lambda d: d["steps"][2]["fields"][0].update(name="company_name"), "steps/2/fields/0/name: champ"),
        (lambda d: d["steps"][1].update(key="employeur"), "steps/1/key: étape 'employeur' en double"),
        (lambda d: d["steps"][2]["fields"][0].update(min=3000), "steps/2/fields/0/min: min est plus grand"),
        (lambda d: d["steps"][0]["fields"][0].update(unique=True), "steps/0/fields/0/unique"),
    ],
)
def test_what_the_schema_cannot_say_is_checked_after_it(tmp_path, change, expected):
    broken = demo(ACD)
    change(broken)
    assert any(expected in line for line in problems(tmp_path, broken)), problems(tmp_path, broken)


def test_every_broken_file_is_listed_and_a_slug_is_taken_once(tmp_path):
    (tmp_path / "a-broken.json").write_text("{ not json", encoding="utf-8")
    copy_ = demo(ACD)
    (tmp_path / "z-copy.json").write_text(json.dumps(copy_), encoding="utf-8")
    found = problems(tmp_path, demo(ACD))
    assert found[0].startswith(f"{tmp_path / 'a-broken.json'}: JSON illisible")
    assert found[1] == f"{tmp_path / 'z-copy.json'}: slug: slug 'acd-fiches-retenue' déjà pris par " + str(
        tmp_path / "acd-fiches-retenue.json"
    )


def test_the_app_does_not_start_with_a_broken_definition(tmp_path, database_url):
    broken = demo(ACD)
    broken["steps"][0]["fields"][0]["type"] = "colour"
    written(tmp_path, broken)
    with pytest.raises(procedures.DefinitionError) as refused:
        create_app({"ESPACE_ENV": "test", "DATABASE_URL": database_url, "PROCEDURES_DIR": tmp_path})
    assert "acd-fiches-retenue.json: steps/0/fields/0/type: 'colour' is not one of" in str(refused.value)


# --- seed-demo ----------------------------------------------------------------------------


def test_seed_demo_loads_the_procedures_idempotently(app, runner, tmp_path):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "Démarches : 4 (ajoutées : 4, mises à jour : 0)." in result.output
    acd = Procedure.get(Procedure.slug == ACD)
    assert (acd.administration.code, acd.service.slug) == ("ACD", "fiches-retenue")
    assert Procedure.get(Procedure.slug == "lbr-changement-adresse").service is None
    result = runner.invoke(args=["seed-demo"])
    assert "Démarches : 4 (ajoutées : 0, mises à jour : 0)." in result.output
    assert Procedure.get(Procedure.slug == ACD).updated_at == acd.updated_at

    changed = factories.retitled(demo(ACD), "Fiches de retenue d'impôt : demande")
    changed["steps"][2]["fields"].pop()
    directory = written(tmp_path, changed, demo("lbr-changement-adresse"))
    assert procedures.load(directory) == (2, 0, 1)
    acd = Procedure.get(Procedure.slug == ACD)
    assert acd.title == "Fiches de retenue d'impôt : demande" and acd.definition == changed
    assert Procedure.select().count() == 4  # a file taken away leaves its procedure (and its dossiers)


# --- Values -------------------------------------------------------------------------------


def field(type_, **options):
    return procedures.Field.of({"name": "f", "type": type_, "label": "Champ", **options})


@pytest.mark.parametrize(
    "type_, options, typed, kept",
    [
        ("text", {}, "  Guichet   SARL ", "Guichet SARL"),
        ("textarea", {}, " ligne 1\r\nligne 2 ", "ligne 1\nligne 2"),
        ("email", {}, "Paie@Guichet.LU", "Paie@guichet.lu"),
        ("phone", {}, "+352  12 34 56", "+352 12 34 56"),
        ("date", {}, "2026-02-28", "2026-02-28"),
        ("number", {"min": 0, "max": 50}, " 12 ", "12"),
        ("number", {"min": -5}, "-3", "-3"),
        ("year", {"min": 2020, "max": 2035}, " 2026 ", "2026"),
        ("year", {}, "2 026", "2026"),  # copied as a number is printed
        ("amount", {}, "1 234,5", "1234.50"),
        ("amount", {"min": 0}, "0", "0.00"),
        ("amount", {}, "12.34", "12.34"),
        ("amount", {}, "1.234,50", "1234.50"),  # as German writes it
        ("amount", {}, "1,234.50", "1234.50"),  # as English writes it
        ("select", {"options": [{"value": "a", "label": "A"}]}, "a", "a"),
        ("checkbox", {}, "1", "1"),
        ("iban", {}, "lu28 0019 4006 4475 0000", "LU280019400644750000"),
        ("matricule", {}, "1983 0819 749 25", "1983081974925"),
        ("identifier", {}, "b 123456", "B123456"),
        ("identifier", {}, "732 829 320", "732829320"),
        ("text", {}, "", ""),
    ],
)
def test_each_type_keeps_a_normalised_value(type_, options, typed, kept):
    assert procedure_values.clean(field(type_, **options), typed) == kept


@pytest.mark.parametrize(
    "type_, options, typed, message",
    [
        ("text", {"required": True}, "   ", "Ce champ est obligatoire."),
        ("checkbox", {"required": True}, "", "Cochez cette case pour continuer."),
        ("text", {"max_length": 5}, "Guichet", "5 caractères au plus."),
        ("email", {}, "paie@", "Cette adresse e-mail n'est pas valide."),
        ("phone", {}, "12", "Numéro de téléphone invalide"),
        ("date", {}, "2026-02-30", "Saisissez une date valide (AAAA-MM-JJ)."),
        ("date", {}, "28/02/2026", "Saisissez une date valide"),
        ("date", {}, "2026-2-28", "Saisissez une date valide"),
        ("number", {}, "12.5", "Saisissez un nombre entier."),
        ("number", {}, "douze", "Saisissez un nombre entier."),
        ("number", {"min": 15}, "14", "La valeur doit être au moins 15."),
        ("number", {"max": 50}, "51", "La valeur doit être au plus 50."),
        ("year", {}, "26", "Saisissez une année sur quatre chiffres, par exemple 2026."),
        ("year", {}, "2026.0", "Saisissez une année sur quatre chiffres"),
        ("year", {"min": 2020}, "2019", "La valeur doit être au moins 2020."),
        ("year", {"max": 2035}, "2036", "La valeur doit être au plus 2035."),
        ("amount", {}, "12,345", "Saisissez un montant, par exemple 1234,50 (deux décimales au plus)."),
        ("amount", {}, "1e5", "Saisissez un montant"),
        ("amount", {"min": 0}, "-0.01", "La valeur doit être au moins 0."),
        ("amount", {"max": 99.5}, "99.51", "La valeur doit être au plus 99.5."),
        ("select", {"options": [{"value": "a", "label": "A"}]}, "b", "Choisissez une valeur dans la liste."),
        ("iban", {}, "LU28 0019 4006 4475 0001", "IBAN invalide."),
        ("matricule", {}, "1983081974926", "Le matricule est invalide (chiffres de contrôle)."),
        ("identifier", {}, "LU1", "Saisissez un numéro RCS"),
    ],
)
def test_each_type_refuses_with_its_message(type_, options, typed, message):
    with pytest.raises(procedure_values.InvalidValue) as refused:
        procedure_values.clean(field(type_, **options), typed)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_the_fiches_de_retenue_tax_year_reads_as_a_year(app, language):
    """Shown on the review and printed on the receipt as 2026, never as a quantity (2 026 in
    French, 2.026 in German)."""
    from flask_babel import force_locale

    factories.demo_procedures()
    fiches = procedures.definition(Procedure.get(Procedure.slug == "acd-fiches-retenue"))
    [tax_year] = [field for field in fiches.fields() if field.name == "tax_year"]
    assert tax_year.type == "year"
    with force_locale(language):
        assert procedure_values.display(tax_year, procedure_values.clean(tax_year, "2026")) == "2026"


def test_a_too_long_value_is_refused_even_in_a_draft():
    step = procedures.Step(
        1, "s", "S", "", (field("text", max_length=5), field("textarea")._replace(name="g"))
    )
    values, errors = procedure_values.validate(step, {"f": "Guichet", "g": "x" * 4001}, strict=False)
    assert errors == {"f": "5 caractères au plus.", "g": "4000 caractères au plus."}
    values, errors = procedure_values.validate(step, {"f": "pas ", "g": "un e-mail"}, strict=False)
    assert (values, errors) == ({"f": "pas ", "g": "un e-mail"}, {})  # kept as typed


EMPLOYEES = procedures.Field.of(
    {
        "name": "employees",
        "type": "group",
        "label": "Salariés",
        "required": True,
        "min_rows": 1,
        "max_rows": 3,
        "fields": [
            {
                "name": "matricule",
                "type": "matricule",
                "label": "Matricule",
                "required": True,
                "unique": True,
            },
            {"name": "last_name", "type": "text", "label": "Nom", "required": True},
            {"name": "seasonal", "type": "checkbox", "label": "Saisonnier"},
        ],
    }
)
GROUP_STEP = procedures.Step(1, "salaries", "Vos salariés", "", (EMPLOYEES,))


def test_rows_are_read_in_order_whatever_their_numbers():
    form = {
        "employees-7-matricule": MATRICULES[1],
        "employees-7-last_name": "Weber",
        "employees-0-matricule": MATRICULES[0],
        "employees-0-seasonal": "on",
        "employees-x-matricule": "ignored",
        "other": "ignored",
    }
    entered = procedure_values.read_step(GROUP_STEP, form, {})
    assert entered == {
        "employees": [
            {"matricule": MATRICULES[0], "last_name": "", "seasonal": "1"},
            {"matricule": MATRICULES[1], "last_name": "Weber", "seasonal": ""},
        ]
    }


def test_a_group_drops_blank_rows_and_keys_errors_by_cell():
    rows = [
        {"matricule": MATRICULES[0], "last_name": "Muller", "seasonal": ""},
        {"matricule": "", "last_name": " ", "seasonal": ""},  # left blank: dropped
        {"matricule": "1983 0819 749 25", "last_name": "", "seasonal": "1"},
    ]
    values, errors = procedure_values.validate(GROUP_STEP, {"employees": rows})
    assert errors == {
        "employees-1-matricule": "Cette valeur figure déjà à la ligne 1.",
        "employees-1-last_name": "Ce champ est obligatoire.",
    }
    assert len(values["employees"]) == 2 and values["employees"][1]["seasonal"] == "1"
    values, errors = procedure_values.validate(GROUP_STEP, {"employees": rows[1:2]})
    assert values == {"employees": []} and errors == {"employees": "Ajoutez au moins 1 ligne."}
    _values, errors = procedure_values.validate(GROUP_STEP, {"employees": rows[:1] * 4}, strict=False)
    assert errors == {"employees": "3 lignes au plus."}


def test_check_data_says_which_steps_are_incomplete(app):
    acd = procedures.Definition.of(demo(ACD))
    data = {**factories.ACD_STEPS[1], "employees": [], **factories.ACD_STEPS[3]}
    assert procedure_values.check_data(acd, data) == {2: {"employees": "Ajoutez au moins 1 ligne."}}
    itm = procedures.Definition.of(demo("itm-elections-sociales"))
    assert procedure_values.check_data(itm, {"minutes": "12"}, file_ids={"13"})[4]["minutes"] == (
        "Ce champ est obligatoire."
    )


def test_display_of_stored_values(request_context):
    select = field("select", options=[{"value": "a", "label": "Restauration"}])
    assert procedure_values.display(select, "a") == "Restauration"
    assert str(procedure_values.display(field("checkbox"), "")) == "Non"
    assert procedure_values.display(field("iban"), "LU280019400644750000") == "LU28 0019 4006 4475 0000"
    assert procedure_values.display(field("date"), "2026-01-05") == "5 janvier 2026"
    assert procedure_values.display(field("date"), "05/01") == "05/01"  # a draft's entry as typed


def test_canonical_data_is_sorted_compact_utf8():
    data = {"z": "Léa", "a": [{"b": "1", "a": "2"}]}
    assert procedures.canonical(data) == '{"a":[{"a":"2","b":"1"}],"z":"Léa"}'.encode()
    assert procedures.data_sha256(data) == procedures.data_sha256(json.loads(json.dumps(data)))
    assert len(procedures.data_sha256(data)) == 64


# --- Prefill ------------------------------------------------------------------------------


def test_prefill_takes_the_vault_first_then_the_company_record(app):
    lea = factories.user("lea")
    space = factories.space(lea, company_email="contact@guichet.lu")
    acd = procedures.Definition.of(demo(ACD))
    prefilled = procedures.prefill(acd, space)
    assert prefilled["company_name"] == "Guichet SARL" and prefilled["contact_email"] == "contact@guichet.lu"
    assert "contact_person" not in prefilled and "employees" not in prefilled
    VaultEntry.create(space=space, key="contact.email", value="paie@guichet.lu")
    VaultEntry.create(space=space, key="contact.person", value="Léa Guichet")
    prefilled = procedures.prefill(acd, space)
    assert (prefilled["contact_email"], prefilled["contact_person"]) == ("paie@guichet.lu", "Léa Guichet")
    record_only = procedures.prefill(acd, space, with_vault=False)
    assert record_only["contact_email"] == "contact@guichet.lu" and "contact_person" not in record_only
    assert procedures.prefill(acd, None) == {}


# --- Commencer une démarche -----------------------------------------------------------------


def test_offers_say_which_procedures_need_a_certification(app):
    factories.demo_procedures()
    lea = factories.user("lea")
    space = factories.space(lea)
    factories.holder_certification(space)
    member = spaces.membership_for(lea, space.id)
    offers = {offer.procedure.slug: offer.certified for offer in procedures.offers(member)}
    assert offers == {
        ACD: True,
        "alva-etablissement-alimentaire": False,
        "itm-elections-sociales": False,
        "lbr-changement-adresse": True,
    }
    private = spaces.membership_for(lea, factories.space(lea, name="Privé", kind="private").id)
    assert procedures.offers(private) == []


# --- The assistant ------------------------------------------------------------------------


@pytest.fixture
def guichet(app, clock):
    """Léa administers Guichet SARL's space, certified for the ACD; Marc manages, Zoé reads."""
    factories.demo_procedures()
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    factories.holder_certification(space)
    factories.holder_certification(space, "elections-sociales")
    for name, role in (("marc", "manager"), ("zoe", "reader")):
        factories.member(space, factories.user(name, email=f"{name}@example.lu"), role)
    return spaces.membership_for(lea, space.id)


def started(member, slug=ACD):
    return dossiers.start(member, member.user, slug)


def save(member, dossier, number, form=None, action="next", uploads=None, version=None, **options):
    current = Dossier.get_by_id(dossier.id)
    version = current.version if version is None else version
    return assistant.save_step(
        member, member.user, dossier.id, number, version, form or {}, uploads or {}, action, **options
    )


def fill(member, dossier, upto=3):
    for number in range(1, upto + 1):
        save(member, dossier, number, factories.ACD_STEPS[number])


def test_a_step_shows_the_prefill_marked_until_changed(guichet):
    dossier = started(guichet)
    page = assistant.open_step(guichet, dossier.id, 1)
    assert page.values["company_name"] == "Guichet SARL" and "company_name" in page.prefilled
    assert page.values["employer_number"] == "" and page.refusal is None and not page.offer_vault
    save(guichet, dossier, 1, {**factories.ACD_STEPS[1], "company_name": "Guichet SA"}, "draft")
    page = assistant.open_step(guichet, dossier.id, 1)
    assert page.values["company_name"] == "Guichet SA" and "company_name" not in page.prefilled
    assert "city" in page.prefilled


def test_next_validates_and_moves_on_and_back_and_draft_keep_what_was_typed(guichet):
    dossier = started(guichet)
    with pytest.raises(assistant.StepNotReached) as elsewhere:
        assistant.open_step(guichet, dossier.id, 2)
    assert elsewhere.value.number == 1
    saved = save(guichet, dossier, 1, {**factories.ACD_STEPS[1], "company_identifier": " b 123456 "})
    assert (saved.go_to, Dossier.get_by_id(dossier.id).step) == (2, 1)
    assert Dossier.get_by_id(dossier.id).data["company_identifier"] == "B123456"
    saved = save(guichet, dossier, 2, {"employees-0-matricule": "pas encore"}, "back")
    assert saved.go_to == 1
    assert Dossier.get_by_id(dossier.id).data["employees"] == [
        {"matricule": "pas encore", "last_name": "", "first_name": "", "entry_date": ""}
    ]
    with pytest.raises(assistant.StepInvalid) as invalid:
        save(guichet, dossier, 2, {"employees-0-matricule": "pas encore"})
    assert invalid.value.errors["employees-0-matricule"] == "Le matricule doit comporter 13 chiffres."
    assert invalid.value.status == 422
    assert Dossier.get_by_id(dossier.id).version == 2  # the refused post changed nothing
    saved = save(guichet, dossier, 2, factories.ACD_STEPS[2])
    saved = save(guichet, dossier, 3, factories.ACD_STEPS[3])
    assert saved.go_to is None  # the signature
    assert (
        procedure_values.check_data(
            assistant.open_dossier(guichet, dossier.id)[1], Dossier.get_by_id(dossier.id).data
        )
        == {}
    )


def test_rows_are_added_and_removed_with_the_draft_saved(guichet):
    dossier = started(guichet)
    save(guichet, dossier, 1, factories.ACD_STEPS[1])
    form = {**factories.ACD_STEPS[2]}
    saved = save(guichet, dossier, 2, form, "add:employees")
    assert saved.go_to == 2 and len(Dossier.get_by_id(dossier.id).data["employees"]) == 2
    form["employees-1-matricule"] = MATRICULES[1]
    save(guichet, dossier, 2, form, "add:employees")
    save(guichet, dossier, 2, {**form, "employees-2-last_name": "Weber"}, "remove:employees:0")
    rows = Dossier.get_by_id(dossier.id).data["employees"]
    assert [row["matricule"] for row in rows] == [MATRICULES[1], ""] and rows[1]["last_name"] == "Weber"
    save(guichet, dossier, 2, form, "remove:employees:99")  # nothing to remove: saved as it is
    assert len(Dossier.get_by_id(dossier.id).data["employees"]) == 2


def test_a_stale_version_is_refused_and_changes_nothing(guichet):
    dossier = started(guichet)
    save(guichet, dossier, 1, factories.ACD_STEPS[1], "draft")
    before = Dossier.get_by_id(dossier.id)
    with pytest.raises(assistant.StaleVersion) as stale:
        save(guichet, dossier, 1, {**factories.ACD_STEPS[1], "city": "Esch"}, "draft", version=0)
    assert stale.value.status == 409
    after = Dossier.get_by_id(dossier.id)
    assert (after.version, after.data) == (before.version, before.data)


def test_a_transmitted_dossier_cannot_be_edited_but_a_complement_can(guichet):
    dossier = started(guichet)
    fill(guichet, dossier)
    Dossier.update(status="submitted").where(Dossier.id == dossier.id).execute()
    with pytest.raises(dossiers.NotEditable):
        save(guichet, dossier, 3, factories.ACD_STEPS[3], "draft")
    page = assistant.open_step(guichet, dossier.id, 3)  # still readable
    assert "transmis" in page.refusal
    Dossier.update(status="complement").where(Dossier.id == dossier.id).execute()
    assert save(guichet, dossier, 3, factories.ACD_STEPS[3], "draft").go_to == 3


def test_a_reader_reads_the_steps_but_cannot_save(guichet):
    dossier = started(guichet)
    zoe = spaces.membership_for(User.get(User.userid == "zoe"), guichet.space_id)
    assert "Consultation" in assistant.open_step(zoe, dossier.id, 1).refusal
    with pytest.raises(spaces.NotAllowed):
        save(zoe, dossier, 1, factories.ACD_STEPS[1], "draft")
    stranger = factories.user("eve", email="eve@example.lu")
    elsewhere = spaces.membership_for(stranger, factories.space(stranger, name="Chez Eve").id)
    with pytest.raises(dossiers.DossierNotFound):
        assistant.open_step(elsewhere, dossier.id, 1)


def test_the_version_lock_holds_when_two_tabs_save_at_once(app, guichet):
    from helpers import at_once

    dossier = started(guichet)

    def tab(city):
        return lambda: save(guichet, dossier, 1, {**factories.ACD_STEPS[1], "city": city}, "draft", version=0)

    outcomes = at_once(app, [tab("Esch"), tab("Diekirch")])
    assert sorted(type(o).__name__ if o != "ok" else o for o in outcomes) == ["StaleVersion", "ok"]
    assert Dossier.get_by_id(dossier.id).version == 1


# --- Files --------------------------------------------------------------------------------


@pytest.fixture
def itm(guichet):
    dossier = started(guichet, "itm-elections-sociales")
    Dossier.update(step=3).where(Dossier.id == dossier.id).execute()
    return dossier


def test_a_file_is_kept_at_its_step_checked_by_content(guichet, itm):
    form = {"contact_email": "paie@guichet.lu"}
    with pytest.raises(assistant.StepInvalid) as invalid:
        save(guichet, itm, 4, form)
    assert invalid.value.errors == {"minutes": "Ce champ est obligatoire."}
    for content in (factories.PNG, b"%PDX-1.4 not a pdf", b""):
        with pytest.raises(assistant.StepInvalid) as invalid:
            save(guichet, itm, 4, form, uploads={"minutes": ("pv.pdf", content)})
        assert invalid.value.errors["minutes"] in (
            "Le fichier doit être un PDF (vérifié d'après son contenu).",
            "Le fichier est vide.",
        )
    assert DossierFile.select().count() == 0
    saved = save(guichet, itm, 4, form, uploads={"minutes": ("PV élections.pdf", factories.PDF)})
    stored = DossierFile.get()
    assert (stored.name, stored.content_type, stored.size, stored.field) == (
        "PV élections.pdf",
        "application/pdf",
        len(factories.PDF),
        "minutes",
    )
    assert len(stored.sha256) == 64 and saved.dossier.data["minutes"] == str(stored.id)
    save(guichet, itm, 4, form)  # no new file: the one kept stands
    assert Dossier.get_by_id(itm.id).data["minutes"] == str(stored.id)
    page = assistant.open_step(guichet, itm.id, 4)
    assert page.files["minutes"].name == "PV élections.pdf"


def test_a_draft_replaces_its_file_a_complement_keeps_the_signed_one(guichet, itm):
    form = {"contact_email": "paie@guichet.lu"}
    save(guichet, itm, 4, form, uploads={"minutes": ("v1.pdf", factories.PDF)})
    save(guichet, itm, 4, form, uploads={"minutes": ("v2.pdf", factories.PDF + b"2")})
    assert [f.name for f in DossierFile.select()] == ["v2.pdf"]
    Dossier.update(status="complement").where(Dossier.id == itm.id).execute()
    save(guichet, itm, 4, form, uploads={"minutes": ("v3.pdf", factories.PDF + b"3")})
    assert sorted(f.name for f in DossierFile.select()) == ["v2.pdf", "v3.pdf"]


def test_file_sizes_are_limited_per_file_and_per_dossier(guichet, itm, monkeypatch):
    form = {"contact_email": "paie@guichet.lu"}
    big = factories.PDF + b"0" * (dossier_files.MAX_FILE - len(factories.PDF) + 1)
    with pytest.raises(assistant.StepInvalid) as invalid:
        save(guichet, itm, 4, form, uploads={"minutes": ("big.pdf", big)})
    assert invalid.value.errors == {"minutes": "Le fichier dépasse 10 Mo."}
    monkeypatch.setattr(dossier_files, "MAX_PER_DOSSIER", 3 * len(factories.PDF))
    for number in range(2):
        dossier_files.store(itm.id, f"pj{number}.pdf", factories.PDF, "application/pdf")
    with pytest.raises(assistant.StepInvalid) as invalid:
        save(guichet, itm, 4, form, uploads={"minutes": ("pv.pdf", factories.PDF + b"x")})
    assert invalid.value.errors == {
        "minutes": "Les fichiers d'un dossier ne peuvent pas dépasser 50 Mo au total."
    }
    assert DossierFile.select().count() == 2 and Dossier.get_by_id(itm.id).version == 0  # rolled back
    save(guichet, itm, 4, form, uploads={"minutes": ("pv.pdf", factories.PDF)})
    assert DossierFile.select().count() == 3


# --- Enregistrer ces informations dans Mes données professionnelles ---------------------------


def test_the_last_step_saves_the_valid_keyed_values_into_the_vault(guichet):
    dossier = started(guichet)
    fill(guichet, dossier, upto=2)
    assert assistant.open_step(guichet, dossier.id, 3).offer_vault
    data = {**factories.ACD_STEPS[3], "contact_phone": "+352 12 34 56"}
    saved = save(guichet, dossier, 3, data, to_vault=True)
    assert saved.saved_to_vault == 3
    vault_values = {e.key: e.value for e in VaultEntry.select()}
    assert vault_values == {
        "contact.person": "Léa Guichet",
        "contact.email": "paie@guichet.lu",
        "contact.phone": "+352 12 34 56",
    }  # the company's own values, unchanged, are not copied
    save(guichet, dossier, 1, {**factories.ACD_STEPS[1], "company_name": "Guichet SA"})
    assert save(guichet, dossier, 3, data, to_vault=True).saved_to_vault == 1
    assert VaultEntry.get(VaultEntry.key == "company.name").value == "Guichet SA"
    assert save(guichet, dossier, 3, data).saved_to_vault == 0  # not ticked


def test_a_value_that_does_not_fit_its_key_stays_out_of_the_vault(guichet):
    factories.holder_certification(guichet.space, "securite-alimentaire")
    dossier = started(guichet, "alva-etablissement-alimentaire")
    Dossier.update(step=2, data={"vat_number": "pas une TVA", "contact_email": "x@guichet.lu"}).where(
        Dossier.id == dossier.id
    ).execute()
    form = {"manager_name": "Marc", "manager_email": "marc@guichet.lu", "haccp": "1"}
    saved = save(guichet, dossier, 3, form, to_vault=True)
    assert saved.saved_to_vault == 1
    assert {e.key for e in VaultEntry.select()} == {"contact.email"}


def test_a_mandataire_never_writes_the_mandant_values_into_its_own_vault(guichet):
    fiona = factories.user("fiona", email="fiona@example.lu")
    fidu = factories.space(fiona, name="Fiduciaire", company_name="Fidu SA", identifier="B222222")
    member = spaces.membership_for(fiona, fidu.id)
    mandate = factories.taken_up_mandate(guichet, member)
    dossier = dossiers.start(member, fiona, ACD, mandate_id=mandate.id)
    page = assistant.open_step(member, dossier.id, 1)
    assert page.values["company_name"] == "Guichet SARL"  # the mandant's record
    Dossier.update(step=2).where(Dossier.id == dossier.id).execute()
    saved = save(member, dossier, 3, factories.ACD_STEPS[3], to_vault=True)
    assert saved.saved_to_vault == 0 and VaultEntry.select().count() == 0
    assert not assistant.open_step(member, dossier.id, 3).offer_vault


def test_parse_action():
    assert assistant.parse_action("remove:employees:2") == ("remove", "employees", 2)
    assert assistant.parse_action("add:employees") == ("add", "employees", None)
    assert assistant.parse_action("next") == ("next", "", None)
    assert assistant.parse_action("delete-everything") == ("draft", "", None)
    assert assistant.parse_action(None) == ("draft", "", None)
