"""A dossier's data as a person reads it, step by step, every field with its label (the
dossier's page, Vérifier et signer, the receipt, the back-office), and the files it names. The
values are shown as `procedure_values.display` writes them; what is hashed and signed is
`procedures.canonical`."""

from typing import NamedTuple

from flask_babel import gettext as _

from models import DossierFile
from services import dossier_files, procedure_values, procedures


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
    if not value and field.type != "checkbox":
        return _("Non renseigné")
    shown = procedure_values.display(field, value)
    return str(shown)  # an option's label is in the language of the typed view


def _file_of(value, dossier_files):
    return dossier_files.get(int(value)) if str(value or "").isdigit() else None


def _row(group, row):
    return tuple(_shown(sub, str(row.get(sub.name) or "")) for sub in group.fields)


def _entry(field, value, dossier_files):
    label = field.label
    if field.type == "group":
        rows = [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []
        return Entry(
            label,
            columns=tuple(sub.label for sub in field.fields),
            rows=tuple(_row(field, row) for row in rows),
        )
    if field.type == "file":
        attached = _file_of(value, dossier_files)
        return Entry(label, attached.name if attached else _("Non renseigné"), attached)
    return Entry(label, _shown(field, str(value or "")))


def sections(dossier, dossier_files):
    """The dossier's data step by step (`dossier_files`: {id: DossierFile} of its file fields)."""
    data, steps = dossier.data, procedures.definition(dossier.procedure).steps
    return [
        Section(step.title, tuple(_entry(f, data.get(f.name), dossier_files) for f in step.fields))
        for step in steps
    ]


def field_files(dossier):
    """{id: DossierFile} of the dossier's files but its messages' attachments, without their
    content."""
    return {
        file.id: file
        for file in DossierFile.select(*dossier_files.columns())
        .where(DossierFile.dossier == dossier.id, DossierFile.message.is_null())
        .order_by(DossierFile.id)
    }


def attachments(dossier, dossier_files):
    """The files the dossier's data names, in the order of its fields."""
    named = (
        _file_of(dossier.data.get(field.name), dossier_files)
        for field in procedures.definition(dossier.procedure).fields()
        if field.type == "file"
    )
    return [attached for attached in named if attached is not None]
