"""The catalogue of administrations and services, loaded from data/catalogue.json, and what
deactivation means for it: an inactive administration or service is offered for no code,
request or new certification (`offered`); what it already gave goes on."""

import json
import re
from pathlib import Path

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from database import PAGE_SIZE
from models import Administration, NewsItem, Procedure, Service, db
from services import DomainError, InvalidInput, audit, languages

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "data" / "catalogue.json"


class ServiceClosed(DomainError):
    status = 409
    message = _l(
        "Ce service n'est plus proposé par son administration : il ne donne plus de nouvelle "
        "certification. Les certifications en cours restent valables."
    )


def offered():
    """The condition of a service (joined with its administration) that is offered: both
    active."""
    return Service.active & Administration.active


def is_offered(service):
    """The same for a Service row loaded with its administration."""
    return service.active and service.administration.active


def search_services(query="", limit=50, without_certification=False):
    """Services with their administration in one query, filtered by name or administration;
    `without_certification` keeps those open to any space (a private space cannot be certified)."""
    services = Service.select(Service, Administration).join(Administration)
    if without_certification:
        services = services.where(Service.requires_certification == False)  # noqa: E712
    if query:
        like = f"%{query}%"
        services = services.where(
            Service.name.ilike(like) | Administration.name.ilike(like) | Administration.code.ilike(like)
        )
    return list(services.order_by(Administration.code, Service.name).limit(limit))


def latest_news(limit=5):
    return list(NewsItem.select().order_by(NewsItem.published_on.desc()).limit(limit))


def load(path=CATALOGUE_FILE):
    """Add the administrations, services and news of the file that the database lacks
    (keyed on code, slug and title) and leave those it has as they are, edits included:
    running it again, or on every start, changes nothing. Their German and English texts
    (`translations`) are completed the same way: a text the row lacks is taken from the
    file, one it has stays. Returns the numbers of administrations and services, and how
    many rows it added."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    added = 0
    with db.atomic():
        for adm in data["administrations"]:
            administration, created = _get_or_create(
                Administration,
                adm,
                code=adm["code"],
                defaults={"name": adm["name"], "certification_text": adm.get("certification_text", "")},
            )
            added += created
            for svc in adm.get("services", []):
                _service, created = _get_or_create(
                    Service,
                    svc,
                    slug=svc["slug"],
                    defaults={
                        "administration": administration,
                        "name": svc["name"],
                        "description": svc.get("description", ""),
                        "requires_certification": svc.get("requires_certification", False),
                        "accepts_code": "code" in svc.get("methods", []),
                        "accepts_request": "request" in svc.get("methods", []),
                        "requires_company_email": svc.get("requires_company_email", False),
                        "requires_bank_account": svc.get("requires_bank_account", False),
                    },
                )
                added += created
        for item in data.get("news", []):
            item = {"title": item} if isinstance(item, str) else item
            added += _get_or_create(NewsItem, item, title=item["title"])[1]
    return Administration.select().count(), Service.select().count(), added


def _get_or_create(model, entry, defaults=None, **key):
    """The row of `key`, created from `defaults` and the entry's translations when missing;
    an existing row gets the translations it lacks."""
    given = entry.get("translations", {})
    row, created = model.get_or_create(**key, defaults={**(defaults or {}), "translations": given})
    if not created:
        completed = completed_translations(row.translations, given)
        if completed != row.translations:
            model.update(translations=completed).where(model.id == row.id).execute()
            row.translations = completed
    return row, created


def completed_translations(translations, given):
    """`translations` ({language: {field: text}}) with the texts of `given` it lacks."""
    completed = {language: dict(texts) for language, texts in (translations or {}).items()}
    for language, texts in given.items():
        for field, text in texts.items():
            if not completed.setdefault(language, {}).get(field):
                completed[language][field] = text
    return completed


# --- The helpdesk's catalogue: administrations and services ------------------------------------

# As data/procedure.schema.json writes them, so that a procedure can name what is created here.
CODE = re.compile(r"[A-Z][A-Z0-9]{1,15}")
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
METHODS = ("code", "request")
# What the helpdesk deactivates (never deletes: history keeps it), and the audit's name for it.
TOGGLED = {
    "administration": (Administration, "code"),
    "service": (Service, "slug"),
    "procedure": (Procedure, "slug"),
}


class CatalogueInput(InvalidInput):
    """What the helpdesk typed for the catalogue is refused."""


class BadCode(CatalogueInput):
    field = "code"
    message = _l(
        "Le code d'une administration compte de 2 à 16 lettres majuscules ou chiffres et commence "
        "par une lettre (ACD, CCSS…)."
    )


class CodeTaken(CatalogueInput):
    field = "code"
    message = _l("Une administration porte déjà ce code.")


class BadSlug(CatalogueInput):
    field = "slug"
    message = _l(
        "L'identifiant d'un service s'écrit en lettres minuscules sans accents, chiffres et tirets "
        "(fiches-retenue), 64 caractères au plus."
    )


class SlugTaken(CatalogueInput):
    field = "slug"
    message = _l("Un service porte déjà cet identifiant.")


class NameMissing(CatalogueInput):
    field = "name"
    message = _l("Saisissez le nom.")


class NoMethod(CatalogueInput):
    field = "methods"
    message = _l(
        "Un service qui exige une certification doit pouvoir l'accorder : cochez le code d'accès, "
        "la demande en ligne ou les deux."
    )


class TranslationMissing(CatalogueInput):
    """A German or English text is missing where the French is given: a page in that
    language would show the French. `field` is the form's: name_de, description_en..."""

    message = _l("Saisissez la traduction : une page dans cette langue ne montre jamais le texte français.")

    def __init__(self, field):
        super().__init__()
        self.field = field


class BadLetterLanguage(CatalogueInput):
    field = "letter_language"
    message = _l("Choisissez le français, l'allemand ou l'anglais.")


class NotInCatalogue(DomainError):
    status = 404
    message = _l("Cet élément du catalogue n'existe pas.")


def _name(name):
    name = (name or "").strip()
    if not name:
        raise NameMissing()
    return name


def _translations(given, **french):
    """The German and English texts (`given`: {language: {field: text}}) of the `french`
    texts ({field: French text}), trimmed: each is required when its French is given."""
    translations = {}
    for language in languages.OTHER_LANGUAGES:
        texts = (given or {}).get(language) or {}
        translations[language] = {}
        for field, text in french.items():
            translated = (texts.get(field) or "").strip()
            if text and not translated:
                raise TranslationMissing(f"{field}_{language}")
            translations[language][field] = translated
    return translations


def _letter_language(language):
    if language not in languages.LANGUAGES:
        raise BadLetterLanguage()
    return language


def _methods(requires_certification, methods):
    methods = set(methods or ()) & set(METHODS)
    if requires_certification and not methods:
        raise NoMethod()
    return {"accepts_code": "code" in methods, "accepts_request": "request" in methods}


def catalogue_page(page, per_page=PAGE_SIZE):
    """A page of administrations (by code), each with its services and its procedures
    (`service_list`, `procedure_list`), inactive ones included: four queries."""
    select = Administration.select().order_by(Administration.code)
    rows = list(select.paginate(max(page, 1), per_page))
    ids = [row.id for row in rows]
    services, procedures = {}, {}
    for service in Service.select().where(Service.administration.in_(ids)).order_by(Service.name):
        services.setdefault(service.administration_id, []).append(service)
    for procedure in (
        Procedure.select(
            Procedure.id,
            Procedure.slug,
            Procedure.title,
            Procedure.definition,  # the title's translations
            Procedure.active,
            Procedure.administration,
        )
        .where(Procedure.administration.in_(ids))
        .order_by(Procedure.title)
    ):
        procedures.setdefault(procedure.administration_id, []).append(procedure)
    for row in rows:
        row.service_list = services.get(row.id, [])
        row.procedure_list = procedures.get(row.id, [])
    return rows, select.count()


def administration_of(administration_id):
    found = Administration.get_or_none(Administration.id == administration_id)
    if found is None:
        raise NotInCatalogue()
    return found


def service_of(service_id):
    found = (
        Service.select(Service, Administration).join(Administration).where(Service.id == service_id).first()
    )
    if found is None:
        raise NotInCatalogue()
    return found


def procedure_of(procedure_id):
    found = Procedure.get_or_none(Procedure.id == procedure_id)
    if found is None:
        raise NotInCatalogue()
    return found


def create_administration(actor, code, name, certification_text="", translations=None, letter_language="fr"):
    """`translations`: {"de": {"name": ..., "certification_text": ...}, "en": {...}}, each
    text required when its French is given; `letter_language`: that of its letters to
    companies."""
    code = (code or "").strip().upper()
    if not CODE.fullmatch(code):
        raise BadCode()
    fields = _administration_fields(name, certification_text, translations, letter_language)
    try:
        with db.atomic():
            created = Administration.create(code=code, **fields)
            audit.record(
                "catalogue.administration_created", actor=actor, administration=code, name=fields["name"]
            )
    except IntegrityError:
        raise CodeTaken() from None
    return created


def _administration_fields(name, certification_text, translations, letter_language):
    name, certification_text = _name(name), (certification_text or "").strip()
    return {
        "name": name,
        "certification_text": certification_text,
        "translations": _translations(translations, name=name, certification_text=certification_text),
        "letter_language": _letter_language(letter_language),
    }


def edit_administration(
    actor, administration_id, name, certification_text="", translations=None, letter_language="fr"
):
    """Its names, the text of its Gestion page and the language of its letters; its code is
    what procedures name: it stays."""
    administration = administration_of(administration_id)
    fields = _administration_fields(name, certification_text, translations, letter_language)
    with db.atomic():
        Administration.update(**fields).where(Administration.id == administration.id).execute()
        audit.record(
            "catalogue.administration_edited",
            actor=actor,
            administration=administration.code,
            name=fields["name"],
            letter_language=fields["letter_language"],
        )
    return administration_of(administration_id)


def _service_fields(name, description, translations, requires_certification, methods):
    name, description = _name(name), (description or "").strip()
    return {
        "name": name,
        "description": description,
        "translations": _translations(translations, name=name, description=description),
        "requires_certification": bool(requires_certification),
        **_methods(requires_certification, methods),
    }


def create_service(
    actor, administration_id, slug, name, description, requires_certification, methods, translations=None
):
    """`translations`: {"de": {"name": ..., "description": ...}, "en": {...}}, each text
    required when its French is given."""
    administration = administration_of(administration_id)
    slug = (slug or "").strip()
    if not SLUG.fullmatch(slug) or len(slug) > Service.slug.max_length:
        raise BadSlug()
    fields = _service_fields(name, description, translations, requires_certification, methods)
    try:
        with db.atomic():
            created = Service.create(administration=administration, slug=slug, **fields)
            audit.record(
                "catalogue.service_created", actor=actor, administration=administration.code, service=slug
            )
    except IntegrityError:
        raise SlugTaken() from None
    return created


def edit_service(actor, service_id, name, description, requires_certification, methods, translations=None):
    """Its names, descriptions, whether it requires a certification and how one is given; its
    slug is what procedures name: it stays."""
    service = service_of(service_id)
    fields = _service_fields(name, description, translations, requires_certification, methods)
    with db.atomic():
        Service.update(**fields).where(Service.id == service.id).execute()
        audit.record(
            "catalogue.service_edited",
            actor=actor,
            administration=service.administration.code,
            service=service.slug,
            **{key: value for key, value in fields.items() if key != "translations"},
        )
    return service_of(service_id)


def set_active(actor, kind, row_id, active):
    """Deactivate (or reactivate) an administration, a service or a procedure (`kind`): one
    conditional UPDATE; returns the row and whether it changed (False: it already was). An
    inactive administration or service gives no new certification (`offered`), an inactive
    procedure (or one of an inactive administration) starts no new dossier
    (services/dossiers.py); what they gave goes on."""
    model, key = TOGGLED[kind]
    row = model.get_or_none(model.id == row_id)
    if row is None:
        raise NotInCatalogue()
    with db.atomic():
        changed = model.update(active=active).where(model.id == row.id, model.active != active).execute()
        if changed:
            action = f"catalogue.{kind}_{'reactivated' if active else 'deactivated'}"
            audit.record(action, actor=actor, **{kind: getattr(row, key)})
    row.active = active
    return row, bool(changed)
