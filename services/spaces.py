"""Spaces (seeds 001, 002, 003): private and professional spaces, the creation wizard, the
members and their roles, invitations, merge, delete and restore.

Every space-scoped operation starts from `membership_for(user, space_id)`: a person who is
not a member of a live space gets `SpaceNotFound` (404, the space's existence is not
revealed), and `require(member, action)` refuses what the role does not allow (403).
"""
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, fn

import validators
from models import (
    AuthProduct, Invitation, Membership, Space, SpaceDraft, User, VaultEntry, clip, db,
)
from services import DomainError, audit, auth, clock, crypto, links
from services.mail import queue_mail
from services.urls import external_url

INVITATION_VALIDITY = timedelta(days=7)
DELETED_RETENTION = timedelta(days=30)
PAGE_SIZE = 50

ROLES = {"admin": _l("Administrateur"), "manager": _l("Gestionnaire"), "reader": _l("Consultation")}
RANK = {"reader": 1, "manager": 2, "admin": 3}
# What each action needs, at least. All members read everything (SPEC §3).
PERMISSIONS = {
    "read": "reader",
    "run_procedures": "manager",
    "edit_vault": "manager",
    "manage_members": "admin",
    "manage_certifications": "admin",
    "manage_mandates": "admin",
    "edit_profile": "admin",
    "merge": "admin",
    "delete": "admin",
}

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


# --- Errors ------------------------------------------------------------------------------


class SpaceNotFound(DomainError):
    status = 404

    def __init__(self):
        super().__init__(_l("Cet espace n'existe pas ou vous n'en êtes pas membre."))


class NotAllowed(DomainError):
    status = 403

    def __init__(self, role):
        super().__init__(_l("Votre rôle (%(role)s) ne permet pas cette action dans cet espace. "
                            "Demandez-la à un administrateur de l'espace.", role=ROLES[role]))


class SpaceLimitReached(DomainError):
    status = 409

    def __init__(self, limit):
        super().__init__(_l("Vous avez atteint la limite de %(limit)d espaces professionnels pour votre produit "
                            "d'authentification. Pour l'augmenter, contactez le Helpdesk.", limit=limit))


class PrivateSpaceExists(DomainError):
    status = 409

    def __init__(self):
        super().__init__(_l("Vous avez déjà un espace privé."))


class LastAdmin(DomainError):
    status = 409

    def __init__(self):
        super().__init__(_l("Un espace garde toujours au moins un administrateur : nommez d'abord un autre "
                            "administrateur."))


class InvalidInput(DomainError):
    status = 422


class InvitationNotValid(DomainError):
    status = 410

    def __init__(self):
        super().__init__(_l("Cette invitation n'est plus valable : elle a été acceptée, révoquée ou remplacée "
                            "par une invitation plus récente."))


class WrongAccount(DomainError):
    status = 403

    def __init__(self, email):
        super().__init__(_l("Cette invitation a été envoyée à %(email)s. Connectez-vous avec le compte dont "
                            "l'adresse e-mail est %(email)s, ou demandez une nouvelle invitation.", email=email))


class TermsNotAccepted(DomainError):
    status = 409

    def __init__(self):
        super().__init__(_l("Il faut accepter les conditions générales d'utilisation."))


class NotCollaborative(DomainError):
    """A private space has no members to manage: not found, and why."""
    status = 404

    def __init__(self):
        super().__init__(_l("Un espace privé est personnel : on ne peut pas y inviter d'autres personnes."))


class ProfessionalOnly(DomainError):
    """What only a company's space has, asked of a private space: not found, and why."""
    status = 404

    def __init__(self):
        super().__init__(_l("Un espace privé n'a pas de certifications, de mandats ni de données professionnelles : "
                            "ils appartiennent aux espaces professionnels des entreprises."))


class WizardGone(DomainError):
    status = 409

    def __init__(self):
        super().__init__(_l("Cette création d'espace est déjà terminée ou a été abandonnée."))


# --- Access ------------------------------------------------------------------------------


def membership_for(user, space_id):
    """The person's membership of a live space, with the space, in one query."""
    member = (
        Membership.select(Membership, Space)
        .join(Space)
        .where(Membership.user == user.id, Membership.space == space_id, Space.live())
        .first()
    )
    if member is None:
        raise SpaceNotFound()
    return member


def can(member, action):
    if action == "manage_members" and member.space.is_private:
        return False  # a private space is one person's
    return RANK[member.role] >= RANK[PERMISSIONS[action]]


def require(member, action):
    if action == "manage_members" and member.space.is_private:
        raise NotCollaborative()
    if not can(member, action):
        raise NotAllowed(member.role)


def require_professional(member):
    if member.space.is_private:
        raise ProfessionalOnly()


def lock_row(model, row_id):
    """Take the row's lock for the rest of the transaction (a no-op UPDATE), so that
    check-then-write sequences on it run one at a time across workers. PostgreSQL needs it;
    SQLite transactions already begin IMMEDIATE (database.py) and run one at a time."""
    return model.update({model.id: model.id}).where(model.id == row_id).execute()


# --- Listing -----------------------------------------------------------------------------


def my_spaces(user, query="", kind=None, page=1, admin_only=False, per_page=PAGE_SIZE):
    """(memberships with their space, total) of the person's live spaces, private first then
    by name, paginated; `query` searches the name and the company."""
    select = (
        Membership.select(Membership, Space)
        .join(Space)
        .where(Membership.user == user.id, Space.live())
    )
    if kind:
        select = select.where(Space.kind == kind)
    if admin_only:
        select = select.where(Membership.role == "admin")
    query = (query or "").strip()
    if query:
        select = select.where(Space.name.contains(query) | Space.company_name.contains(query))
    total = select.count()
    select = select.order_by(Space.kind, fn.LOWER(Space.name), Space.id)
    if per_page:
        select = select.paginate(max(page, 1), per_page)
    return list(select), total


def archived_spaces(user, limit=20):
    """The spaces the person was in that were merged into another: (space, target) pairs."""
    Target = Space.alias()
    return list(
        Space.select(Space, Target)
        .join(Membership, on=(Membership.space == Space.id))
        .switch(Space)
        .join(Target, on=(Space.merged_into == Target.id), attr="target")
        .where(Membership.user == user.id, Space.merged_into.is_null(False), Space.deleted_at.is_null())
        .order_by(Space.merged_at.desc())
        .limit(limit)
    )


def private_space(user):
    return Space.select().where(Space.owner == user.id, Space.kind == "private", Space.live()).first()


def pending_invitations_for(user):
    """Invitations addressed to the person's confirmed e-mail, still valid, with their space."""
    if not user.email or user.email_confirmed_at is None:
        return []
    oldest = clock.now() - INVITATION_VALIDITY
    return list(
        Invitation.select(Invitation, Space)
        .join(Space)
        .where(
            fn.LOWER(Invitation.email) == user.email.lower(),
            Invitation.accepted_at.is_null(), Invitation.revoked_at.is_null(),
            Invitation.sent_at >= oldest, Space.live(),
        )
        .order_by(Invitation.sent_at.desc())
    )


def members(member, page=1):
    """(memberships with their users, total) of the member's space, admins first."""
    if member.space.is_private:
        raise NotCollaborative()
    select = Membership.select(Membership, User).join(User).where(Membership.space == member.space_id)
    total = select.count()
    order = [Membership.role == "admin", Membership.role == "manager"]
    rows = list(
        select.order_by(order[0].desc(), order[1].desc(), fn.LOWER(User.last_name), User.id)
        .paginate(max(page, 1), PAGE_SIZE)
    )
    return rows, total


def pending_invitations(member):
    return list(
        Invitation.select()
        .where(Invitation.space == member.space_id, Invitation.accepted_at.is_null(), Invitation.revoked_at.is_null())
        .order_by(Invitation.sent_at.desc())
    )


def accept_my_invitation(user, invitation_id):
    """Accept, from Gérer mes espaces, an invitation addressed to one's confirmed e-mail."""
    invitation = next((i for i in pending_invitations_for(user) if i.id == invitation_id), None)
    if invitation is None:
        raise InvitationNotValid()
    with db.atomic():
        return _join(user, invitation, invitation.nonce_hash)


def vault_entries(member):
    require_professional(member)
    return list(VaultEntry.select().where(VaultEntry.space == member.space_id).order_by(VaultEntry.label, VaultEntry.key))


def invitation_expires_at(invitation):
    return invitation.sent_at + INVITATION_VALIDITY


# --- Private space -----------------------------------------------------------------------


def create_private_space(user):
    try:
        with db.atomic():
            space = Space.create(kind="private", name=clip(Space.name, user.display_name), owner=user, created_by=user)
            Membership.create(space=space, user=user, role="admin")
            audit.record("space.private_created", actor=user, space_id=space.id)
    except IntegrityError:
        raise PrivateSpaceExists() from None
    return space


# --- Créer un espace professionnel: the wizard ----------------------------------------------


def space_terms_needed(user):
    return user.space_terms_version != current_app.config["TERMS_VERSION"]


def accept_space_terms(user):
    version = current_app.config["TERMS_VERSION"]
    User.update(space_terms_version=version).where(User.id == user.id).execute()
    user.space_terms_version = version
    audit.record("space.terms_accepted", actor=user, version=version)


def draft_for(user):
    """The person's wizard in progress, or None: reading never starts one (a GET changes
    nothing), `start_draft` does on the first step posted."""
    return SpaceDraft.get_or_none(SpaceDraft.user == user.id)


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


def check_space_limit(product):
    """Refuse when the product has no professional space left: before the wizard starts, and
    again at creation under the product's row lock."""
    if professional_spaces_created(product) >= product.space_limit:
        raise SpaceLimitReached(product.space_limit)


def next_step(draft):
    """The first step still to do: "name", "company", then "review" (None: not started)."""
    done = set(draft.data.get("done", [])) if draft else set()
    for step in ("name", "company"):
        if step not in done:
            return step
    return "review"


def clean_company(values):
    """Validate step 2 on the server; returns the normalised values or raises InvalidInput
    with the message of each wrong field in `errors`."""
    errors = {}
    cleaned = {key: (values.get(key) or "").strip() for key in COMPANY_FIELDS}
    for key in ("company_name", "legal_form", "identifier", "street", "postcode", "city", "country", "company_email"):
        if not cleaned[key]:
            errors[key] = str(_l("Ce champ est obligatoire."))
    if cleaned["legal_form"] and cleaned["legal_form"] not in dict(LEGAL_FORMS):
        errors["legal_form"] = str(_l("Choisissez une forme juridique dans la liste."))
    if cleaned["identifier"]:
        try:
            cleaned["identifier_kind"], cleaned["identifier"] = validators.company_identifier(cleaned["identifier"])
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
        error = InvalidInput(_l("Certaines informations de l'entreprise ne sont pas valides."))
        error.errors = errors
        raise error
    return cleaned


COMPANY_FIELDS = ("company_name", "legal_form", "identifier", "vat_number", "street", "postcode", "city",
                  "country", "company_email", "phone")


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
        space = Space.create(
            kind="professional", name=data["name"], created_by=user, created_with=product,
            **{key: data.get(key, "") for key in COMPANY_FIELDS + ("identifier_kind",)},
        )
        Membership.create(space=space, user=user, role="admin")
        if SpaceDraft.delete().where(SpaceDraft.id == draft.id).execute() != 1:
            raise WizardGone()
        audit.record("space.created", actor=user, space_id=space.id, name=space.name,
                     identifier=space.identifier, product_id=product.id)
    return space


def professional_spaces_created(product):
    return (
        Space.select()
        .where(Space.created_with == product.id, Space.kind == "professional", Space.live())
        .count()
    )


def set_space_limit(userid, limit):
    """Helpdesk: raise (or set) the professional-space limit of the person's Token."""
    user = User.get_or_none(User.userid_key == auth.userid_key(userid))
    if user is None:
        raise DomainError(_l("Utilisateur inconnu."))
    if limit < 0:
        raise InvalidInput(_l("La limite doit être un nombre positif."))
    product = auth.token_product(user)
    with db.atomic():
        AuthProduct.update(space_limit=limit).where(AuthProduct.id == product.id).execute()
        audit.record("helpdesk.space_limit", space_id=None, userid=user.userid, product_id=product.id, limit=limit)
    return product


# --- Space profile -------------------------------------------------------------------------


def rename_space(member, actor, name):
    require(member, "edit_profile")
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_l("Donnez un nom à votre espace."))
    with db.atomic():
        Space.update(name=name).where(Space.id == member.space_id).execute()
        audit.record("space.renamed", actor=actor, space_id=member.space_id, name=name)


# --- Members and invitations -------------------------------------------------------------


def _check_role(role):
    if role not in ROLES:
        raise InvalidInput(_l("Choisissez un rôle : Administrateur, Gestionnaire ou Consultation."))


def _invitation_link(invitation, nonce):
    token = links.make("invitation", {"i": invitation.id, "n": nonce})
    return external_url("spaces.invitation", token=token)


def _send_invitation(invitation, space, inviter):
    nonce = crypto.random_code(16)
    now = clock.now()
    Invitation.update(nonce_hash=crypto.keyed_hash("invitation", nonce), sent_at=now).where(
        Invitation.id == invitation.id).execute()
    invitation.sent_at = now
    queue_mail(
        invitation.email,
        str(_l("Invitation à rejoindre l'espace %(space)s", space=space.name)),
        "space_invitation",
        space=space, inviter=inviter, role=ROLES[invitation.role], link=_invitation_link(invitation, nonce),
        expires_at=invitation_expires_at(invitation),
    )


def invite(member, actor, email, role):
    require(member, "manage_members")
    _check_role(role)
    try:
        email = validators.email_address(email)
    except validators.InvalidIdentifier as error:
        raise InvalidInput(str(error)) from None
    with db.atomic():
        lock_row(Space, member.space_id)
        already = (
            Membership.select().join(User)
            .where(Membership.space == member.space_id, fn.LOWER(User.email) == email.lower(),
                   User.email_confirmed_at.is_null(False))
            .exists()
        )
        if already:
            raise InvalidInput(_l("%(email)s est déjà membre de cet espace.", email=email))
        pending = (
            Invitation.select()
            .where(Invitation.space == member.space_id, fn.LOWER(Invitation.email) == email.lower(),
                   Invitation.accepted_at.is_null(), Invitation.revoked_at.is_null())
            .exists()
        )
        if pending:
            raise InvalidInput(_l("Une invitation pour %(email)s est déjà en attente : renvoyez-la ou révoquez-la.",
                                  email=email))
        invitation = Invitation.create(space=member.space_id, email=email, role=role, invited_by=actor, nonce_hash="")
        _send_invitation(invitation, member.space, actor)
        audit.record("space.member_invited", actor=actor, space_id=member.space_id, email=email, role=role)
    return invitation


def _pending_invitation(member, invitation_id):
    invitation = Invitation.get_or_none(Invitation.id == invitation_id, Invitation.space == member.space_id)
    if invitation is None:
        raise SpaceNotFound()
    if not invitation.is_pending:
        raise InvitationNotValid()
    return invitation


def resend_invitation(member, actor, invitation_id):
    require(member, "manage_members")
    with db.atomic():
        lock_row(Space, member.space_id)
        invitation = _pending_invitation(member, invitation_id)
        _send_invitation(invitation, member.space, actor)
        audit.record("space.invitation_resent", actor=actor, space_id=member.space_id, email=invitation.email)
    return invitation


def invitation_to_revoke(member, invitation_id):
    """The pending invitation an admin is asked to confirm revoking."""
    require(member, "manage_members")
    return _pending_invitation(member, invitation_id)


def revoke_invitation(member, actor, invitation_id):
    require(member, "manage_members")
    with db.atomic():
        lock_row(Space, member.space_id)
        invitation = _pending_invitation(member, invitation_id)
        revoked = (
            Invitation.update(revoked_at=clock.now())
            .where(Invitation.id == invitation.id, Invitation.accepted_at.is_null(), Invitation.revoked_at.is_null())
            .execute()
        )
        if not revoked:
            raise InvitationNotValid()
        audit.record("space.invitation_revoked", actor=actor, space_id=member.space_id, email=invitation.email)
    return invitation


def read_invitation(token):
    """The pending invitation a link points to. Raises LinkInvalid/LinkExpired/LinkUsed."""
    payload = links.read("invitation", token, INVITATION_VALIDITY)
    invitation = (
        Invitation.select(Invitation, Space).join(Space).where(Invitation.id == payload.get("i")).first()
        if isinstance(payload, dict) else None
    )
    if invitation is None:
        raise links.LinkInvalid()
    if (not invitation.is_pending or not invitation.space.is_live
            or invitation.nonce_hash != crypto.keyed_hash("invitation", str(payload.get("n")))):
        raise links.LinkUsed()
    return invitation


def accept_invitation(user, token):
    """Join the space. Single use: the invitation is closed by a conditional UPDATE."""
    invitation = read_invitation(token)
    if (user.email or "").lower() != invitation.email.lower() or user.email_confirmed_at is None:
        raise WrongAccount(invitation.email)
    with db.atomic():
        return _join(user, invitation, invitation.nonce_hash)


def _join(user, invitation, nonce_hash):
    closed = (
        Invitation.update(accepted_at=clock.now(), accepted_by=user)
        .where(Invitation.id == invitation.id, Invitation.nonce_hash == nonce_hash,
               Invitation.accepted_at.is_null(), Invitation.revoked_at.is_null())
        .execute()
    )
    if not closed:
        raise links.LinkUsed()
    existing = Membership.get_or_none(Membership.space == invitation.space_id, Membership.user == user.id)
    if existing is None:
        Membership.create(space=invitation.space_id, user=user, role=invitation.role)
    elif RANK[invitation.role] > RANK[existing.role]:
        Membership.update(role=invitation.role).where(Membership.id == existing.id).execute()
    audit.record("space.member_joined", actor=user, space_id=invitation.space_id, role=invitation.role)
    return invitation


def _other_member(member, membership_id):
    target = (
        Membership.select(Membership, User).join(User)
        .where(Membership.id == membership_id, Membership.space == member.space_id)
        .first()
    )
    if target is None:
        raise SpaceNotFound()
    return target


def _keeps_an_admin(space_id, membership_id):
    """The condition that `membership_id` is not the space's last admin, evaluated inside
    the UPDATE/DELETE itself."""
    others = Membership.select(fn.COUNT(Membership.id)).where(
        Membership.space == space_id, Membership.role == "admin", Membership.id != membership_id)
    return others > 0


def _notify(user, space, message):
    if user.email:
        queue_mail(user.email, str(_l("Espace %(space)s : votre accès a changé", space=space.name)),
                   "notification", message=message, link=external_url("spaces.manage"))


def change_role(member, actor, membership_id, role):
    require(member, "manage_members")
    _check_role(role)
    with db.atomic():
        lock_row(Space, member.space_id)
        target = _other_member(member, membership_id)
        if target.role == role:
            return target
        condition = Membership.id == target.id
        if role != "admin":
            condition &= _keeps_an_admin(member.space_id, target.id)
        if not Membership.update(role=role).where(condition).execute():
            raise LastAdmin()
        audit.record("space.role_changed", actor=actor, space_id=member.space_id, user_id=target.user_id,
                     old=target.role, new=role)
        _notify(target.user, member.space, str(_l("Votre rôle dans l'espace %(space)s est maintenant : %(role)s.",
                                                  space=member.space.name, role=ROLES[role])))
        target.role = role
    return target


def _remove(member, target, actor, action):
    with db.atomic():
        lock_row(Space, member.space_id)
        removed = Membership.delete().where(
            (Membership.id == target.id) & _keeps_an_admin(member.space_id, target.id)).execute()
        if not removed:
            raise LastAdmin()
        audit.record(action, actor=actor, space_id=member.space_id, user_id=target.user_id)
        return target


def member_to_remove(member, membership_id):
    """The member an admin is asked to confirm removing."""
    require(member, "manage_members")
    return _other_member(member, membership_id)


def remove_member(member, actor, membership_id):
    require(member, "manage_members")
    target = _other_member(member, membership_id)
    if target.id == member.id:
        return leave(member, actor)
    _remove(member, target, actor, "space.member_removed")
    _notify(target.user, member.space, str(_l("Vous avez été retiré de l'espace %(space)s.", space=member.space.name)))
    return target


def leave(member, actor):
    if member.space.is_private:
        raise InvalidInput(_l("Vous ne pouvez pas quitter votre espace privé ; vous pouvez le supprimer."))
    return _remove(member, member, actor, "space.member_left")


# --- Delete, restore, purge ----------------------------------------------------------------


def delete_space(member, actor, typed_name):
    """Soft delete: every member loses access at once; the helpdesk can restore it for 30
    days. The person confirms by typing the space's name."""
    require(member, "delete")
    if (typed_name or "").strip() != member.space.name.strip():
        raise InvalidInput(_l("Le nom saisi ne correspond pas au nom de l'espace."))
    with db.atomic():
        deleted = (
            Space.update(deleted_at=clock.now(), deleted_by=actor)
            .where(Space.id == member.space_id, Space.live())
            .execute()
        )
        if not deleted:
            raise SpaceNotFound()
        audit.record("space.deleted", actor=actor, space_id=member.space_id, name=member.space.name)


def restore_space(space_id):
    """Helpdesk: bring back a space deleted less than 30 days ago."""
    space = Space.get_or_none(Space.id == space_id)
    if space is None or space.deleted_at is None:
        raise DomainError(_l("Aucun espace supprimé avec ce numéro."))
    if space.deleted_at < clock.now() - DELETED_RETENTION:
        raise DomainError(_l("Cet espace a été supprimé il y a plus de 30 jours : il ne peut plus être restauré."))
    with db.atomic():
        if space.kind == "professional" and space.created_with_id:
            lock_row(AuthProduct, space.created_with_id)
            product = AuthProduct.get_by_id(space.created_with_id)
            if professional_spaces_created(product) >= product.space_limit:
                raise DomainError(_l("La personne a atteint sa limite d'espaces professionnels : augmentez-la "
                                     "d'abord (set-space-limit)."))
        try:
            restored = Space.update(deleted_at=None, deleted_by=None).where(
                Space.id == space.id, Space.deleted_at.is_null(False)).execute()
        except IntegrityError:
            raise DomainError(_l("La personne a créé un nouvel espace privé depuis : il ne peut pas être "
                                 "restauré.")) from None
        if not restored:
            raise DomainError(_l("Aucun espace supprimé avec ce numéro."))
        audit.record("helpdesk.space_restored", space_id=space.id, name=space.name)
    return space


def purge_deleted():
    """Remove for good the spaces deleted more than 30 days ago; returns how many."""
    cutoff = clock.now() - DELETED_RETENTION
    with db.atomic():
        ids = [s.id for s in Space.select(Space.id).where(Space.deleted_at < cutoff)]
        if not ids:
            return 0
        # The archived sources merged into a purged space go with it: what they held moved
        # into it and has just gone.
        found = ids
        while found:
            found = [s.id for s in Space.select(Space.id).where(Space.merged_into.in_(found), Space.id.not_in(ids))]
            ids += found
        Space.delete().where(Space.id.in_(ids)).execute()
        audit.record("space.purged", count=len(ids), space_ids=ids)
    return len(ids)
