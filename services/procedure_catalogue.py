"""The helpdesk's procedures: a definition file uploaded to add a procedure or to replace
one's definition, checked as the start-up checks the files of data/procedures/ (the schema,
then the catalogue and the vault's keys; the catalogue here is the database's, which holds
what the helpdesk created), and deactivation, which stops new dossiers only.

Once the helpdesk uploaded a procedure's definition, `seed-demo` leaves it as it is
(services/procedures.py `load`)."""

import json

from flask_babel import gettext as _, lazy_gettext as _l

import clock
from models import Administration, Procedure, Service, db
from services import DomainError, audit, catalogue, procedures

MAX_DEFINITION_SIZE = 512 * 1024  # the largest shipped definition is a few kilobytes


class DefinitionRefused(DomainError):
    """The file is not a valid definition: `problems`, one line each, "path : what"."""

    status = 422
    message = _l("Le fichier de définition n'est pas valide : rien n'a été enregistré.")

    def __init__(self, problems):
        super().__init__()
        self.problems = problems


def _problem(parts, what):
    return f"{procedures.problem_path(parts)} : {what}"


def _database_catalogue():
    """{administration code: {its service slugs}} as the database has them (one query)."""
    known = {code: set() for (code,) in Administration.select(Administration.code).tuples()}
    for code, slug in Service.select(Administration.code, Service.slug).join(Administration).tuples():
        known[code].add(slug)
    return known


def read_definition(content):
    """The definition an uploaded file holds, or DefinitionRefused listing every problem."""
    if not content:
        raise DefinitionRefused([_l("Le fichier est vide.")])
    if len(content) > MAX_DEFINITION_SIZE:
        raise DefinitionRefused([_l("Le fichier dépasse 512 Ko.")])
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DefinitionRefused([_problem([], f"JSON illisible : {error}")]) from None
    problems = procedures.definition_problems(data, _database_catalogue())
    if problems:
        raise DefinitionRefused([_problem(parts, what) for parts, what in problems])
    return data


def _columns(data):
    service = Service.get(Service.slug == data["service"]) if data["service"] else None
    return {
        "administration": Administration.get(Administration.code == data["administration"]),
        "service": service,
        "title": data["title"],
        "definition": data,
        "updated_at": clock.now(),
        "uploaded_at": clock.now(),  # the helpdesk's from now on: seed-demo leaves it alone
    }


def definition_file(procedure):
    """A procedure's definition as a file to edit and upload again (UTF-8 JSON)."""
    return (json.dumps(procedure.definition, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def add_procedure(actor, content):
    """A new procedure from its definition file; its slug must be free."""
    data = read_definition(content)
    with db.atomic():
        if Procedure.select().where(Procedure.slug == data["slug"]).exists():
            raise DefinitionRefused(
                [_problem(["slug"], _("une démarche porte déjà le slug %(slug)r", slug=data["slug"]))]
            )
        created = Procedure.create(slug=data["slug"], **_columns(data))
        audit.record(
            "catalogue.procedure_added", actor=actor, slug=created.slug, administration=data["administration"]
        )
    return created


def replace_procedure(actor, procedure_id, content):
    """A procedure's new definition (same slug). Dossiers already started keep going; their
    next steps follow the new definition, as after a changed file and `seed-demo`."""
    procedure = catalogue.procedure_of(procedure_id)
    data = read_definition(content)
    if data["slug"] != procedure.slug:
        raise DefinitionRefused(
            [
                _problem(
                    ["slug"],
                    _(
                        "le fichier décrit %(slug)r, pas la démarche %(procedure)r",
                        slug=data["slug"],
                        procedure=procedure.slug,
                    ),
                )
            ]
        )
    with db.atomic():
        Procedure.update(**_columns(data)).where(Procedure.id == procedure.id).execute()
        audit.record(
            "catalogue.procedure_replaced",
            actor=actor,
            slug=procedure.slug,
            administration=data["administration"],
        )
    return catalogue.procedure_of(procedure_id)
