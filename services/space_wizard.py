"""Créer un espace professionnel: the wizard. The spaces' terms first, then the space's name,
the company, and the review that creates the space. Progress is kept in the person's
`SpaceDraft`, so refresh, back and resume work; the draft is consumed by the creation."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import clock
import validators
from database import lock_row
from models import AuthProduct, Space, SpaceDraft, User, clip, db
from services import DomainError, audit
from services.spaces import InvalidInput, check_space_limit, open_professional_space

STEPS = ("terms", "name", "company", "review")

LEGAL_FORMS = [
    ("SA", _l("Société anonyme (SA)")),
    ("SARL", _l("Société à responsabilité limitée (SARL)")),
    ("SARL-S", _l("Société à responsabilité limitée simplifiée (SARL-S)")),
    ("SAS", _l("Société par actions simplifiée (SAS)")),
    ("SASU", _l("Société par actions simplifiée unipersonnelle (SASU)")),
    ("EURL", _l("Entreprise unipersonnelle à responsabilité limitée (EURL)")),
    ("SCS", _l("Société en commandite simple (SCS)")),
    ("SCA", _l("Société en commandite par actions (SCA)")),
    ("SNC", _l("Société en nom collectif (SNC)")),
    ("SC", _l("Société civile (SC)")),
    ("SE", _l("Société européenne (SE)")),
    ("ASBL", _l("Association sans but lucratif (ASBL)")),
    ("EI", _l("Entreprise individuelle (EI)")),
]

COMPANY_FIELDS = (
    "company_name",
    "legal_form",
    "identifier",
    "vat_number",
    "street",
    "postcode",
    "city",
    "country",
    "company_email",
    "phone",
)


class InvalidCompany(InvalidInput):
    """Step 2 refused; `errors` has the message of each wrong field."""

    message = _l("Certaines informations de l'entreprise ne sont pas valides.")

    def __init__(self, errors):
        super().__init__()
        self.errors = errors


class TermsNotAccepted(DomainError):
    status = 409
    message = _l("Il faut accepter les conditions générales d'utilisation.")


class WizardGone(DomainError):
    status = 409
    message = _l("Cette création d'espace est déjà terminée ou a été abandonnée.")


# --- The spaces' terms -----------------------------------------------------------------------


def space_terms_needed(user):
    """The current terms come before any step: accepted once, asked again when they change
    (`TERMS_VERSION`), even in the middle of the wizard."""
    return user.space_terms_version != current_app.config["TERMS_VERSION"]


def accept_space_terms(user):
    version = current_app.config["TERMS_VERSION"]
    User.update(space_terms_version=version).where(User.id == user.id).execute()
    user.space_terms_version = version
    audit.record("space.terms_accepted", actor=user, version=version)


# --- Where the person is -----------------------------------------------------------------------


def draft_for(user):
    """The person's wizard in progress, or None: reading never starts one (a GET changes
    nothing), `start_draft` does on the first step posted."""
    return SpaceDraft.get_or_none(SpaceDraft.user == user.id)


def next_step(draft):
    """The first step still to do: "name", "company", then "review" (None: not started)."""
    done = set(draft.data.get("done", [])) if draft else set()
    for step in ("name", "company"):
        if step not in done:
            return step
    return "review"


def open_step(user, step=None):
    """(the step to show, the draft) when the person opens wizard `step`: the step itself
    when it may be opened now, else the step the person is at (the terms, when the current
    ones are not accepted; else the first step not done). `None` asks where the person is."""
    if step == "terms":
        return "terms", None
    if space_terms_needed(user):
        return "terms", None
    draft = draft_for(user)
    at = next_step(draft)
    if step is not None and STEPS.index(step) <= STEPS.index(at):
        return step, draft
    return at, draft


# --- The steps -------------------------------------------------------------------------------


def start_draft(user):
    """The person's wizard in progress, started if there is none."""
    draft = draft_for(user)
    if draft is None:
        try:
            with db.atomic():
                draft = SpaceDraft.create(user=user, data={"name": default_space_name(user)})
        except IntegrityError:  # a second tab started it at the same moment
            draft = SpaceDraft.get(SpaceDraft.user == user.id)
    return draft


def default_space_name(user):
    return clip(Space.name, str(_l("Espace pro de %(name)s", name=user.first_name or user.userid)))


def save_step(draft, values, done=None, undone=None):
    """Keep what a step entered, valid or not yet (going back keeps entries); `done` marks
    a validated step, `undone` one whose values were changed without being validated."""
    data = {**draft.data, **values}
    steps = set(data.get("done", []))
    steps.update([done] if done else [])
    steps.difference_update([undone] if undone else [])
    data["done"] = sorted(steps)
    SpaceDraft.update(data=data, updated_at=clock.now()).where(SpaceDraft.id == draft.id).execute()
    draft.data = data
    return draft


def discard_draft(user):
    SpaceDraft.delete().where(SpaceDraft.user == user.id).execute()


def clean_company(values):
    """Validate step 2 on the server; returns the normalised values or raises InvalidCompany
    with the message of each wrong field in `errors`."""
    errors = {}
    cleaned = {key: (values.get(key) or "").strip() for key in COMPANY_FIELDS}
    for key in (
        "company_name",
        "legal_form",
        "identifier",
        "street",
        "postcode",
        "city",
        "country",
        "company_email",
    ):
        if not cleaned[key]:
            errors[key] = str(_l("Ce champ est obligatoire."))
    if cleaned["legal_form"] and cleaned["legal_form"] not in dict(LEGAL_FORMS):
        errors["legal_form"] = str(_l("Choisissez une forme juridique dans la liste."))
    if cleaned["identifier"]:
        try:
            cleaned["identifier_kind"], cleaned["identifier"] = validators.company_identifier(
                cleaned["identifier"]
            )
        except validators.InvalidIdentifier as error:
            errors["identifier"] = str(error)
    if cleaned["company_email"]:
        try:
            cleaned["company_email"] = validators.email_address(cleaned["company_email"])
        except validators.InvalidIdentifier as error:
            errors["company_email"] = str(error)
    if cleaned["vat_number"]:
        try:
            cleaned["vat_number"] = validators.vat_number(cleaned["vat_number"])
        except validators.InvalidIdentifier as error:
            errors["vat_number"] = str(error)
    if errors:
        raise InvalidCompany(errors)
    return cleaned


def create_professional_space(user, product, draft_id):
    """Create the space from the finished wizard: the draft is consumed by a conditional
    DELETE (a double submit finds nothing), the creator becomes admin, and the product's
    limit is checked under its row lock (concurrent creations count one after the other)."""
    with db.atomic():
        lock_row(AuthProduct, product.id)
        draft = SpaceDraft.get_or_none(SpaceDraft.id == draft_id, SpaceDraft.user == user.id)
        if draft is None or next_step(draft) != "review":
            raise WizardGone()
        if space_terms_needed(user):  # the terms changed since the wizard began
            raise TermsNotAccepted()
        check_space_limit(AuthProduct.get_by_id(product.id))  # the limit as it is now, under the lock
        data = draft.data
        space = open_professional_space(
            user,
            product,
            name=data["name"],
            **{key: data.get(key, "") for key in COMPANY_FIELDS + ("identifier_kind",)},
        )
        if SpaceDraft.delete().where(SpaceDraft.id == draft.id).execute() != 1:
            raise WizardGone()
    return space
