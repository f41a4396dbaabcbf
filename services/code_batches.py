"""Access codes in batches: an administration's CSV file, one line per company, checked line
by line as a single code is (access_codes.check_code_request), then issued all in one
transaction or not at all. The codes are shown once and kept, encrypted, for one download
of a CSV (identifier, code…) for the administration's records (CodeBatch); the command
line prints that CSV instead (issue-codes).

The file: UTF-8 with or without BOM, `;` or `,` between cells (the header line tells
which), a header line naming the columns (COLUMNS, in any order), the lines of the address
in one cell, separated by " / " (or by line breaks inside the quoted cell); an empty name
or address is the company register's (looked up for the whole file at once); empty days
take their defaults."""

import csv
import io
import re
from typing import NamedTuple

from flask_babel import lazy_gettext as _l

import clock
import validators
from models import Administration, CodeBatch, db
from services import DomainError, access_codes, audit, companies, crypto, csv_files

MAX_FILE_SIZE = 1024 * 1024  # bytes
MAX_LINES = 1000  # companies in a file
ADDRESS_SEPARATOR = " / "  # or a line break inside the quoted cell
# The header's names, each for an argument of access_codes.check_code_request.
COLUMNS = {
    "identifiant": "company_identifier",
    "nom": "company_name",
    "adresse": "address_lines",
    "service": "service_slug",
    "type": "kind",
    "jours_activation": "activation_days",
    "jours_validite": "valid_days",
}
OUTPUT_COLUMNS = ("identifiant", "nom", "service", "type", "code")
EXAMPLE_LINES = (
    ("B123456", "Guichet SARL", "1, rue du Commerce / L-1000 Luxembourg", "titulaire", "30", "365"),
    ("B654321", "Boulangerie du Marché SA", "7, place du Marché / L-1111 Luxembourg", "titulaire", "", ""),
    (
        "732829320",
        "Fiduciaire de l'Est SAS",
        "12, avenue de la Gare / 57000 Metz / France",
        "mandataire",
        "60",
        "",
    ),
)


class LinesRefused(csv_files.LinesRefused):
    message = _l("Aucun code n'a été émis : corrigez les lignes signalées et envoyez le fichier à nouveau.")


class BatchNotFound(DomainError):
    status = 404
    message = _l("Ce lot de codes n'existe pas.")


class BatchDownloaded(DomainError):
    status = 410
    message = _l(
        "Les codes de ce lot ont déjà été téléchargés : ils ne sont plus conservés. Les courriers "
        "aux entreprises les portent jusqu'à leur envoi."
    )


class Issued(NamedTuple):
    """A code of a batch: what it was issued for, and the code as shown."""

    line: int
    access_code: object
    code: str


def read_lines(data):
    """The file's lines as (line number in the file, {column: cell}). Refuses a file it
    cannot read (csv_files.FileRefused) and says which lines it cannot (LinesRefused)."""
    rows = csv_files.read(data, MAX_FILE_SIZE, MAX_LINES, csv_files.any_order(COLUMNS))
    wrong = [(row.number, row.errors) for row in rows if row.errors]
    if wrong:
        raise LinesRefused(wrong)
    return [(row.number, row.cells) for row in rows]


def _unaddressed(lines):
    """The identifiers of the lines whose name or address is left to the company register."""
    for _number, cells in lines:
        address = re.split(r" / |\r?\n", cells.get("adresse") or "")
        if not (cells.get("nom") or "").strip() or not any(line.strip() for line in address):
            try:
                yield validators.company_identifier(cells.get("identifiant") or "")[1]
            except validators.InvalidIdentifier:
                pass


def check_file(administration, data):
    """Every line of the file checked: returns [(line number, CodeRequest)], or raises with
    every wrong line (LinesRefused) or what makes the file unreadable (csv_files.FileRefused)."""
    services = access_codes.issuable_services(administration)
    lines = read_lines(data)
    register = companies.find_many(_unaddressed(lines))
    checked, wrong, seen = [], [], {}
    for number, cells in lines:
        fields = {argument: cells.get(column, "") for column, argument in COLUMNS.items()}
        fields["address_lines"] = re.split(r" / |\r?\n", fields["address_lines"])
        try:
            request = access_codes.check_code_request(administration, services, register=register, **fields)
        except access_codes.CodeRequestRefused as refused:
            wrong.append((number, list(refused.refusals.values())))
            continue
        key = (request.company_identifier, request.service.slug, request.kind)
        if key in seen:  # twice the same code: a line copied by mistake
            wrong.append(
                (
                    number,
                    [
                        str(
                            _l(
                                "Même entreprise, même service et même type de code qu'à la ligne %(line)d.",
                                line=seen[key],
                            )
                        )
                    ],
                )
            )
            continue
        seen[key] = number
        checked.append((number, request))
    if wrong:
        raise LinesRefused(wrong)
    return checked


def _issue_all(checked, actor):
    """Issue every checked line's code; the caller's transaction makes it all or nothing."""
    return [Issued(number, *access_codes.issue(request, actor)) for number, request in checked]


def issued_csv(issued, bom=False):
    """The codes of a batch as a CSV for the administration's records (`;`, a BOM for
    spreadsheets when it is a download)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(OUTPUT_COLUMNS)
    for item in issued:
        code = item.access_code
        writer.writerow(
            [
                code.company_identifier,
                code.company_name,
                code.service.slug,
                access_codes.KIND_LABELS[code.kind],
                item.code,
            ]
        )
    return ("\ufeff" if bom else "") + out.getvalue()


def issue_batch(agent, data):
    """An agent's CSV file: every line checked, then every code issued, each with its letter
    in the administration's queue, and the CSV of the codes kept encrypted for one download,
    all in one transaction. Returns (CodeBatch, [Issued])."""
    checked = check_file(agent.administration, data)
    with db.atomic():
        issued = _issue_all(checked, agent)
        batch = CodeBatch.create(
            agent=agent.id,
            count=len(issued),
            csv_encrypted=crypto.encrypt("code-batch", issued_csv(issued, bom=True)),
        )
        audit.record("access_code.batch_issued", actor=agent, batch_id=batch.id, count=len(issued))
    return batch, issued


def issue_file(administration_code, data):
    """issue-codes: the same checks and the same single transaction; returns [Issued]."""
    administration = Administration.get_or_none(Administration.code == administration_code)
    if administration is None:
        raise access_codes.UnknownAdministration(administration_code)
    checked = check_file(administration, data)
    with db.atomic():
        return _issue_all(checked, None)


def batch_of(agent, batch_id):
    batch = CodeBatch.get_or_none(CodeBatch.id == batch_id, CodeBatch.agent == agent.id)
    if batch is None:
        raise BatchNotFound()
    return batch


def download(agent, batch_id):
    """The CSV of the agent's batch, once: erased as it is handed over (one conditional
    UPDATE: of two downloads at once, one gets it); then BatchDownloaded."""
    batch = batch_of(agent, batch_id)
    if batch.csv_encrypted is None:
        raise BatchDownloaded()
    with db.atomic():
        taken = (
            CodeBatch.update(csv_encrypted=None, downloaded_at=clock.now())
            .where(CodeBatch.id == batch.id, CodeBatch.csv_encrypted.is_null(False))
            .execute()
        )
        if taken != 1:
            raise BatchDownloaded()
        audit.record("access_code.batch_downloaded", actor=agent, batch_id=batch.id, count=batch.count)
    return crypto.decrypt("code-batch", batch.csv_encrypted)


def example_csv(administration):
    """The example file the page offers: the header, then three companies, for a service of
    the administration."""
    service = next(iter(access_codes.issuable_services(administration)), "service")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for identifier, name, address, kind, activation, valid in EXAMPLE_LINES:
        writer.writerow([identifier, name, address, service, kind, activation, valid])
    return "\ufeff" + out.getvalue()
