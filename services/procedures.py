"""Online procedures as data: the definition files (data/procedures/*.json), checked against
data/procedure.schema.json and against the catalogue and the vault's keys at start-up, loaded
into the Procedure table by `seed-demo`; their typed view (Definition, Step, Field); the
values of a step read from a form and validated by type; the prefill of a dossier; the
canonical form of submitted data.

`Dossier.data` holds {field name: string} (a checkbox "1" or "", a file field the id of its
DossierFile) and {group name: [{sub-field name: string}, ...]}. In a form, a group's cell is
named `<group>-<row>-<sub-field>`; errors are keyed the same way (a group's own error, too
few or too many rows, by the group's name).
"""

import datetime
import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from jsonschema import Draft202012Validator
from peewee import JOIN

import clock
import validators
from models import Administration, Certification, Procedure, Service, db
from services import catalogue, vault

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "data" / "procedure.schema.json"

# A field's length limit when its definition gives none.
MAX_LENGTH = {
    "text": 200,
    "textarea": 4000,
    "email": 320,
    "phone": 40,
    "date": 10,
    "number": 20,
    "amount": 20,
    "select": 60,
    "checkbox": 1,
    "iban": 42,
    "matricule": 20,
    "identifier": 20,
    "file": 20,
}


FILE_TYPES = ("pdf", "png", "jpeg")

# --- Definition files ---------------------------------------------------------------------


class DefinitionError(Exception):
    """A definition file is broken: one line per problem, `file: json/path: what`."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("Définitions de démarches invalides :\n" + "\n".join(problems))


def _shown(path):
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _where(parts):
    return "/".join(str(part) for part in parts) or "(racine)"


def _catalogue():
    """{administration code: {its service slugs}} of data/catalogue.json."""
    data = json.loads(catalogue.CATALOGUE_FILE.read_text(encoding="utf-8"))
    return {adm["code"]: {svc["slug"] for svc in adm.get("services", [])} for adm in data["administrations"]}


def _semantic_problems(data, administrations):
    """What the schema cannot say: the catalogue knows the administration and its service,
    the vault knows the prefill keys, names are unique, limits are in order."""
    problems = []
    if data["administration"] not in administrations:
        problems.append((["administration"], f"administration {data['administration']!r} inconnue"))
    elif data["service"] and data["service"] not in administrations[data["administration"]]:
        problems.append(
            (["service"], f"service {data['service']!r} inconnu de l'administration {data['administration']}")
        )
    step_keys, names = set(), set()
    for s, step in enumerate(data["steps"]):
        if step["key"] in step_keys:
            problems.append((["steps", s, "key"], f"étape {step['key']!r} en double"))
        step_keys.add(step["key"])
        for f, field in enumerate(step["fields"]):
            where = ["steps", s, "fields", f]
            if field["name"] in names:
                problems.append(([*where, "name"], f"champ {field['name']!r} en double"))
            names.add(field["name"])
            problems += _field_problems(field, where, top=True)
            sub_names = set()
            for g, sub in enumerate(field.get("fields", [])):
                if sub["name"] in sub_names:
                    problems.append(([*where, "fields", g, "name"], f"champ {sub['name']!r} en double"))
                sub_names.add(sub["name"])
                problems += _field_problems(sub, [*where, "fields", g], top=False)
    return problems


def _field_problems(field, where, top):
    problems = []
    if field.get("prefill") and field["prefill"] not in vault.KEYS:
        problems.append(([*where, "prefill"], f"clé {field['prefill']!r} inconnue de data/vault_keys.json"))
    if top and "unique" in field:
        problems.append(([*where, "unique"], "« unique » ne vaut que pour les champs d'un groupe"))
    for low, high in (("min", "max"), ("min_rows", "max_rows")):
        if field.get(low) is not None and field.get(high) is not None and field[low] > field[high]:
            problems.append(([*where, low], f"{low} est plus grand que {high}"))
    values = [option["value"] for option in field.get("options", [])]
    if len(values) != len(set(values)):
        problems.append(([*where, "options"], "valeur d'option en double"))
    return problems


def read_definitions(directory):
    """[(path, definition)] of every file of `directory`, in name order, each checked against
    the schema then against the catalogue and the vault's keys; DefinitionError lists every
    problem of every file (a file that is not JSON included)."""
    validator = Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    administrations = _catalogue()
    problems, definitions, slugs = [], [], {}
    for path in sorted(Path(directory).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{_shown(path)}: JSON illisible : {error}")
            continue
        errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
        found = [(list(error.absolute_path), error.message) for error in errors]
        if not found:
            found = _semantic_problems(data, administrations)
            if data["slug"] in slugs:
                found.append((["slug"], f"slug {data['slug']!r} déjà pris par {_shown(slugs[data['slug']])}"))
            slugs[data["slug"]] = path
        problems += [f"{_shown(path)}: {_where(parts)}: {message}" for parts, message in found]
        definitions.append((path, data))
    if problems:
        raise DefinitionError(problems)
    return definitions


def check_definitions(directory):
    """The start-up check (create_app): a broken file stops the app with what is wrong."""
    read_definitions(directory)


def load(directory):
    """seed-demo: create each procedure of the files by slug, update one whose file changed
    (title, administration, service, definition). Needs the catalogue loaded first. Returns
    (procedures in the files, added, updated)."""
    definitions = read_definitions(directory)
    added = updated = 0
    with db.atomic():
        for _path, data in definitions:
            service = Service.get(Service.slug == data["service"]) if data["service"] else None
            fields = {
                "administration": Administration.get(Administration.code == data["administration"]).id,
                "service": service and service.id,
                "title": data["title"],
                "definition": data,
            }
            existing = Procedure.get_or_none(Procedure.slug == data["slug"])
            if existing is None:
                Procedure.create(slug=data["slug"], updated_at=clock.now(), **fields)
                added += 1
            elif fields != {
                "administration": existing.administration_id,
                "service": existing.service_id,
                "title": existing.title,
                "definition": existing.definition,
            }:
                Procedure.update(updated_at=clock.now(), **fields).where(
                    Procedure.id == existing.id
                ).execute()
                updated += 1
    return len(definitions), added, updated


# --- The typed view -----------------------------------------------------------------------


class Option(NamedTuple):
    value: str
    label: str


class Field(NamedTuple):
    name: str
    type: str
    label: str  # a French msgid, like every text of a definition
    hint: str = ""
    required: bool = False
    max_length: int = 200
    min: float | None = None
    max: float | None = None
    prefill: str | None = None  # a key of data/vault_keys.json
    options: tuple = ()
    fields: tuple = ()  # a group's fields
    min_rows: int = 0
    max_rows: int = 0
    unique: bool = False
    accept: tuple = FILE_TYPES  # a file field's types

    @classmethod
    def of(cls, data):
        return cls(
            name=data["name"],
            type=data["type"],
            label=data["label"],
            hint=data.get("hint", ""),
            required=data.get("required", False),
            max_length=data.get("max_length", MAX_LENGTH.get(data["type"], 0)),
            min=data.get("min"),
            max=data.get("max"),
            prefill=data.get("prefill"),
            options=tuple(Option(o["value"], o["label"]) for o in data.get("options", ())),
            fields=tuple(cls.of(sub) for sub in data.get("fields", ())),
            min_rows=data.get("min_rows", 0),
            max_rows=data.get("max_rows", 0),
            unique=data.get("unique", False),
            accept=tuple(data.get("accept", FILE_TYPES)),
        )

    def blank_row(self):
        return {sub.name: "" for sub in self.fields}


class Step(NamedTuple):
    number: int  # 1, 2...: the assistant's URL
    key: str
    title: str
    description: str
    fields: tuple

    @property
    def has_files(self):
        return any(field.type == "file" for field in self.fields)


class Definition(NamedTuple):
    slug: str
    administration: str
    service: str | None
    title: str
    description: str
    steps: tuple

    @classmethod
    def of(cls, data):
        return cls(
            slug=data["slug"],
            administration=data.get("administration", ""),
            service=data.get("service"),
            title=data["title"],
            description=data.get("description", ""),
            steps=tuple(
                Step(
                    n,
                    step["key"],
                    step["title"],
                    step.get("description", ""),
                    tuple(map(Field.of, step["fields"])),
                )
                for n, step in enumerate(data["steps"], start=1)
            ),
        )

    def fields(self):
        return [field for step in self.steps for field in step.fields]


def definition(procedure):
    """The typed view of a Procedure row's definition."""
    return Definition.of(procedure.definition)


# --- Values -------------------------------------------------------------------------------


class InvalidValue(ValueError):
    """A value refused, with the message shown beside its field."""


MESSAGES = {
    "required": _l("Ce champ est obligatoire."),
    "checkbox": _l("Cochez cette case pour continuer."),
    "too_long": _l("%(max)d caractères au plus."),
    "date": _l("Saisissez une date valide (AAAA-MM-JJ)."),
    "number": _l("Saisissez un nombre entier."),
    "amount": _l("Saisissez un montant, par exemple 1234,50 (deux décimales au plus)."),
    "min": _l("La valeur doit être au moins %(min)s."),
    "max": _l("La valeur doit être au plus %(max)s."),
    "select": _l("Choisissez une valeur dans la liste."),
    "min_rows": _l("Ajoutez au moins %(min)d ligne(s)."),
    "max_rows": _l("%(max)d lignes au plus."),
    "duplicate": _l("Cette valeur figure déjà à la ligne %(row)d."),
}

NUMBER = re.compile(r"[+-]?[0-9]{1,15}")
AMOUNT = re.compile(r"[+-]?[0-9]{1,13}(\.[0-9]{1,2})?")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _message(name, **values):
    return str(MESSAGES[name]) % values if values else str(MESSAGES[name])


def _bounded(field, number):
    if field.min is not None and number < Decimal(str(field.min)):
        raise InvalidValue(_message("min", min=_plain(field.min)))
    if field.max is not None and number > Decimal(str(field.max)):
        raise InvalidValue(_message("max", max=_plain(field.max)))


def _plain(number):
    return str(int(number)) if float(number).is_integer() else str(number)


def _date(field, value):
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidValue(_message("date")) from None


def _number(field, value):
    compact = re.sub(r"\s", "", value)
    if not NUMBER.fullmatch(compact):
        raise InvalidValue(_message("number"))
    number = int(compact)
    _bounded(field, Decimal(number))
    return str(number)


def _amount(field, value):
    compact = re.sub(r"[\s\u00a0\u202f']", "", value).replace(",", ".")
    if not AMOUNT.fullmatch(compact):
        raise InvalidValue(_message("amount"))
    try:
        amount = Decimal(compact).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InvalidValue(_message("amount")) from None
    _bounded(field, amount)
    return f"{amount:.2f}"


def _select(field, value):
    if value not in {option.value for option in field.options}:
        raise InvalidValue(_message("select"))
    return value


def _identifier(field, value):
    return validators.company_identifier(value)[1]


CLEAN = {
    "text": lambda field, value: " ".join(value.split()),
    "textarea": lambda field, value: value,
    "email": lambda field, value: validators.email_address(value),
    "phone": lambda field, value: validators.phone_number(value),
    "date": _date,
    "number": _number,
    "amount": _amount,
    "select": _select,
    "checkbox": lambda field, value: "1",
    "iban": lambda field, value: validators.iban(value),
    "matricule": lambda field, value: validators.matricule(value),
    "identifier": _identifier,
    "file": lambda field, value: value,
}


def clean(field, value):
    """`value` of `field` normalised (an IBAN compact, an amount with two decimals, a date
    ISO), "" when empty and optional; InvalidValue with the message otherwise."""
    value = (value or "").replace("\r\n", "\n").strip()
    if len(value) > field.max_length:
        raise InvalidValue(_message("too_long", max=field.max_length))
    if not value:
        if field.required:
            raise InvalidValue(_message("checkbox" if field.type == "checkbox" else "required"))
        return ""
    try:
        return CLEAN[field.type](field, value)
    except validators.InvalidIdentifier as error:
        raise InvalidValue(str(error)) from None


def cell(group, row, sub):
    """The form name (and error key) of a group's cell."""
    return f"{group}-{row}-{sub}"


def read_step(step, form, current):
    """What a step's form posted ({name: value}, a group's rows as lists) from `form` (a
    mapping of the posted fields); file fields keep their `current` value (an upload is the
    assistant's)."""
    entered = {}
    for field in step.fields:
        if field.type == "group":
            prefix = re.compile(rf"{re.escape(field.name)}-([0-9]{{1,4}})-")
            rows = sorted({int(match.group(1)) for name in form.keys() if (match := prefix.match(name))})
            entered[field.name] = [
                {sub.name: _posted(form, sub, cell(field.name, row, sub.name)) for sub in field.fields}
                for row in rows
            ]
        elif field.type == "file":
            entered[field.name] = str(current.get(field.name, ""))
        else:
            entered[field.name] = _posted(form, field, field.name)
    return entered


def _posted(form, field, name):
    value = form.get(name) or ""
    return "1" if field.type == "checkbox" and value else value


def stored(step, data):
    """A step's values as the dossier holds them, in the shape `read_step` gives."""
    return {
        field.name: [dict(row) for row in data.get(field.name) or []]
        if field.type == "group"
        else str(data.get(field.name, ""))
        for field in step.fields
    }


def validate(step, entered, strict=True):
    """(values to store, errors by form name) of a step. `strict` (Suivant, the signature)
    checks everything and keeps normalised values, rows left blank dropped; otherwise (a
    draft, Précédent, a row added or removed) values are kept as typed and only the limits
    that bound what is stored are checked (lengths, rows)."""
    values, errors = {}, {}
    for field in step.fields:
        if field.type == "group":
            values[field.name] = _validate_rows(field, entered.get(field.name) or [], strict, errors)
            continue
        value = entered.get(field.name, "")
        values[field.name] = _checked(field, value, field.name, strict, errors)
    return values, errors


def _checked(field, value, name, strict, errors):
    try:
        if strict:
            return clean(field, value)
        if len(value) > field.max_length:
            raise InvalidValue(_message("too_long", max=field.max_length))
        return value
    except InvalidValue as error:
        errors[name] = str(error)
        return value


def _validate_rows(field, rows, strict, errors):
    if strict:
        rows = [row for row in rows if any((row.get(sub.name) or "").strip() for sub in field.fields)]
    if len(rows) > field.max_rows:
        errors[field.name] = _message("max_rows", max=field.max_rows)
    elif strict and len(rows) < max(field.min_rows, 1 if field.required else 0):
        errors[field.name] = _message("min_rows", min=max(field.min_rows, 1))
    kept, seen = [], {}
    for index, row in enumerate(rows):
        values = {}
        for sub in field.fields:
            name = cell(field.name, index, sub.name)
            values[sub.name] = _checked(sub, row.get(sub.name) or "", name, strict, errors)
            if strict and sub.unique and values[sub.name] and name not in errors:
                first = seen.setdefault((sub.name, values[sub.name]), index)
                if first != index:
                    errors[name] = _message("duplicate", row=first + 1)
        kept.append(values)
    return kept


def check_data(definition_, data, file_ids=()):
    """{step number: errors} of every step of a dossier's data (what the signature checks
    first); a file field must name one of the dossier's `file_ids`. Empty: all is valid."""
    found = {}
    for step in definition_.steps:
        _values, errors = validate(step, stored(step, data))
        for field in step.fields:
            if field.type == "file" and data.get(field.name) and str(data[field.name]) not in file_ids:
                errors[field.name] = _message("required")
        if errors:
            found[step.number] = errors
    return found


def display(field, value):
    """A stored value as a person reads it (a select's label is a msgid: translate it)."""
    if field.type == "select":
        return next((option.label for option in field.options if option.value == value), value)
    if field.type == "checkbox":
        return _l("Oui") if value else _l("Non")
    if field.type == "iban" and value:
        try:
            return validators.format_iban(value)
        except validators.InvalidIdentifier:
            return value
    return value


# --- Prefill ------------------------------------------------------------------------------


def prefill(definition_, space, with_vault=True):
    """{field name: value} of the fields with a prefill key that the company of `space` has a
    value for: Mes données professionnelles first, then the company record; the record alone
    without `with_vault`. A group's fields are never prefilled."""
    if space is None:
        return {}
    known = vault.values(space, with_saved=with_vault)
    return {
        field.name: known[field.prefill].value
        for field in definition_.fields()
        if field.prefill and field.prefill in known
    }


# --- Canonical data -----------------------------------------------------------------------


def canonical(data):
    """The submitted data as hashed and signed: JSON, keys sorted, no whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def data_sha256(data):
    return hashlib.sha256(canonical(data)).hexdigest()


# --- Commencer une démarche ---------------------------------------------------------------


class Offer(NamedTuple):
    procedure: Procedure  # with its administration and service
    certified: bool  # the space may start it: no certification needed, or it holds one


def offers(member):
    """Every procedure a professional space may be offered, and whether it may start it
    now (a holder or a mandate's certification of the service, live); two queries."""
    if member.space.is_private:
        return []
    rows = (
        Procedure.select(
            Procedure.id, Procedure.slug, Procedure.title, Procedure.service, Administration, Service
        )
        .join(Administration)
        .switch(Procedure)
        .join(Service, JOIN.LEFT_OUTER)
        .order_by(Administration.code, Procedure.title)
    )
    certified = {
        certification.service_id
        for certification in Certification.select(Certification.service).where(
            Certification.space == member.space_id, Certification.live(clock.now())
        )
    }
    return [
        Offer(
            row, row.service is None or not row.service.requires_certification or row.service.id in certified
        )
        for row in rows
    ]
