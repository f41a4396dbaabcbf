"""Spaces: who may do what in a space, the person's spaces, the private space, the space's
profile, the limit of professional spaces, delete, restore and purge. The creation wizard is
in `space_wizard`, members and invitations in `memberships`.

Every space-scoped operation starts from `membership_for(user, space_id)`: a person who is
not a member of a live space gets `SpaceNotFound` (404, the space's existence is not
revealed), and `require(member, action)` refuses what the role does not allow (403) and
what a private space cannot do (404, and why).
"""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from peewee import SQL, IntegrityError, fn

import clock
from database import PAGE_SIZE, Parameter, Prepared, lock_row
from models import AuthProduct, Membership, Space, User, clip, db
from services import DomainError, InvalidInput, audit, auth

DELETED_RETENTION = timedelta(days=30)

ROLES = {"admin": _l("Administrateur"), "manager": _l("Gestionnaire"), "reader": _l("Consultation")}
RANK = {"reader": 1, "manager": 2, "admin": 3}
# What each action needs, at least. All members read everything; roles only limit actions.
PERMISSIONS = {
    "read": "reader",
    "run_procedures": "manager",
    "edit_vault": "manager",
    "leave": "reader",
    "manage_members": "admin",
    "manage_certifications": "admin",
    "manage_mandates": "admin",
    "edit_profile": "admin",
    "merge": "admin",
    "delete": "admin",
}


# --- Errors ------------------------------------------------------------------------------


class SpaceNotFound(DomainError):
    status = 404
    message = _l("Cet espace n'existe pas ou vous n'en êtes pas membre.")


class NotAllowed(DomainError):
    status = 403
    message = _l(
        "Votre rôle (%(role)s) ne permet pas cette action dans cet espace. "
        "Demandez-la à un administrateur de l'espace."
    )

    def __init__(self, role):
        super().__init__(str(self.message) % {"role": ROLES[role]})


class NotCollaborative(DomainError):
    """A private space has no members to manage: not found, and why."""

    status = 404
    message = _l("Un espace privé est personnel : on ne peut pas y inviter d'autres personnes.")


class ProfessionalOnly(DomainError):
    """What only a company's space has, asked of a private space: not found, and why."""

    status = 404
    message = _l(
        "Un espace privé n'a pas de certifications, de mandats ni de données professionnelles : "
        "ils appartiennent aux espaces professionnels des entreprises."
    )


class PrivateSpaceNotLeft(InvalidInput):
    message = _l("Vous ne pouvez pas quitter votre espace privé ; vous pouvez le supprimer.")


class PrivateSpaceExists(DomainError):
    status = 409
    message = _l("Vous avez déjà un espace privé.")


class SpaceLimitReached(DomainError):
    status = 409
    message = _l(
        "Vous avez atteint la limite de %(limit)d espaces professionnels pour votre produit "
        "d'authentification. Pour l'augmenter, contactez le Helpdesk."
    )

    def __init__(self, limit):
        super().__init__(str(self.message) % {"limit": limit})


class SpaceNameMissing(InvalidInput):
    message = _l("Donnez un nom à votre espace.")


class SpaceNameMismatch(InvalidInput):
    message = _l("Le nom saisi ne correspond pas au nom de l'espace.")


class UnknownUser(DomainError):
    message = _l("Utilisateur inconnu.")


class NegativeSpaceLimit(InvalidInput):
    message = _l("La limite doit être un nombre positif.")


class NoDeletedSpace(DomainError):
    message = _l("Aucun espace supprimé avec ce numéro.")


class DeletedTooLongAgo(DomainError):
    message = _l("Cet espace a été supprimé il y a plus de 30 jours : il ne peut plus être restauré.")


class RestoreOverLimit(DomainError):
    message = _l(
        "La personne a atteint sa limite d'espaces professionnels : augmentez-la d'abord (set-space-limit)."
    )


class PrivateSpaceReplaced(DomainError):
    message = _l("La personne a créé un nouvel espace privé depuis : il ne peut pas être restauré.")


# What a private space, one person's own, cannot do whatever the role, and the refusal:
# it has no colleagues, certifications, mandates or professional data.
NOT_IN_PRIVATE_SPACE = {
    "manage_members": NotCollaborative,
    "leave": PrivateSpaceNotLeft,
    "manage_certifications": ProfessionalOnly,
    "manage_mandates": ProfessionalOnly,
    "edit_vault": ProfessionalOnly,
}


# --- Access ------------------------------------------------------------------------------


# The person's membership of a live space, with the space: every page of a space starts here.
_MEMBERSHIP = Prepared(
    Membership.select(Membership, Space)
    .join(Space)
    .where(Membership.user == Parameter("user_id"), Membership.space == Parameter("space_id"), Space.live())
    .limit(1)
)


def membership_for(user, space_id):
    """The person's membership of a live space, with the space, in one query."""
    member = _MEMBERSHIP.first(user_id=user.id, space_id=space_id)
    if member is None:
        raise SpaceNotFound()
    return member


def can(member, action):
    """Whether the member may do `action` in its space: the role allows it and, in a private
    space, the action is one a private space has (templates ask this alone)."""
    if member.space.is_private and action in NOT_IN_PRIVATE_SPACE:
        return False
    return RANK[member.role] >= RANK[PERMISSIONS[action]]


def require(member, action):
    if member.space.is_private and action in NOT_IN_PRIVATE_SPACE:
        raise NOT_IN_PRIVATE_SPACE[action]()
    if not can(member, action):
        raise NotAllowed(member.role)


def require_professional(member):
    if member.space.is_private:
        raise ProfessionalOnly()


# --- Listing -----------------------------------------------------------------------------


def my_spaces(user, query="", kind=None, page=1, admin_only=False, per_page=PAGE_SIZE):
    """(memberships with their space, total) of the person's live spaces, private first then
    by name, paginated; `query` searches the name and the company."""
    select = Membership.select(Membership, Space).join(Space).where(Membership.user == user.id, Space.live())
    if kind:
        select = select.where(Space.kind == kind)
    if admin_only:
        select = select.where(Membership.role == "admin")
    query = (query or "").strip()
    if query:
        select = select.where(Space.name.contains(query) | Space.company_name.contains(query))
    ordered = select.order_by(Space.kind, fn.LOWER(Space.name), Space.id)
    if not per_page:
        rows = list(ordered)
        return rows, len(rows)
    # The total comes with the page's rows (a window over them all): the join of the
    # memberships to their spaces runs once; a page past the end has no row to carry it.
    page = max(page, 1)
    rows = list(ordered.select_extend(fn.COUNT(SQL("*")).over().alias("total")).paginate(page, per_page))
    if rows:
        return rows, rows[0].total
    return rows, select.count() if page > 1 else 0


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


# --- Private space -----------------------------------------------------------------------


def create_private_space(user):
    try:
        with db.atomic():
            space = Space.create(
                kind="private", name=clip(Space.name, user.display_name), owner=user, created_by=user
            )
            Membership.create(space=space, user=user, role="admin")
            audit.record("space.private_created", actor=user, space_id=space.id)
    except IntegrityError:
        raise PrivateSpaceExists() from None
    return space


# --- Space profile -------------------------------------------------------------------------


def rename_space(member, actor, name):
    require(member, "edit_profile")
    name = (name or "").strip()
    if not name:
        raise SpaceNameMissing()
    with db.atomic():
        Space.update(name=name).where(Space.id == member.space_id).execute()
        audit.record("space.renamed", actor=actor, space_id=member.space_id, name=name)


# --- The limit of professional spaces ---------------------------------------------------------


def open_professional_space(user, product, details=None, **fields):
    """A new professional space with `fields`, `user` its administrator, its creation
    audited (with `details`): the wizard's and the impots way in's. Call it in the
    transaction that checks what allows it."""
    space = Space.create(kind="professional", created_by=user, created_with=product, **fields)
    Membership.create(space=space, user=user, role="admin")
    audit.record(
        "space.created",
        actor=user,
        space_id=space.id,
        name=space.name,
        identifier=space.identifier,
        product_id=product.id,
        **(details or {}),
    )
    return space


def professional_spaces_created(product):
    return (
        Space.select()
        .where(Space.created_with == product.id, Space.kind == "professional", Space.live())
        .count()
    )


def check_space_limit(product):
    """Refuse when the product has no professional space left: before the wizard starts, and
    again at creation under the product's row lock."""
    if professional_spaces_created(product) >= product.space_limit:
        raise SpaceLimitReached(product.space_limit)


def set_space_limit(userid, limit, actor=None):
    """Helpdesk: raise (or set) the professional-space limit of the person's Token."""
    user = User.get_or_none(User.userid_key == auth.userid_key(userid))
    if user is None:
        raise UnknownUser()
    if limit < 0:
        raise NegativeSpaceLimit()
    product = auth.product_of(user)
    previous, product.space_limit = product.space_limit, limit
    with db.atomic():
        AuthProduct.update(space_limit=limit).where(AuthProduct.id == product.id).execute()
        audit.record(
            "helpdesk.space_limit",
            actor=actor,
            userid=user.userid,
            product_id=product.id,
            limit=limit,
            previous=previous,
        )
    return product


# --- Delete, restore, purge ----------------------------------------------------------------


def delete_space(member, actor, typed_name):
    """Soft delete: every member loses access at once; the helpdesk can restore it for 30
    days. The person confirms by typing the space's name."""
    require(member, "delete")
    if (typed_name or "").strip() != member.space.name.strip():
        raise SpaceNameMismatch()
    with db.atomic():
        deleted = (
            Space.update(deleted_at=clock.now(), deleted_by=actor)
            .where(Space.id == member.space_id, Space.live())
            .execute()
        )
        if not deleted:
            raise SpaceNotFound()
        audit.record("space.deleted", actor=actor, space_id=member.space_id, name=member.space.name)


def restore_space(space_id, actor=None):
    """Helpdesk: bring back a space deleted less than 30 days ago."""
    space = Space.get_or_none(Space.id == space_id)
    if space is None or space.deleted_at is None:
        raise NoDeletedSpace()
    if space.deleted_at < clock.now() - DELETED_RETENTION:
        raise DeletedTooLongAgo()
    with db.atomic():
        if space.kind == "professional" and space.created_with_id:
            lock_row(AuthProduct, space.created_with_id)
            product = AuthProduct.get_by_id(space.created_with_id)
            if professional_spaces_created(product) >= product.space_limit:
                raise RestoreOverLimit()
        try:
            restored = (
                Space.update(deleted_at=None, deleted_by=None)
                .where(Space.id == space.id, Space.deleted_at.is_null(False))
                .execute()
            )
        except IntegrityError:
            raise PrivateSpaceReplaced() from None
        if not restored:
            raise NoDeletedSpace()
        audit.record(
            "helpdesk.space_restored",
            actor=actor,
            space_id=space.id,
            name=space.name,
            company=space.identifier or None,
        )
    return space


def purge_deleted():
    """Remove for good the spaces deleted more than 30 days ago; returns how many."""
    cutoff = clock.now() - DELETED_RETENTION
    with db.atomic():
        # Their rows locked first (a no-op UPDATE): a run at the same moment on another
        # machine waits, then finds them gone, and neither counts them twice.
        Space.update({Space.id: Space.id}).where(Space.deleted_at < cutoff).execute()
        ids = [s.id for s in Space.select(Space.id).where(Space.deleted_at < cutoff)]
        if not ids:
            return 0
        # The archived sources merged into a purged space go with it: what they held moved
        # into it and has just gone.
        found = ids
        while found:
            found = [
                s.id for s in Space.select(Space.id).where(Space.merged_into.in_(found), Space.id.not_in(ids))
            ]
            ids += found
        Space.delete().where(Space.id.in_(ids)).execute()
        audit.record("space.purged", count=len(ids), space_ids=ids)
    return len(ids)
