"""The company register: the demo register loaded by seed-demo (added once, the helpdesk's
changes kept), searched by name or identifier; imports from the SIRENE extract and the RCS
layout, every line checked first (nothing imported when one is wrong), then one
transaction with bulk writes, audited; and what reads it: access codes addressed from it
when the administration gives no address, the "sources authentiques" demo."""

import pytest

import factories
from factories import RCS_HEADER, SIRENE_HEADER, csv_file, rcs_line, registered_company, siren, sirene_line
from helpers import at_once, count_queries
from models import AuditEntry, Company, Letter
from services import (
    access_codes,
    authentic_sources,
    catalogue,
    code_batches,
    companies,
    company_imports,
    csv_files,
    letters,
)

pytestmark = pytest.mark.usefixtures("request_context")


def sirene(lines, **kwargs):
    return csv_file(lines, SIRENE_HEADER, **kwargs)


def rcs(lines, delimiter=";", **kwargs):
    return csv_file(lines, RCS_HEADER, delimiter=delimiter, **kwargs)


def register():
    return {c.identifier: c for c in Company.select()}


def imports_audited():
    entries = AuditEntry.select().where(AuditEntry.action == "company.imported").order_by(AuditEntry.id)
    return [e.details for e in entries]


# --- The demo register ---------------------------------------------------------------------------


def test_the_demo_register_is_loaded_once_and_keeps_the_helpdesks_changes(app, clock):
    count, added = company_imports.load_demo()
    assert count == added >= 15
    known = register()
    assert known["B123456"].address_lines == ["1, rue du Commerce", "L-1000 Luxembourg", "Luxembourg"]
    assert known["B654321"].name == "Boulangerie du Marché SA"
    assert known["732829320"].name == "Fiduciaire de l'Est SAS"
    french = [c for c in known.values() if c.identifier_kind == "siren"]
    assert all(c.country == "France" and len(c.identifier) == 9 for c in french)
    assert any(c.email and c.iban and c.account_holder for c in french)
    assert any(c.email and not c.iban for c in french)
    assert any(not c.email and not c.iban for c in french)
    assert {c.source for c in known.values()} == {"demo"}

    Company.update(name="Guichet SARL (renommée)").where(Company.identifier == "B123456").execute()
    Company.delete().where(Company.identifier == "B654321").execute()
    assert company_imports.load_demo() == (count, 1)  # only what was missing
    assert companies.find("B123456").name == "Guichet SARL (renommée)"


def test_seed_demo_loads_the_register(app, runner, clock):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Registre des entreprises — entreprises : " in result.output and Company.select().count() >= 15
    again = runner.invoke(args=["seed-demo"])
    assert "ajoutées : 0." in again.output


def test_a_siren_is_found_once_luhn_checked(app):
    registered_company(siren(12345678), name="Société 12345678")
    assert companies.by_siren(f" {siren(12345678)[:3]} {siren(12345678)[3:]} ").name == "Société 12345678"
    with pytest.raises(companies.InvalidSiren):
        companies.by_siren("123456789")  # wrong check digit
    with pytest.raises(companies.UnknownCompany) as unknown:
        companies.by_siren(siren(87654321))
    assert unknown.value.status == 422 and "Helpdesk" in unknown.value.message


# --- Searching ----------------------------------------------------------------------------------------


def test_the_register_is_searched_by_name_or_identifier_a_page_at_a_time(app, clock):
    company_imports.load_demo()
    rows, total = companies.search("boulangerie")
    assert total == 3 and {c.name for c in rows} == {
        "Boulangerie Martin",
        "Boulangerie SA",
        "Boulangerie du Marché SA",
    }
    assert [c.identifier for c in companies.search("b 123 456")[0]] == ["B123456"]
    assert [c.identifier for c in companies.search("7328 29320")[0]] == ["732829320"]
    assert companies.search("introuvable") == ([], 0)
    everything, total = companies.search("")
    assert total == Company.select().count() and [c.name for c in everything] == sorted(
        c.name for c in everything
    )
    first, total = companies.search("", page=1, per_page=10)
    second, _total = companies.search("", page=2, per_page=10)
    assert len(first) == 10 and len(second) == total - 10
    assert not {c.id for c in first} & {c.id for c in second}
    with count_queries() as q:
        companies.search("SA", page=1)
    assert q.count == 2


def test_an_iban_is_shown_masked():
    assert companies.masked_iban("FR7630006000011234567890189") == "FR76 •••• 0189"
    assert companies.masked_iban("") == ""


# --- Importing SIRENE -----------------------------------------------------------------------------------


def test_a_sirene_extract_adds_its_head_offices_only(app, clock):
    lines = [
        sirene_line(1, indiceRepetitionEtablissement="B", complementAdresseEtablissement="BATIMENT A"),
        sirene_line(2, head="false"),  # a secondary establishment
        sirene_line(
            3,
            denominationUniteLegale="",
            enseigne1Etablissement="",
            denominationUsuelleEtablissement="Chez Trois",
            categorieJuridiqueUniteLegale="1000",
            typeVoieEtablissement="RUE",
        ),
        sirene_line(4, categorieJuridiqueUniteLegale="9999"),
    ]
    done = company_imports.import_file(sirene(lines, bom=True), "sirene")
    assert done == company_imports.Imported("sirene", 3, 0, 0, 1)
    known = register()
    assert set(known) == {siren(1), siren(3), siren(4)}
    first = known[siren(1)]
    assert (first.name, first.legal_form, first.identifier_kind, first.source) == (
        "Société 1",
        "SAS",
        "siren",
        "sirene",
    )
    assert first.address_lines == ["BATIMENT A, 1 BIS AVENUE DE LA GARE", "57000 METZ", "France"]
    assert (known[siren(3)].name, known[siren(3)].legal_form) == ("Chez Trois", "Entrepreneur individuel")
    assert known[siren(3)].street == "3 RUE DE LA GARE"
    assert known[siren(4)].legal_form == "9999"
    assert imports_audited() == [{"format": "sirene", "added": 3, "updated": 0, "unchanged": 0, "skipped": 1}]


def test_a_sirene_extract_separated_by_semicolons_updates_the_address_and_keeps_the_contact(app, clock):
    registered_company(
        siren(1),
        name="Ancien nom",
        email="societe1@exemple.fr",
        iban="FR7630006000011234567890189",
        account_holder="Société 1",
    )
    company_imports.import_file(sirene([sirene_line(2)]), "sirene")
    clock.advance(days=1)
    done = company_imports.import_file(sirene([sirene_line(1), sirene_line(2)], delimiter=";"), "sirene")
    assert (done.added, done.updated, done.unchanged) == (0, 1, 1)
    first = companies.find(siren(1))
    assert (first.name, first.street, first.source) == ("Société 1", "1 AVENUE DE LA GARE", "sirene")
    assert (first.email, first.iban, first.account_holder) == (
        "societe1@exemple.fr",
        "FR7630006000011234567890189",
        "Société 1",
    )
    assert first.updated_at == clock.now() and companies.find(siren(2)).updated_at < clock.now()


@pytest.mark.parametrize(
    "cells, why",
    [
        ({"siren": "123456789"}, "SIREN invalide"),
        ({"siren": ""}, "« siren » est vide"),
        ({"etablissementSiege": "peut-être"}, "true ou false"),
        ({"denominationUniteLegale": ""}, "Aucune dénomination"),
        ({"libelleCommuneEtablissement": ""}, "« libelleCommuneEtablissement » est vide"),
        (
            {"libelleVoieEtablissement": "", "numeroVoieEtablissement": "", "typeVoieEtablissement": ""},
            "vide",
        ),
        ({"denominationUniteLegale": "N" * 201}, "dépasse 200 caractères"),
        ({"denominationUniteLegale": "Société\x00Une"}, "caractère de contrôle"),
    ],
)
def test_a_wrong_sirene_line_is_said_and_nothing_is_imported(app, clock, cells, why):
    registered_company(siren(1), name="Inchangée")
    data = sirene([sirene_line(1), sirene_line(2), sirene_line(3, **cells)])
    with pytest.raises(company_imports.LinesRefused) as refused:
        company_imports.import_file(data, "sirene")
    [(number, reasons)] = refused.value.lines
    assert number == 4 and why in " ".join(reasons), reasons
    assert refused.value.status == 422
    assert [c.name for c in Company.select()] == ["Inchangée"] and imports_audited() == []


# --- Importing RCS -----------------------------------------------------------------------------------------


def test_an_rcs_file_adds_and_updates_every_column_it_has(app, clock):
    registered_company("B200001", email="ancien@exemple.lu", iban="LU390010001234567890", account_holder="X")
    registered_company("B200002", name="Entreprise 2 SA", **{"email": "contact2@exemple.lu"})
    lines = [
        rcs_line(1, email="", iban="", titulaire=""),  # the register's newer truth: none known
        rcs_line(2, rcs="b 200 002", iban="lu28 0019 4006 4475 0000", pays="Belgique"),
        rcs_line(3, email="Contact3@Exemple.LU"),
    ]
    done = company_imports.import_file(rcs(lines), "rcs")
    assert done == company_imports.Imported("rcs", 1, 2, 0, 0)
    known = register()
    assert (known["B200001"].email, known["B200001"].iban, known["B200001"].account_holder) == ("", "", "")
    assert (known["B200002"].iban, known["B200002"].country) == ("LU280019400644750000", "Belgique")
    assert known["B200003"].email == "Contact3@exemple.lu" and known["B200003"].country == "Luxembourg"
    assert known["B200003"].address_lines == ["3, rue du Commerce", "L-1000 Luxembourg", "Luxembourg"]
    assert known["B200003"].identifier_kind == "rcs"
    # The same file again changes nothing.
    assert company_imports.import_file(rcs(lines, delimiter=","), "rcs").unchanged == 3


@pytest.mark.parametrize(
    "cells, why",
    [
        ({"rcs": "732829320"}, "Numéro RCS invalide"),
        ({"rcs": "B200001"}, "Même identifiant qu'à la ligne 2"),
        ({"denomination": " "}, "« denomination » est vide"),
        ({"adresse": ""}, "« adresse » est vide"),
        ({"localite": ""}, "« localite » est vide"),
        ({"email": "pas-une-adresse"}, "adresse e-mail n'est pas valide"),
        ({"iban": "LU280019400644750001"}, "IBAN invalide"),
        ({"titulaire": ""}, "demande son titulaire"),
        ({"iban": ""}, "sans IBAN"),
    ],
)
def test_a_wrong_rcs_line_is_said_and_nothing_is_imported(app, clock, cells, why):
    data = rcs([rcs_line(1), rcs_line(2), rcs_line(3, **cells)])
    with pytest.raises(company_imports.LinesRefused) as refused:
        company_imports.import_file(data, "rcs")
    [(number, reasons)] = refused.value.lines
    assert number == 4 and why in " ".join(reasons), reasons
    assert Company.select().count() == 0 and imports_audited() == []


def test_every_wrong_line_is_said_with_its_number(app, clock):
    data = rcs([rcs_line(1, rcs="X1"), rcs_line(2), rcs_line(3, email="@", localite="")])
    with pytest.raises(company_imports.LinesRefused) as refused:
        company_imports.import_file(data, "rcs")
    lines = dict(refused.value.lines)
    assert list(lines) == [2, 4] and len(lines[4]) == 2


@pytest.mark.parametrize(
    "fmt, data, error",
    [
        ("rcs", b"x" * (company_imports.MAX_FILE_SIZE + 1), csv_files.FileTooLarge),
        ("rcs", "rcs;dénomination\r\n".encode("latin-1"), csv_files.NotUtf8),
        ("rcs", b"", csv_files.BadHeader),
        ("rcs", b"rcs;denomination\r\nB1;X\r\n", csv_files.BadHeader),
        ("sirene", csv_file([], RCS_HEADER), csv_files.BadHeader),
        ("rcs", csv_file([], RCS_HEADER) + b",,,\r\n\r\n", csv_files.NoLine),
        ("sirene", sirene([sirene_line(1, head="false")]), company_imports.NoHeadOffice),
        ("siret", sirene([sirene_line(1)]), company_imports.UnknownFormat),
    ],
)
def test_a_file_that_is_no_register_is_refused(app, clock, fmt, data, error):
    with pytest.raises(error) as refused:
        company_imports.import_file(data, fmt)
    assert refused.value.status == 422
    assert Company.select().count() == 0


def test_the_header_says_what_sirene_lacks(app):
    header = [c for c in SIRENE_HEADER if c not in ("codePostalEtablissement", "denominationUniteLegale")]
    header.remove("enseigne1Etablissement")
    header.remove("denominationUsuelleEtablissement")
    with pytest.raises(csv_files.BadHeader) as refused:
        company_imports.import_file(csv_file([sirene_line(1)], header), "sirene")
    assert "codePostalEtablissement" in refused.value.message
    assert "denominationUniteLegale | denominationUsuelleEtablissement" in refused.value.message


def test_too_many_lines_are_refused(app, monkeypatch):
    monkeypatch.setattr(company_imports, "MAX_LINES", 3)
    with pytest.raises(csv_files.TooManyLines) as refused:
        company_imports.import_file(rcs([rcs_line(n) for n in range(4)]), "rcs")
    assert "plus de 3 lignes" in refused.value.message


def test_a_large_file_is_written_in_bulk(app, clock):
    registered_company(siren(5), name="Déjà là")
    data = sirene([sirene_line(n) for n in range(1, 1201)])
    with count_queries() as q:
        done = company_imports.import_file(data, "sirene")
    assert (done.added, done.updated) == (1199, 1)
    assert Company.select().count() == 1200
    # 3 lookups of 500 identifiers, 6 inserts of 200, 1 update, the audit entry, the transaction.
    assert q.count < 25, q.count


def test_two_imports_at_once_never_register_a_company_twice(app, clock):
    data = sirene([sirene_line(n) for n in range(1, 51)])
    outcomes = at_once(app, [lambda: company_imports.import_file(data, "sirene")] * 2)
    assert "ok" in outcomes
    assert all(o == "ok" or isinstance(o, company_imports.ImportCollided) for o in outcomes), outcomes
    assert Company.select().count() == 50
    audited = imports_audited()
    assert audited[0]["added"] == 50 and all(entry["added"] == 0 for entry in audited[1:])


def test_the_cli_imports_a_file_or_lists_its_wrong_lines(app, runner, clock, tmp_path):
    good, bad = tmp_path / "bon.csv", tmp_path / "faux.csv"
    good.write_bytes(sirene([sirene_line(1), sirene_line(2, head="false")]))
    bad.write_bytes(rcs([rcs_line(1), rcs_line(2, rcs="12")]))
    result = runner.invoke(args=["import-companies", "--format", "sirene", str(good)])
    assert result.exit_code == 0, result.output
    said = "ajoutées : 1, mises à jour : 0, inchangées : 0, établissements non siège ignorés : 1"
    assert said in result.output
    result = runner.invoke(args=["import-companies", "--format", "rcs", str(bad)])
    assert result.exit_code == 1 and "Ligne 3 : Numéro RCS invalide" in result.stderr
    assert "Rien n'a été importé" in result.stderr
    result = runner.invoke(args=["import-companies", "--format", "rcs", str(good)])
    assert result.exit_code == 1 and "La première ligne du fichier doit nommer les colonnes" in result.stderr
    assert Company.select().count() == 1


def test_the_example_file_imports_and_clears_nothing_of_the_demo_register(app, clock):
    company_imports.load_demo()
    done = company_imports.import_file(company_imports.example_csv().encode(), "rcs")
    assert (done.added, done.updated, done.unchanged) == (0, 0, 2)
    assert companies.find("B654321").email == "boulangerie-marche@exemple.lu"


# --- Access codes addressed from the register ---------------------------------------------------------------


@pytest.fixture
def acd(app, clock):
    catalogue.load()
    return factories.agent("ACD", "agent.acd", name="Anne Agent")


def test_a_code_without_address_goes_to_the_registered_one(acd):
    registered_company("B123456")
    access_code, _code = access_codes.issue_code("ACD", "fiches-retenue", "B123456", "holder")
    [letter] = letters.pending(acd.administration_id)
    assert letter.recipient_name == access_code.company_name == "Guichet SARL"
    assert letter.address_lines == ["1, rue du Commerce", "L-1000 Luxembourg", "Luxembourg"]
    # What the administration gives comes first.
    access_codes.issue_code(
        "ACD", "fiches-retenue", "B123456", "proxy", company_name="Guichet", address_lines=["Boîte 12"]
    )
    assert [(x.recipient_name, x.address_lines[0]) for x in letters.pending(acd.administration_id)] == [
        ("Guichet SARL", "1, rue du Commerce"),
        ("Guichet", "Boîte 12"),
    ]


def test_a_code_for_a_company_the_register_lacks_still_needs_its_address(acd):
    with pytest.raises(access_codes.CodeRequestRefused) as refused:
        access_codes.issue_code("ACD", "fiches-retenue", "B654321", "holder")
    assert set(refused.value.refusals) == {"company_name", "address_lines"}
    assert "le registre des entreprises ne la connaît pas" in refused.value.refusals["address_lines"]
    assert Letter.select().count() == 0


def test_issue_code_on_the_command_line_takes_the_registered_address(acd, runner):
    registered_company("B123456")
    result = runner.invoke(
        args=[
            "issue-code",
            *("--administration", "ACD", "--service", "fiches-retenue"),
            *("--company", "B123456", "--kind", "holder"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert Letter.get().recipient_name == "Guichet SARL"


def test_a_batch_takes_the_registered_addresses_in_one_lookup(acd):
    for n in range(1, 31):
        registered_company(f"B{100000 + n}", name=f"Société {n} (registre)", street=f"{n}, rue du Registre")

    def lines(count):
        return [
            factories.codes_line(n, nom="", adresse="") if n % 2 else factories.codes_line(n)
            for n in range(1, count + 1)
        ]

    counts = []
    for count in (3, 30):
        with count_queries() as q:
            checked = code_batches.check_file(acd.administration, factories.codes_csv(lines(count)))
        counts.append(q.count)
    assert counts[0] == counts[1]
    names = [request.company_name for _number, request in checked]
    assert names[:2] == ["Société 1 (registre)", "Société 2"]
    assert checked[0][1].address_lines == ("1, rue du Registre", "L-1000 Luxembourg", "Luxembourg")
    with pytest.raises(code_batches.LinesRefused) as refused:
        code_batches.check_file(
            acd.administration, factories.codes_csv([factories.codes_line(99, adresse="")])
        )
    assert "le registre des entreprises ne la connaît pas" in refused.value.lines[0][1][0]


# --- The "sources authentiques" demo ---------------------------------------------------------------------


class Certified:
    def __init__(self, identifier, name="", kind="holder"):
        self.company_identifier, self.company_name, self.kind = identifier, name, kind


def test_the_authentic_sources_show_what_the_register_holds(app):
    registered_company("B123456", name="Guichet SARL", legal_form="SARL")
    registered_company("732829320", name="Fiduciaire de l'Est SAS", country="France")
    with count_queries() as q:
        known, french, unknown = authentic_sources.records(
            [Certified("B123456", "Guichet"), Certified("732829320"), Certified("B999999", "Ailleurs SA")]
        )
    assert q.count == 1
    assert known["name"] == "Guichet SARL" and known["registered"].legal_form == "SARL"
    assert "Luxembourg Business Registers (RCS)" in known["sources"]
    assert "INSEE (répertoire SIRENE)" in french["sources"]
    assert unknown["registered"] is None and unknown["name"] == "Ailleurs SA"
    assert unknown["employees"] == authentic_sources.records([Certified("B999999")])[0]["employees"]
