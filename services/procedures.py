"""Online procedures as data: the definition files (data/procedures/*.json), checked against
data/procedure.schema.json and against the catalogue and the vault's keys at start-up, loaded
into the Procedure table by `seed-demo`; their typed view (Definition, Step, Field); the
procedures a space is offered; the prefill of a dossier; the canonical form of submitted
data. The values of a step, read and validated by type, are `procedure_values`.
"""

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

from flask_babel import gettext as _, lazy_gettext as _l
from jsonschema import Draft202012Validator
from peewee import JOIN

import clock
from models import Administration, Certification, Procedure, Service, db
from services import catalogue, languages, vault

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
    "year": 10,  # room for "2 026" (kept as 2026) or "2026.0" (refused as not a year)
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
        super().__init__(_("Définitions de démarches invalides :") + "\n" + "\n".join(problems))


def _shown(path):
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def problem_path(parts):
    """Where a problem is in a definition, as listed: steps/0/fields/2/name."""
    return "/".join(str(part) for part in parts) or _("(racine)")


def _catalogue():
    """{administration code: {its service slugs}} of data/catalogue.json."""
    data = json.loads(catalogue.CATALOGUE_FILE.read_text(encoding="utf-8"))
    return {adm["code"]: {svc["slug"] for svc in adm.get("services", [])} for adm in data["administrations"]}


def _semantic_problems(data, administrations):
    """What the schema cannot say: the catalogue knows the administration and its service,
    the vault knows the prefill keys, names are unique, limits are in order."""
    problems = []
    if data["administration"] not in administrations:
        problems.append(
            (["administration"], _("administration %(code)r inconnue", code=data["administration"]))
        )
    elif data["service"] and data["service"] not in administrations[data["administration"]]:
        problems.append(
            (
                ["service"],
                _(
                    "service %(slug)r inconnu de l'administration %(code)s",
                    slug=data["service"],
                    code=data["administration"],
                ),
            )
        )
    step_keys, names = set(), set()
    for s, step in enumerate(data["steps"]):
        if step["key"] in step_keys:
            problems.append((["steps", s, "key"], _("étape %(key)r en double", key=step["key"])))
        step_keys.add(step["key"])
        for f, field in enumerate(step["fields"]):
            where = ["steps", s, "fields", f]
            if field["name"] in names:
                problems.append(([*where, "name"], _("champ %(name)r en double", name=field["name"])))
            names.add(field["name"])
            problems += _field_problems(field, where, top=True)
            sub_names = set()
            for g, sub in enumerate(field.get("fields", [])):
                if sub["name"] in sub_names:
                    problems.append(
                        ([*where, "fields", g, "name"], _("champ %(name)r en double", name=sub["name"]))
                    )
                sub_names.add(sub["name"])
                problems += _field_problems(sub, [*where, "fields", g], top=False)
    return problems + _translation_problems(data)


def shown_texts(data):
    """Every text of a definition that people read (in the assistant, the dossier, the
    receipt), in order, each once: the French that its `translations` translate."""
    texts = [data["title"], data.get("description")]

    def field_texts(field):
        texts.extend([field["label"], field.get("hint")])
        texts.extend(option["label"] for option in field.get("options", ()))
        for sub in field.get("fields", ()):
            field_texts(sub)

    for step in data["steps"]:
        texts.extend([step["title"], step.get("description")])
        for field in step["fields"]:
            field_texts(field)
    return list(dict.fromkeys(text for text in texts if text))


def _translation_problems(data):
    """Every shown text has its German and its English: a page never falls back to French."""
    translations = data.get("translations", {})
    return [
        (["translations", language], _l("texte sans traduction : « %(text)s »", text=text))
        for language in languages.OTHER_LANGUAGES
        for text in shown_texts(data)
        if not translations.get(language, {}).get(text, "").strip()
    ]


def _field_problems(field, where, top):
    problems = []
    if field.get("prefill") and field["prefill"] not in vault.KEYS:
        problems.append(
            ([*where, "prefill"], _("clé %(key)r inconnue de data/vault_keys.json", key=field["prefill"]))
        )
    if top and "unique" in field:
        problems.append(([*where, "unique"], _("« unique » ne vaut que pour les champs d'un groupe")))
    for low, high in (("min", "max"), ("min_rows", "max_rows")):
        if field.get(low) is not None and field.get(high) is not None and field[low] > field[high]:
            problems.append(([*where, low], _("%(low)s est plus grand que %(high)s", low=low, high=high)))
    values = [option["value"] for option in field.get("options", [])]
    if len(values) != len(set(values)):
        problems.append(([*where, "options"], _("valeur d'option en double")))
    return problems


def _validator():
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _schema_problems(data, validator):
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [(list(error.absolute_path), error.message) for error in errors]


def definition_problems(data, administrations):
    """[(json path parts, what)] of one definition: the schema first, then, when it holds,
    what the catalogue (`administrations`: {code: {its service slugs}}) and the vault say.
    The start-up's checks, for one definition the helpdesk uploads."""
    return _schema_problems(data, _validator()) or _semantic_problems(data, administrations)


def read_definitions(directory):
    """[(path, definition)] of every file of `directory`, in name order, each checked against
    the schema then against the catalogue and the vault's keys; DefinitionError lists every
    problem of every file (a file that is not JSON included)."""
    validator = _validator()
    administrations = _catalogue()
    problems, definitions, slugs = [], [], {}
    for path in sorted(Path(directory).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{_shown(path)}: " + _("JSON illisible : %(error)s", error=error))
            continue
        found = _schema_problems(data, validator)
        if not found:
            found = _semantic_problems(data, administrations)
            if data["slug"] in slugs:
                found.append(
                    (
                        ["slug"],
                        _(
                            "slug %(slug)r déjà pris par %(file)s",
                            slug=data["slug"],
                            file=_shown(slugs[data["slug"]]),
                        ),
                    )
                )
            slugs[data["slug"]] = path
        problems += [f"{_shown(path)}: {problem_path(parts)}: {message}" for parts, message in found]
        definitions.append((path, data))
    if problems:
        raise DefinitionError(problems)
    return definitions


def check_definitions(directory):
    """The start-up check (create_app): a broken file stops the app with what is wrong."""
    read_definitions(directory)


def load(directory):
    """seed-demo: create each procedure of the files by slug, update one whose file changed
    (title, administration, service, definition), unless the helpdesk uploaded its
    definition since; never its `active` flag, which is the helpdesk's. Needs the catalogue
    loaded first. Returns (procedures in the files, added, updated)."""
    definitions = read_definitions(directory)
    added = updated = 0
    # The slugs whose definition the helpdesk uploaded: their file no longer rules them.
    uploaded = {p.slug for p in Procedure.select(Procedure.slug).where(Procedure.uploaded_at.is_null(False))}
    with db.atomic():
        for _path, data in definitions:
            if data["slug"] in uploaded:
                continue
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
    label: str  # in the language shown, like every text of the typed view
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
    def of(cls, data, text=str):
        """`text` turns a French text of the definition into the language shown."""
        return cls(
            name=data["name"],
            type=data["type"],
            label=text(data["label"]),
            hint=text(data.get("hint", "")),
            required=data.get("required", False),
            max_length=data.get("max_length", MAX_LENGTH.get(data["type"], 0)),
            min=data.get("min"),
            max=data.get("max"),
            prefill=data.get("prefill"),
            options=tuple(Option(o["value"], text(o["label"])) for o in data.get("options", ())),
            fields=tuple(cls.of(sub, text) for sub in data.get("fields", ())),
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
    def of(cls, data, language=None):
        """The texts in `language` (`languages.procedure_text`: the current one by default)."""

        def text(french):
            return languages.procedure_text(data, french, language)

        return cls(
            slug=data["slug"],
            administration=data.get("administration", ""),
            service=data.get("service"),
            title=text(data["title"]),
            description=text(data.get("description", "")),
            steps=tuple(
                Step(
                    n,
                    step["key"],
                    text(step["title"]),
                    text(step.get("description", "")),
                    tuple(Field.of(field, text) for field in step["fields"]),
                )
                for n, step in enumerate(data["steps"], start=1)
            ),
        )

    def fields(self):
        return [field for step in self.steps for field in step.fields]


def definition(procedure, language=None):
    """The typed view of a Procedure row's definition, its texts in `language` (the current
    one by default)."""
    return Definition.of(procedure.definition, language)


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
    mandated: bool = False  # it holds mandates for the service: Commencer asks for which company


def offers(member, service_id=None):
    """Every procedure a professional space may be offered (active, of an active
    administration; those of one service with `service_id`), and whether it may start it now
    (a holder or a mandate's certification of the service, live); two queries."""
    if member.space.is_private:
        return []
    rows = (
        Procedure.select(
            Procedure.id,
            Procedure.slug,
            Procedure.title,
            Procedure.definition,  # the title's translations
            Procedure.service,
            Administration,
            Service,
        )
        .join(Administration)
        .switch(Procedure)
        .join(Service, JOIN.LEFT_OUTER)
        .where(Procedure.active, Administration.active)
        .order_by(Administration.code, Procedure.title)
    )
    if service_id is not None:
        rows = rows.where(Procedure.service == service_id)
    # Distinct: a fiduciary holds thousands of mandates for a handful of services.
    live = list(
        Certification.select(Certification.service, Certification.kind)
        .where(Certification.space == member.space_id, Certification.live(clock.now()))
        .distinct()
    )
    certified = {certification.service_id for certification in live}
    mandated = {certification.service_id for certification in live if certification.kind == "proxy"}
    return [
        Offer(
            row,
            row.service is None or not row.service.requires_certification or row.service.id in certified,
            row.service is not None and row.service.id in mandated,
        )
        for row in rows
    ]
