"""Access codes in batches from a CSV file: every line checked first with the single code's
checks, then all issued in one transaction or none (also when the database fails half-way),
each with its letter in the administration's queue; the codes kept for one download; the
same on the command line (issue-codes)."""

import csv
import io
from datetime import timedelta

import pytest

import factories
from factories import codes_csv, codes_line
from helpers import at_once
from models import AccessCode, Administration, AuditEntry, CodeBatch, Letter, Service
from services import access_codes, catalogue, code_batches, crypto, csv_files, letters

pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def acd(app, clock):
    catalogue.load()
    return factories.agent("ACD", "agent.acd", name="Anne Agent")


def nothing_issued():
    return (
        AccessCode.select().count(),
        Letter.select().count(),
        CodeBatch.select().count(),
        AuditEntry.select().where(AuditEntry.action.startswith("access_code.")).count(),
    ) == (0, 0, 0, 0)


def refused_lines(agent, data):
    with pytest.raises(code_batches.LinesRefused) as refused:
        code_batches.issue_batch(agent, data)
    assert nothing_issued()
    return dict(refused.value.lines)


def read_csv(text):
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


def test_three_companies_get_a_code_each_and_a_letter_in_the_administrations_queue(acd, clock):
    data = codes_csv(
        [codes_line(1), codes_line(2, kind="mandataire", activation="10", valid="90"), codes_line(3)]
    )
    batch, issued = code_batches.issue_batch(acd, data)

    assert [(item.line, item.access_code.company_identifier) for item in issued] == [
        (2, "B100001"),
        (3, "B100002"),
        (4, "B100003"),
    ]
    second = AccessCode.get(AccessCode.company_identifier == "B100002")
    assert (second.kind, second.service.slug, second.issued_by_administration.code) == (
        "proxy",
        "fiches-retenue",
        "ACD",
    )
    assert second.activation_deadline == clock.now() + timedelta(days=10)
    assert second.ends_at == clock.now() + timedelta(days=90)
    assert second.code_hash == crypto.keyed_hash("access-code", crypto.normalize_code(issued[1].code))

    queued = list(letters.pending(acd.administration_id))
    assert [(letter.recipient_name, letter.address_lines) for letter in queued] == [
        (f"Société {n}", [f"{n}, rue du Commerce", "L-1000 Luxembourg"]) for n in (1, 2, 3)
    ]
    assert [letters.carried_code(letter) for letter in queued] == [item.code for item in issued]
    assert list(letters.pending(None)) == []  # not in the portal's queue

    entries = AuditEntry.select().where(AuditEntry.action == "access_code.issued").order_by(AuditEntry.id)
    assert [(entry.actor, entry.details["company"], entry.details["kind"]) for entry in entries] == [
        ("Anne Agent (ACD)", "B100001", "holder"),
        ("Anne Agent (ACD)", "B100002", "proxy"),
        ("Anne Agent (ACD)", "B100003", "holder"),
    ]
    every_detail = str([entry.details for entry in AuditEntry.select()])
    assert not any(crypto.normalize_code(item.code)[:8] in every_detail.replace("-", "") for item in issued)

    # The codes wait encrypted for one download; the batch says how many.
    stored = CodeBatch.get()
    assert (stored.id, stored.agent_id, stored.count) == (batch.id, acd.id, 3)
    assert issued[0].code not in stored.csv_encrypted


def test_semicolon_or_comma_with_or_without_bom_and_columns_in_any_order(acd):
    header = ("type", "service", "identifiant", "adresse", "nom", "jours_validite", "jours_activation")
    first = codes_line(1, activation="", valid="")
    second = codes_line(2, adresse="2, rue du Commerce\nBP 12\nL-1000 Luxembourg")  # a multi-line cell
    code_batches.issue_batch(acd, codes_csv([first, second], delimiter=",", bom=False, header=header))
    code_batches.issue_batch(acd, codes_csv([codes_line(3)], delimiter=";", bom=True))
    assert AccessCode.select().count() == 3
    defaults = AccessCode.get(AccessCode.company_identifier == "B100001")
    assert (defaults.ends_at - defaults.activation_deadline).days == 365 - 30
    letter = Letter.get(Letter.recipient_name == "Société 2")
    assert letter.address_lines == ["2, rue du Commerce", "BP 12", "L-1000 Luxembourg"]


def test_one_wrong_line_issues_nothing_and_is_named_by_its_line_number(acd):
    data = codes_csv([codes_line(1), codes_line(2, identifiant="123"), codes_line(3)])
    lines = refused_lines(acd, data)
    assert list(lines) == [3]  # the header is line 1
    assert "RCS" in lines[3][0] and "SIREN" in lines[3][0]


def test_every_wrong_line_is_listed_with_every_reason(acd):
    data = codes_csv(
        [
            codes_line(1, service="elections-sociales"),  # ITM's, not the ACD's
            codes_line(2, adresse=" / ", nom=""),
            codes_line(3, type="admin", jours_activation="0", jours_validite="abc"),
            codes_line(4, jours_activation="60", jours_validite="30"),
            codes_line(5),
            codes_line(6, identifiant="b 100 005", type="holder"),  # line 6 again, written otherwise
            codes_line(7, nom="Société\x00 7"),
        ]
    )
    lines = refused_lines(acd, data)
    assert sorted(lines) == [2, 3, 4, 5, 7, 8]
    assert "Aucun service « elections-sociales » de l'administration ACD" in lines[2][0]
    assert "fiches-retenue" in lines[2][0]  # the services it may name
    assert len(lines[3]) == 2 and "nom enregistré" in lines[3][0] and "adresse" in lines[3][1]
    assert [reason.split(" ")[1] for reason in lines[4]] == ["type", "délai", "durée"]
    assert "ne peut être plus courte que le délai d'activation (60 jours)" in lines[5][0]
    assert lines[7] == ["Même entreprise, même service et même type de code qu'à la ligne 6."]
    assert "caractère de contrôle" in lines[8][0]


def test_the_files_limits_and_format(acd, monkeypatch):
    def refused(data, error):
        with pytest.raises(error) as raised:
            code_batches.issue_batch(acd, data)
        assert nothing_issued() and raised.value.status == 422
        return raised.value.message

    refused("identifiant;nom\r\nB100001;Société 1\r\n".encode(), csv_files.BadHeader)
    refused(codes_line(1)["identifiant"].encode(), csv_files.BadHeader)  # no header at all
    refused(b"", csv_files.BadHeader)
    refused(codes_csv([]) + b";;;;;;\r\n\r\n", csv_files.NoLine)
    refused(
        codes_csv([codes_line(1, nom="Société Générale à Liège")]).decode().encode("latin-1"),
        csv_files.NotUtf8,
    )
    refused(b"x" * (code_batches.MAX_FILE_SIZE + 1), csv_files.FileTooLarge)
    monkeypatch.setattr(code_batches, "MAX_LINES", 3)
    too_many = refused(codes_csv([codes_line(n) for n in range(4)]), csv_files.TooManyLines)
    assert too_many.startswith("Le fichier contient plus de 3 lignes")
    too_wide = (
        codes_csv([codes_line(1)]) + b"B100002;Soc;1, rue / L-1;fiches-retenue;titulaire;30;365;extra\r\n"
    )
    assert refused_lines(acd, too_wide) == {
        3: ["Cette ligne a plus de cellules que l'en-tête n'a de colonnes."]
    }


def test_line_numbers_count_blank_lines_and_multi_line_cells(acd):
    data = codes_csv([codes_line(1, adresse="1, rue\nL-1000 Luxembourg"), codes_line(2, identifiant="x")])
    data = data.replace(b"\r\nx;", b"\r\n\r\nx;")  # a blank line before the second company
    assert list(refused_lines(acd, data)) == [5]  # header 1, the first company 2-3, blank 4


def test_a_database_failure_half_way_keeps_nothing(acd, monkeypatch):
    """The second code collides with the first (the unique index on its hash): the database
    refuses the second insert, and the first code, its letter and its audit entry go too."""
    monkeypatch.setattr(crypto, "random_code", lambda length: "A" * length)
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        code_batches.issue_batch(acd, codes_csv([codes_line(1), codes_line(2), codes_line(3)]))
    assert nothing_issued()


def test_inactive_services_and_administrations_issue_no_codes(acd):
    Service.update(active=False).where(Service.slug == "fiches-retenue").execute()
    assert "fiches-retenue" in refused_lines(acd, codes_csv([codes_line(1)]))[2][0]
    Service.update(active=True).execute()
    Administration.update(active=False).where(Administration.code == "ACD").execute()
    acd = type(acd).get_by_id(acd.id)
    assert "n'émet de codes" in refused_lines(acd, codes_csv([codes_line(1)]))[2][0]
    with pytest.raises(access_codes.CodeRequestRefused):
        factories.access_code()


def test_the_codes_download_once_and_only_by_their_agent(acd, app):
    batch, issued = code_batches.issue_batch(acd, codes_csv([codes_line(1), codes_line(2)]))
    other = factories.agent("ACD", "agent.acd2")
    with pytest.raises(code_batches.BatchNotFound):
        code_batches.download(other, batch.id)

    text = code_batches.download(acd, batch.id)
    assert text.startswith("\ufeff")  # for spreadsheets
    assert read_csv(text) == [
        ["identifiant", "nom", "service", "type", "code"],
        ["B100001", "Société 1", "fiches-retenue", "titulaire", issued[0].code],
        ["B100002", "Société 2", "fiches-retenue", "titulaire", issued[1].code],
    ]
    stored = CodeBatch.get_by_id(batch.id)
    assert stored.csv_encrypted is None and stored.downloaded_at is not None
    with pytest.raises(code_batches.BatchDownloaded):
        code_batches.download(acd, batch.id)
    entry = AuditEntry.get(AuditEntry.action == "access_code.batch_downloaded")
    assert entry.details == {"batch_id": batch.id, "count": 2}


def test_two_downloads_at_once_hand_the_codes_over_once(acd, app):
    batch, _issued = code_batches.issue_batch(acd, codes_csv([codes_line(1)]))
    agent_id = acd.id

    def take():
        from models import Agent

        code_batches.download(Agent.get_by_id(agent_id), batch.id)

    outcomes = at_once(app, [take, take, take])
    assert outcomes.count("ok") == 1
    assert all(isinstance(o, code_batches.BatchDownloaded) for o in outcomes if o != "ok")


def test_the_example_file_is_a_valid_batch(acd):
    example = code_batches.example_csv(acd.administration)
    assert example.splitlines()[0].lstrip("\ufeff") == ";".join(code_batches.COLUMNS)
    _batch, issued = code_batches.issue_batch(acd, example.encode())
    assert len(issued) == 3


def test_a_thousand_lines_issue_in_one_go(acd):
    _batch, issued = code_batches.issue_batch(acd, codes_csv([codes_line(n) for n in range(1000)]))
    assert len(issued) == AccessCode.select().count() == Letter.select().count() == 1000
    assert len({item.code for item in issued}) == 1000


# --- The command line --------------------------------------------------------------------


def test_issue_codes_prints_the_codes_as_csv(acd, runner, tmp_path):
    path = tmp_path / "codes.csv"
    path.write_bytes(codes_csv([codes_line(1), codes_line(2)], bom=True))
    result = runner.invoke(args=["issue-codes", "--administration", "ACD", "--csv", str(path)])
    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout)
    assert rows[0] == ["identifiant", "nom", "service", "type", "code"]
    assert [row[0] for row in rows[1:]] == ["B100001", "B100002"]
    for row in rows[1:]:
        access_code = AccessCode.get(AccessCode.company_identifier == row[0])
        assert access_code.code_hash == crypto.keyed_hash("access-code", crypto.normalize_code(row[4]))
    assert "2 codes émis" in result.stderr
    assert [letter.administration_id for letter in Letter.select()] == [acd.administration_id] * 2
    entry = AuditEntry.get(AuditEntry.action == "access_code.issued")
    assert entry.actor_id is None and entry.details["company"] == "B100001"


def test_issue_codes_lists_the_wrong_lines_on_stderr_and_issues_nothing(acd, runner, tmp_path):
    path = tmp_path / "codes.csv"
    path.write_bytes(
        codes_csv([codes_line(1), codes_line(2, adresse=""), codes_line(3, jours_validite="9999")])
    )
    result = runner.invoke(args=["issue-codes", "--administration", "ACD", "--csv", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "Ligne 3 : Le code part par courrier postal : indiquez l'adresse" in result.stderr
    assert "Ligne 4 : La durée de validité est un nombre de jours de 1 à 3650." in result.stderr
    assert "Aucun code n'a été émis" in result.stderr
    assert nothing_issued()

    path.write_bytes(codes_csv([codes_line(1)]))
    unknown = runner.invoke(args=["issue-codes", "--administration", "XYZ", "--csv", str(path)])
    assert unknown.exit_code == 1 and "Aucune administration XYZ." in unknown.stderr
    path.write_bytes(b"\xff\xfe")
    wrong = runner.invoke(args=["issue-codes", "--administration", "ACD", "--csv", str(path)])
    assert wrong.exit_code == 1 and "UTF-8" in wrong.stderr
    assert nothing_issued()


def test_the_longest_cells_fit_and_control_characters_are_refused_per_line(acd):
    """What PostgreSQL enforces (lengths, no NUL byte) is checked on each line first."""
    longest = codes_line(1, nom="É" * 200, adresse=" / ".join(["r" * 200] * 5))
    _batch, [issued] = code_batches.issue_batch(acd, codes_csv([longest]))
    letter = Letter.get()
    assert letter.recipient_name == "É" * 200 and letter.address_lines == ["r" * 200] * 5
    assert issued.access_code.company_name == "É" * 200

    too_long = codes_line(2, nom="É" * 201, adresse=" / ".join(["r" * 201]))
    assert [len(reasons) for reasons in refused_lines_after(acd, [too_long]).values()] == [2]
    for column in factories.CODES_HEADER:
        line = codes_line(3)
        line[column] = line[column][:1] + "\x00" + line[column][1:]
        assert list(refused_lines_after(acd, [line])) == [2], column
    assert AccessCode.select().count() == 1


def refused_lines_after(agent, lines):
    """The wrong lines of a file, with the codes issued before left as they are."""
    before = AccessCode.select().count(), Letter.select().count(), CodeBatch.select().count()
    with pytest.raises(code_batches.LinesRefused) as refused:
        code_batches.issue_batch(agent, codes_csv(lines))
    assert (AccessCode.select().count(), Letter.select().count(), CodeBatch.select().count()) == before
    return dict(refused.value.lines)
