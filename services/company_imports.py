"""The company register's files: the demo register (data/companies.csv, loaded by
seed-demo), and the helpdesk's imports, from the public SIRENE extract of establishments
(INSEE's StockEtablissement / geo-SIRENE layout) or from the portal's simple RCS CSV.

Every line is checked first; if one is wrong nothing is imported and each wrong line is
said ("Ligne 3 : …"). Otherwise one transaction inserts the new companies (in bulk) and
updates the known ones with what the file says (an import is the register's newer truth),
the existing ones looked up by chunks of identifiers, not line by line.

The files are read as services/csv_files.py reads them: UTF-8 with or without BOM, a header
line naming the columns, cells separated by `,` (as INSEE publishes SIRENE) or `;` (the
header line tells which)."""

import csv
import io
from pathlib import Path
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, chunked

import clock
import validators
from models import Company, db
from services import DomainError, audit, companies, csv_files
from validators import CONTROL_CHARACTERS

DEMO_FILE = Path(__file__).resolve().parent.parent / "data" / "companies.csv"
MAX_FILE_SIZE = 5 * 1024 * 1024  # bytes
MAX_LINES = 20_000  # lines under the header
INSERT_CHUNK = 200  # rows per INSERT (SQLite's limit on a statement's parameters)
UPDATE_CHUNK = 100  # rows per bulk UPDATE

# The portal's simple RCS layout (the page describes it and offers an example file).
RCS_COLUMNS = (
    "rcs",
    "denomination",
    "forme_juridique",
    "adresse",
    "code_postal",
    "localite",
    "pays",
    "email",
    "iban",
    "titulaire",
)
# The demo register: the same columns, its identifier an RCS number or a SIREN.
DEMO_COLUMNS = ("identifiant", *RCS_COLUMNS[1:])
# SIRENE's columns read (others are ignored); the name is the first of SIRENE_NAMES given.
SIRENE_REQUIRED = (
    "siren",
    "etablissementSiege",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
)
SIRENE_NAMES = ("denominationUniteLegale", "denominationUsuelleEtablissement", "enseigne1Etablissement")
SIRENE_OPTIONAL = (
    "siret",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "typeVoieEtablissement",
    "categorieJuridiqueUniteLegale",
)
SIRENE_TRUE, SIRENE_FALSE = {"true", "1", "oui", "o", "vrai"}, {"false", "0", "non", "n", "faux", ""}
# INSEE's abbreviations of the street's kind and of the repetition index, as a letter writes them.
STREET_KINDS = {
    "ALL": "ALLEE",
    "AV": "AVENUE",
    "BD": "BOULEVARD",
    "CHE": "CHEMIN",
    "CRS": "COURS",
    "FG": "FAUBOURG",
    "IMP": "IMPASSE",
    "PAS": "PASSAGE",
    "PL": "PLACE",
    "QUA": "QUAI",
    "RTE": "ROUTE",
    "SQ": "SQUARE",
}
REPETITIONS = {"B": "BIS", "T": "TER", "Q": "QUATER", "C": "QUINQUIES"}
# The most common of INSEE's legal categories (categorieJuridiqueUniteLegale); others are
# kept as their code.
LEGAL_CATEGORIES = {
    "1000": "Entrepreneur individuel",
    "5202": "SNC",
    "5306": "SCS",
    "5498": "EURL",
    "5499": "SARL",
    "5599": "SA à conseil d'administration",
    "5699": "SA à directoire",
    "5710": "SAS",
    "5720": "SASU",
    "6540": "SCI",
    "9220": "Association déclarée",
}
# The register's fields each format gives; what a format does not carry (SIRENE knows no
# e-mail or bank account) stays as the register had it.
ADDRESS_FIELDS = ("identifier_kind", "name", "legal_form", "street", "postcode", "city", "country")
FULL_FIELDS = (*ADDRESS_FIELDS, "email", "iban", "account_holder")
FORMATS = {
    "sirene": _l("Extrait SIRENE des établissements (INSEE)"),
    "rcs": _l("Registre de commerce (RCS), format du portail"),
}
SIRENE_BAD_HEADER = _l(
    "La première ligne du fichier doit nommer les colonnes de l'extrait SIRENE ; il y manque : %(columns)s."
)
EXAMPLE_LINES = (
    (
        "B123456",
        "Guichet SARL",
        "SARL",
        "1, rue du Commerce",
        "L-1000",
        "Luxembourg",
        "Luxembourg",
        "guichet@exemple.lu",
        "LU280019400644750000",
        "Guichet SARL",
    ),
    (
        "B654321",
        "Boulangerie du Marché SA",
        "SA",
        "7, place du Marché",
        "L-1111",
        "Luxembourg",
        "Luxembourg",
        "boulangerie-marche@exemple.lu",
        "",
        "",
    ),
)


class UnknownFormat(csv_files.FileRefused):
    message = _l("Choisissez le format du fichier : SIRENE ou RCS.")


class NoHeadOffice(csv_files.FileRefused):
    message = _l(
        "Le fichier ne contient aucun siège (etablissementSiege à true) : seuls les sièges entrent "
        "dans le registre."
    )


class LinesRefused(csv_files.LinesRefused):
    message = _l("Rien n'a été importé : corrigez les lignes signalées et envoyez le fichier à nouveau.")


class ImportCollided(DomainError):
    status = 409
    message = _l(
        "Un autre import a changé le registre au même moment : rien n'a été importé. Envoyez le "
        "fichier à nouveau."
    )


class Imported(NamedTuple):
    """What an import did: companies added, updated, found as the file says (unchanged), and
    lines left out (SIRENE's secondary establishments)."""

    format: str
    added: int
    updated: int
    unchanged: int
    skipped: int


# --- Reading a file ---------------------------------------------------------------------------------


class Line:
    """One line's cells by column, and what is wrong with them."""

    def __init__(self, row):
        self.cells = row.cells
        self.errors = list(row.errors)

    def text(self, column, max_length, required=False):
        """A single-line cell: whitespace runs (line breaks included) made one space."""
        raw = self.cells.get(column) or ""
        if CONTROL_CHARACTERS.search(raw):
            self.errors.append(
                str(_l("La colonne « %(column)s » contient un caractère de contrôle.", column=column))
            )
            return ""
        value = " ".join(raw.split())
        if required and not value:
            self.errors.append(str(_l("La colonne « %(column)s » est vide.", column=column)))
        elif len(value) > max_length:
            self.errors.append(
                str(
                    _l(
                        "La colonne « %(column)s » dépasse %(max)d caractères.",
                        column=column,
                        max=max_length,
                    )
                )
            )
        return value

    def checked(self, validator, value):
        """`value` (when not empty) normalised by `validator`, or its refusal noted."""
        if not value:
            return ""
        try:
            return validator(value)
        except validators.InvalidIdentifier as error:
            self.errors.append(str(error))
            return ""


def _identifier(line, column, fmt):
    value = line.text(column, 20, required=True)
    if not value:
        return None, ""
    if fmt == "rcs":
        return "rcs", line.checked(validators.lu_rcs, value)
    if fmt == "sirene":
        return "siren", line.checked(validators.fr_siren, value)
    try:
        return validators.company_identifier(value)
    except validators.InvalidIdentifier as error:
        line.errors.append(str(error))
        return None, ""


def _simple_entry(line, fmt):
    """A line of the RCS layout (or the demo register's, whose identifier is either kind)."""
    kind, identifier = _identifier(line, "identifiant" if fmt == "demo" else "rcs", fmt)
    entry = {
        "identifier_kind": kind,
        "identifier": identifier,
        "name": line.text("denomination", Company.name.max_length, required=True),
        "legal_form": line.text("forme_juridique", Company.legal_form.max_length),
        "street": line.text("adresse", Company.street.max_length, required=True),
        "postcode": line.text("code_postal", Company.postcode.max_length),
        "city": line.text("localite", Company.city.max_length, required=True),
        "country": line.text("pays", Company.country.max_length)
        or ("France" if kind == "siren" else "Luxembourg"),
        "email": line.checked(validators.email_address, line.text("email", Company.email.max_length)),
        "iban": line.checked(validators.iban, line.text("iban", Company.iban.max_length)),
        "account_holder": line.text("titulaire", Company.account_holder.max_length),
    }
    if line.cells.get("iban", "").strip() and not entry["account_holder"]:
        line.errors.append(str(_l("Un IBAN demande son titulaire (colonne « titulaire »).")))
    elif entry["account_holder"] and not line.cells.get("iban", "").strip():
        line.errors.append(
            str(_l("La colonne « titulaire » est remplie sans IBAN : indiquez l'IBAN ou videz-la."))
        )
    return entry


def _sirene_entry(line):
    """A line of the SIRENE extract: None for an establishment that is not a head office."""
    head = (line.cells.get("etablissementSiege") or "").strip().lower()
    if head in SIRENE_FALSE:
        return None
    if head not in SIRENE_TRUE:
        line.errors.append(str(_l("La colonne « etablissementSiege » vaut true ou false.")))
    kind, identifier = _identifier(line, "siren", "sirene")
    names = [line.text(column, Company.name.max_length) for column in SIRENE_NAMES]
    if not any(names):
        line.errors.append(
            str(_l("Aucune dénomination (colonnes %(columns)s).", columns=", ".join(SIRENE_NAMES)))
        )
    repetition = line.text("indiceRepetitionEtablissement", 10).upper()
    street_kind = line.text("typeVoieEtablissement", 20).upper()
    parts = (
        line.text("numeroVoieEtablissement", 10),
        REPETITIONS.get(repetition, repetition),
        STREET_KINDS.get(street_kind, street_kind),
        line.text("libelleVoieEtablissement", 100),
    )
    street = " ".join(part for part in parts if part)
    complement = line.text("complementAdresseEtablissement", 100)
    street = ", ".join(part for part in (complement, street) if part)
    if not street:
        line.errors.append(str(_l("La colonne « libelleVoieEtablissement » est vide.")))
    elif len(street) > Company.street.max_length:
        line.errors.append(str(_l("L'adresse dépasse %(max)d caractères.", max=Company.street.max_length)))
    category = line.text("categorieJuridiqueUniteLegale", 10)
    return {
        "identifier_kind": kind,
        "identifier": identifier,
        "name": next((name for name in names if name), ""),
        "legal_form": LEGAL_CATEGORIES.get(category, category),
        "street": street,
        "postcode": line.text("codePostalEtablissement", Company.postcode.max_length, required=True),
        "city": line.text("libelleCommuneEtablissement", Company.city.max_length, required=True),
        "country": "France",
    }


def _sirene_header(cells):
    """SIRENE's column names matched whatever their case (others are kept, and ignored), or
    BadHeader saying those missing."""
    known = {name.lower(): name for name in (*SIRENE_REQUIRED, *SIRENE_NAMES, *SIRENE_OPTIONAL)}
    header = [known.get(cell.lower(), cell) for cell in cells]
    missing = [column for column in SIRENE_REQUIRED if column not in header]
    if not any(name in header for name in SIRENE_NAMES):
        missing.append(" | ".join(SIRENE_NAMES))
    if missing:
        raise csv_files.BadHeader(missing, SIRENE_BAD_HEADER)
    return header


HEADERS = {
    "sirene": _sirene_header,
    "rcs": csv_files.any_order(RCS_COLUMNS),
    "demo": csv_files.any_order(DEMO_COLUMNS),
}


def read_file(data, fmt):
    """Every line of a file in the format `fmt` ("sirene", "rcs", or "demo") checked: returns
    ([entry: the register's fields], lines skipped), or raises with every wrong line
    (LinesRefused) or what makes the file unreadable (csv_files.FileRefused)."""
    if fmt not in (*FORMATS, "demo"):
        raise UnknownFormat()
    rows = csv_files.read(data, MAX_FILE_SIZE, MAX_LINES, HEADERS[fmt])
    entries, wrong, seen, skipped = [], [], {}, 0
    for row in rows:
        number = row.number
        if row.cells is None:
            wrong.append((number, row.errors))
            continue
        line = Line(row)
        entry = _sirene_entry(line) if fmt == "sirene" else _simple_entry(line, fmt)
        if entry is None:
            skipped += 1
            continue
        identifier = entry["identifier"]
        if identifier in seen:
            line.errors.append(str(_l("Même identifiant qu'à la ligne %(line)d.", line=seen[identifier])))
        elif identifier:
            seen[identifier] = number
        if line.errors:
            wrong.append((number, line.errors))
        else:
            entries.append(entry)
    if wrong:
        raise LinesRefused(wrong)
    if not entries:  # only establishments that are not head offices
        raise NoHeadOffice()
    return entries, skipped


# --- Writing the register ----------------------------------------------------------------------------


def _write(entries, fields, source, update=True):
    """Insert the companies the register lacks, and (`update`) change the known ones whose
    `fields` differ; call it in a transaction. Returns (added, updated, unchanged)."""
    now = clock.now()
    known = companies.find_many(entry["identifier"] for entry in entries)
    new, changed = [], []
    for entry in entries:
        company = known.get(entry["identifier"])
        if company is None:
            new.append({**entry, "source": source, "updated_at": now})
        elif update and any(getattr(company, field) != entry[field] for field in fields):
            for field in fields:
                setattr(company, field, entry[field])
            company.source, company.updated_at = source, now
            changed.append(company)
    for rows in chunked(new, INSERT_CHUNK):
        Company.insert_many(rows).execute()
    if changed:
        Company.bulk_update(changed, fields=[*fields, "source", "updated_at"], batch_size=UPDATE_CHUNK)
    return len(new), len(changed), len(entries) - len(new) - len(changed)


def import_file(data, fmt, actor=None):
    """The helpdesk's (or import-companies') file in the format `fmt`: every line checked,
    then the register updated in one transaction, audited with the counts. Returns Imported."""
    entries, skipped = read_file(data, fmt)
    fields = ADDRESS_FIELDS if fmt == "sirene" else FULL_FIELDS
    try:
        with db.atomic():
            added, updated, unchanged = _write(entries, fields, fmt)
            audit.record(
                "company.imported",
                actor=actor,
                format=fmt,
                added=added,
                updated=updated,
                unchanged=unchanged,
                skipped=skipped,
            )
    except IntegrityError:  # a company inserted by another import meanwhile
        raise ImportCollided() from None
    return Imported(fmt, added, updated, unchanged, skipped)


def load_demo(path=DEMO_FILE):
    """seed-demo: add the demo companies the register lacks; those it has stay as they are
    (the helpdesk's imports may have changed them). Returns (companies in the register,
    added)."""
    entries, _skipped = read_file(Path(path).read_bytes(), "demo")
    with db.atomic():
        added, _updated, _unchanged = _write(entries, FULL_FIELDS, "demo", update=False)
    return Company.select().count(), added


def example_csv():
    """The example RCS file the page offers: the header, then two companies."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(RCS_COLUMNS)
    writer.writerows(EXAMPLE_LINES)
    return "\ufeff" + out.getvalue()
