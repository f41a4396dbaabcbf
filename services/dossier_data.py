"""A dossier's submitted data: its canonical form (what is hashed and signed) and the data as a
person reads it, step by step, every field with its label (the dossier's page, Vérifier et
signer, the receipt, the back-office)."""

import hashlib
import json
from typing import NamedTuple

from flask_babel import gettext as _

import validators
from models import DossierFile


def canonical(data):
    """The submitted data as hashed and signed: JSON, keys sorted, no whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def data_sha256(data):
    return hashlib.sha256(canonical(data)).hexdigest()


class Entry(NamedTuple):
    """A field as shown: its label and value, translated; a file field's DossierFile; a
    group's column labels and rows of values."""

    label: str
    value: str = ""
    file: object = None
    columns: tuple = ()
    rows: tuple = ()

    @property
    def is_group(self):
        return bool(self.columns)


class Section(NamedTuple):
    title: str
    entries: tuple

    def parts(self):
        """The entries in order: consecutive plain fields together (a list), each group alone."""
        parts = []
        for entry in self.entries:
            if entry.is_group:
                parts.append(entry)
            elif parts and isinstance(parts[-1], list):
                parts[-1].append(entry)
            else:
                parts.append([entry])
        return parts


def _shown(field, value):
    if field["type"] == "checkbox":
        return _("Oui") if value else _("Non")
    if not value:
        return _("Non renseigné")
    if field["type"] == "select":
        label = next((o["label"] for o in field.get("options", []) if o["value"] == value), None)
        return _(label) if label else value
    if field["type"] == "iban":
        try:
            return validators.format_iban(value)
        except validators.InvalidIdentifier:
            return value
    return value


def _file_of(value, dossier_files):
    return dossier_files.get(int(value)) if str(value).isdigit() else None


def sections(definition, data, dossier_files):
    """The dossier's data step by step, each field with its label (`definition`: the
    procedure's, `dossier_files`: {id: DossierFile} of its file fields)."""
    found = []
    for step in definition.get("steps", []):
        entries = []
        for field in step.get("fields", []):
            value = data.get(field["name"])
            if field["type"] == "group":
                subs = field.get("fields", [])
                entries.append(
                    Entry(
                        _(field["label"]),
                        columns=tuple(_(sub["label"]) for sub in subs),
                        rows=tuple(
                            tuple(_shown(sub, str(row.get(sub["name"], "") or "")) for sub in subs)
                            for row in (value if isinstance(value, list) else [])
                            if isinstance(row, dict)
                        ),
                    )
                )
            elif field["type"] == "file":
                attached = _file_of(value or "", dossier_files)
                entries.append(
                    Entry(_(field["label"]), attached.name if attached else _("Non renseigné"), attached)
                )
            else:
                entries.append(Entry(_(field["label"]), _shown(field, str(value or ""))))
        found.append(Section(_(step.get("title", "")), tuple(entries)))
    return found


def field_files(dossier):
    """{id: DossierFile} of the files the dossier's data names (its file fields), without their
    content."""
    columns = [f for f in DossierFile._meta.sorted_fields if f.name != "content"]
    return {
        file.id: file
        for file in DossierFile.select(*columns)
        .where(DossierFile.dossier == dossier.id, DossierFile.message.is_null())
        .order_by(DossierFile.id)
    }


def attachments(definition, data, dossier_files):
    """The files the data names, in the order of the fields."""
    named = []
    for step in definition.get("steps", []):
        for field in step.get("fields", []):
            if field["type"] == "file":
                attached = _file_of(data.get(field["name"]) or "", dossier_files)
                if attached is not None:
                    named.append(attached)
    return named
