"""The online assistant: a dossier filled in one step at a time, the draft in the database
(back, refresh and resume keep everything). Each post names the dossier's `version` it was
made from: a stale tab is refused and changes nothing (one conditional UPDATE whose row
count is checked). Suivant checks the step and keeps normalised values; Précédent,
Enregistrer le brouillon and a group's Ajouter une ligne / Supprimer keep what was typed and
check only the limits. Files are kept with the draft at their step. At the last step the
person may save the keyed values back into Mes données professionnelles.
"""

from typing import NamedTuple

from flask_babel import lazy_gettext as _l

import clock
from models import Dossier, DossierFile, db
from services import DomainError, dossier_files, dossiers, procedure_values, procedures, spaces, vault

# Refusals that leave the dossier readable: the step is shown without its form's buttons.
READ_ONLY = (spaces.NotAllowed, dossiers.NotEditable, dossiers.FiledByMandatary, dossiers.MandateEnded)
ACTIONS = ("next", "back", "draft", "add", "remove")


class StepInvalid(spaces.InvalidInput):
    """The step refused: `errors` by form name, `values` to show again."""

    message = _l("Certaines informations ne sont pas valides : corrigez-les pour continuer.")

    def __init__(self, errors, values):
        super().__init__()
        self.errors = errors
        self.values = values


class StaleVersion(DomainError):
    status = 409
    message = _l(
        "Ce dossier a été modifié entre-temps, dans un autre onglet ou par une autre personne : "
        "ce que vous venez d'envoyer n'a pas été enregistré. L'étape est affichée à jour."
    )


class StepNotReached(DomainError):
    """A step after the first one not yet completed: the view goes to `number`."""

    status = 409

    def __init__(self, number):
        super().__init__()
        self.number = number


class Page(NamedTuple):
    """What a step shows."""

    dossier: Dossier
    definition: procedures.Definition
    step: procedures.Step
    values: dict  # by field name; a group's rows padded to its minimum
    errors: dict  # by form name
    prefilled: frozenset  # the names of the fields showing their prefill value
    files: dict  # file field name -> its DossierFile (without content)
    refusal: str | None  # why the dossier cannot be edited here, or None
    offer_vault: bool  # the last step's Enregistrer ces informations dans Mes données professionnelles

    @property
    def last(self):
        return self.step.number == len(self.definition.steps)


class Saved(NamedTuple):
    dossier: Dossier
    action: str
    go_to: int | None  # the step to show next; None: the signature
    saved_to_vault: int
    focus: str | None = None  # the form name to focus when the step is shown again


# --- Reading ------------------------------------------------------------------------------


def furthest(definition_, dossier):
    """The step a resumed dossier opens at: the first not yet completed (the last when all are)."""
    return min(dossier.step + 1, len(definition_.steps))


def _step(definition_, dossier, number):
    if not 1 <= number <= furthest(definition_, dossier):
        raise StepNotReached(furthest(definition_, dossier))
    return definition_.steps[number - 1]


def open_dossier(member, dossier_id):
    """(dossier, its definition, why it cannot be edited or None): readers and the
    mandant's holder space read a dossier they cannot change."""
    try:
        dossier, refusal = dossiers.dossier_for(member, dossier_id, "edit"), None
    except READ_ONLY as refused:
        dossier, refusal = dossiers.dossier_for(member, dossier_id), refused.message
    return dossier, procedures.definition(dossier.procedure), refusal


def open_step(member, dossier_id, number, values=None, errors=None):
    """The step `number` of the dossier as stored (a field never saved shows its prefill), or
    with the `values` and `errors` of a refused post."""
    dossier, definition_, refusal = open_dossier(member, dossier_id)
    step = _step(definition_, dossier, number)
    prefill = procedures.prefill(
        definition_, dossiers.company_record(dossier), with_vault=dossier.mandate_id is None
    )
    if values is None:
        values = procedure_values.stored(step, dossier.data)
        for field in step.fields:
            if field.name not in dossier.data and field.name in prefill:
                values[field.name] = prefill[field.name]
    values = {**values}
    for field in step.fields:
        if field.type == "group":
            rows = values[field.name]
            values[field.name] = rows + [field.blank_row() for _ in range(field.min_rows - len(rows))]
    file_ids = [int(values[f.name]) for f in step.fields if f.type == "file" and values[f.name].isdigit()]
    files = {
        f.field: f
        for f in DossierFile.select(*dossier_files.columns()).where(
            DossierFile.dossier == dossier.id, DossierFile.id.in_(file_ids or [0])
        )
    }
    return Page(
        dossier,
        definition_,
        step,
        values,
        errors or {},
        frozenset(name for name, value in prefill.items() if values.get(name) == value and value),
        files,
        refusal,
        _offers_vault(member, dossier, definition_) and step.number == len(definition_.steps),
    )


def _offers_vault(member, dossier, definition_):
    """Only the space's own company's values go into its vault, and only for those who
    edit it."""
    return (
        dossier.mandate_id is None
        and spaces.can(member, "edit_vault")
        and any(field.prefill for field in definition_.fields())
    )


# --- Writing ------------------------------------------------------------------------------


def parse_action(text):
    """(action, group, row) of the button pressed: next, back, draft, add:<group>,
    remove:<group>:<row>; anything else saves the draft."""
    kind, _sep, rest = (text or "").partition(":")
    group, _sep, row = rest.partition(":")
    if kind not in ACTIONS:
        return "draft", "", None
    return kind, group, int(row) if row.isdigit() else None


def _rows_changed(step, entered, kind, group, row):
    """The rows after Ajouter une ligne or Supprimer, and the cell to put the focus in (the
    added row's first, or the first of the row that took the removed one's place)."""
    field = next((f for f in step.fields if f.type == "group" and f.name == group), None)
    if field is None:
        return entered, None
    rows = list(entered[group])
    if kind == "add" and len(rows) < field.max_rows:
        rows.append(field.blank_row())
        row = len(rows) - 1
    elif kind == "remove" and row is not None and row < len(rows):
        del rows[row]
        row = min(row, max(len(rows), field.min_rows, 1) - 1)
    else:
        return entered, None
    return {**entered, group: rows}, procedure_values.cell(group, row, field.fields[0].name)


def _uploads(step, uploads, errors):
    """{field name: (file name, content, type)} of the step's files posted, each checked;
    a refused one's message goes to `errors`."""
    checked = {}
    for field in step.fields:
        name, content = uploads.get(field.name) or ("", b"")
        if field.type != "file" or not (name or content):
            continue
        try:
            checked[field.name] = (name, content, dossier_files.checked_type(content, field.accept))
        except dossier_files.FileRefused as refused:
            errors[field.name] = str(refused)
    return checked


def _claim(dossier, version):
    """Take the dossier for this change if it is still at `version` and editable (the
    row stays locked until the transaction ends); refuse otherwise."""
    claimed = (
        Dossier.update(version=Dossier.version + 1, updated_at=clock.now(), purge_warned_at=None)
        .where(Dossier.id == dossier.id, Dossier.version == version, Dossier.status.in_(dossiers.EDITABLE))
        .execute()
    )
    if not claimed:
        status = Dossier.select(Dossier.status).where(Dossier.id == dossier.id).scalar()
        raise dossiers.NotEditable() if status not in dossiers.EDITABLE else StaleVersion()
    dossier.version = version + 1


def save_step(member, actor, dossier_id, number, version, form, uploads, action, to_vault=False):
    """One post of a step's form: `form` the posted fields, `uploads` {field name: (file
    name, content)}, `action` the button pressed, `to_vault` the last step's box ticked."""
    dossier = dossiers.dossier_for(member, dossier_id, "edit")
    if version != dossier.version:
        raise StaleVersion()
    definition_ = procedures.definition(dossier.procedure)
    step = _step(definition_, dossier, number)
    kind, group, row = parse_action(action)
    entered, focus = procedure_values.read_step(step, form, dossier.data), None
    if kind in ("add", "remove"):
        entered, focus = _rows_changed(step, entered, kind, group, row)
    refused = {}
    uploaded = _uploads(step, uploads, refused)
    # A file posted now stands for the field's value while the step is checked.
    values, errors = procedure_values.validate(
        step, {**entered, **dict.fromkeys(uploaded, "0")}, kind == "next"
    )
    values.update({name: entered[name] for name in uploaded})
    errors.update(refused)
    if errors:
        raise StepInvalid(errors, values)
    data = {**dossier.data, **values}
    with db.atomic():
        _claim(dossier, version)
        for name, (file_name, content, content_type) in uploaded.items():
            data[name] = _store_file(dossier, name, file_name, content, content_type, values)
        reached = max(dossier.step, number) if kind == "next" else dossier.step
        Dossier.update(data=data, step=reached).where(Dossier.id == dossier.id).execute()
        dossier.data, dossier.step = data, reached
        saved = 0
        if kind == "next" and to_vault and number == len(definition_.steps):
            saved = _save_to_vault(member, actor, dossier, definition_)
    go_to = {"next": number + 1, "back": max(number - 1, 1)}.get(kind, number)
    return Saved(dossier, kind, go_to if go_to <= len(definition_.steps) else None, saved, focus)


def _store_file(dossier, field_name, file_name, content, content_type, values):
    """The upload kept for the field (the draft's previous one deleted: a dossier sent back
    for a complement keeps its files, which a receipt may cover); its id as the value."""
    previous = str(dossier.data.get(field_name) or "")
    replacing = [int(previous)] if previous.isdigit() and dossier.status == "draft" else []
    try:
        stored = dossier_files.store(
            dossier.id, file_name, content, content_type, field=field_name, replacing=replacing
        )
    except dossier_files.FileRefused as refused:
        raise StepInvalid({field_name: str(refused)}, values) from None
    if replacing:
        DossierFile.delete().where(
            DossierFile.id.in_(replacing), DossierFile.dossier == dossier.id, DossierFile.message.is_null()
        ).execute()
    return str(stored.id)


def _save_to_vault(member, actor, dossier, definition_):
    """Enregistrer ces informations dans Mes données professionnelles: each keyed value that
    is valid for its key and differs from the space's; returns how many were saved."""
    if not _offers_vault(member, dossier, definition_):
        return 0
    known = vault.values(member.space)
    saved = 0
    for field in definition_.fields():
        key = vault.KEYS.get(field.prefill or "")
        if key is None or not dossier.data.get(field.name):
            continue
        try:
            value = vault.clean(key, dossier.data[field.name])
        except spaces.InvalidInput:
            continue  # only what fits the key's type
        if key.key in known and known[key.key].value == value:
            continue
        (vault.modify if key.key in known else vault.add)(member, actor, key.key, value)
        known[key.key] = vault.Item(key, value, "vault")
        saved += 1
    return saved
