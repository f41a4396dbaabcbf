"""The members of a professional space: their roles, the invitations (sent by mail, valid 7
days, single use) and leaving. A space always keeps an admin: the condition is part of the
UPDATE or DELETE that would remove the last one."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from peewee import fn

import clock
import validators
from database import PAGE_SIZE, lock_row
from models import Invitation, Membership, Space, User, db
from services import DomainError, audit, crypto, languages, links
from services.mail import queue_mail
from services.spaces import RANK, ROLES, InvalidInput, NotCollaborative, SpaceNotFound, private_space, require
from services.urls import external_url

INVITATION_VALIDITY = timedelta(days=7)


class LastAdmin(DomainError):
    status = 409
    message = _l(
        "Un espace garde toujours au moins un administrateur : nommez d'abord un autre administrateur."
    )


class UnknownRole(InvalidInput):
    message = _l("Choisissez un rôle : Administrateur, Gestionnaire ou Consultation.")


class InvalidEmail(InvalidInput):
    """The address typed for an invitation; the message says what is wrong with it."""


class AlreadyMember(InvalidInput):
    message = _l("%(email)s est déjà membre de cet espace.")

    def __init__(self, email):
        super().__init__(str(self.message) % {"email": email})


class InvitationPending(InvalidInput):
    message = _l("Une invitation pour %(email)s est déjà en attente : renvoyez-la ou révoquez-la.")

    def __init__(self, email):
        super().__init__(str(self.message) % {"email": email})


class InvitationNotValid(DomainError):
    status = 410
    message = _l(
        "Cette invitation n'est plus valable : elle a été acceptée, révoquée ou remplacée "
        "par une invitation plus récente."
    )


class WrongAccount(DomainError):
    status = 403
    message = _l(
        "Cette invitation a été envoyée à %(email)s. Connectez-vous avec le compte dont "
        "l'adresse e-mail est %(email)s, ou demandez une nouvelle invitation."
    )

    def __init__(self, email):
        super().__init__(str(self.message) % {"email": email})


# --- Listing -----------------------------------------------------------------------------------


def members(member, page=1):
    """(memberships with their users, total) of the member's space, admins first."""
    if member.space.is_private:
        raise NotCollaborative()
    of_space = Membership.space == member.space_id
    # What a line shows (the role, the name, the e-mail): the whole space is sorted by name,
    # the narrower its rows the cheaper.
    select = Membership.select(
        Membership.id,
        Membership.space,
        Membership.user,
        Membership.role,
        User.id,
        User.userid,
        User.first_name,
        User.last_name,
        User.email,
    ).join(User)
    order = [Membership.role == "admin", Membership.role == "manager"]
    rows = list(
        select.where(of_space)
        .order_by(order[0].desc(), order[1].desc(), fn.LOWER(User.last_name), User.id)
        .paginate(max(page, 1), PAGE_SIZE)
    )
    return rows, Membership.select().where(of_space).count()  # every member has a user


def pending_invitations(member):
    return list(
        Invitation.select()
        .where(
            Invitation.space == member.space_id,
            Invitation.accepted_at.is_null(),
            Invitation.revoked_at.is_null(),
        )
        .order_by(Invitation.sent_at.desc())
    )


def invitation_expires_at(invitation):
    return invitation.sent_at + INVITATION_VALIDITY


def landing_space(user):
    """Where a login leads: the person's private space, unless invitations wait for an answer
    (or there is no private space), in which case None: Gérer mes espaces."""
    private = private_space(user)
    if private is None or pending_invitations_for(user):
        return None
    return private


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
            Invitation.accepted_at.is_null(),
            Invitation.revoked_at.is_null(),
            Invitation.sent_at >= oldest,
            Space.live(),
        )
        .order_by(Invitation.sent_at.desc())
    )


# --- Invitations sent ----------------------------------------------------------------------


def _check_role(role):
    if role not in ROLES:
        raise UnknownRole()


def _invitation_link(invitation, nonce):
    token = links.make("invitation", {"i": invitation.id, "n": nonce})
    return external_url("spaces.invitation", token=token)


def _send_invitation(invitation, space, inviter):
    """The invitation in the language of the account that has the address, else in the
    inviter's (the language of their pages: the switch stores it on their account)."""
    nonce = crypto.random_code(16)
    now = clock.now()
    Invitation.update(nonce_hash=crypto.keyed_hash("invitation", nonce), sent_at=now).where(
        Invitation.id == invitation.id
    ).execute()
    invitation.sent_at = now
    queue_mail(
        invitation.email,
        _l("Invitation à rejoindre l'espace %(space)s", space=space.name),
        "space_invitation",
        language=languages.for_email(invitation.email, languages.of(inviter)),
        space=space,
        inviter=inviter,
        role=ROLES[invitation.role],
        link=_invitation_link(invitation, nonce),
        expires_at=invitation_expires_at(invitation),
    )


def invite(member, actor, email, role):
    require(member, "manage_members")
    _check_role(role)
    try:
        email = validators.email_address(email)
    except validators.InvalidIdentifier as error:
        raise InvalidEmail(str(error)) from None
    with db.atomic():
        lock_row(Space, member.space_id)
        already = (
            Membership.select()
            .join(User)
            .where(
                Membership.space == member.space_id,
                fn.LOWER(User.email) == email.lower(),
                User.email_confirmed_at.is_null(False),
            )
            .exists()
        )
        if already:
            raise AlreadyMember(email)
        pending = (
            Invitation.select()
            .where(
                Invitation.space == member.space_id,
                fn.LOWER(Invitation.email) == email.lower(),
                Invitation.accepted_at.is_null(),
                Invitation.revoked_at.is_null(),
            )
            .exists()
        )
        if pending:
            raise InvitationPending(email)
        invitation = Invitation.create(
            space=member.space_id, email=email, role=role, invited_by=actor, nonce_hash=""
        )
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
            .where(
                Invitation.id == invitation.id,
                Invitation.accepted_at.is_null(),
                Invitation.revoked_at.is_null(),
            )
            .execute()
        )
        if not revoked:
            raise InvitationNotValid()
        audit.record(
            "space.invitation_revoked", actor=actor, space_id=member.space_id, email=invitation.email
        )
    return invitation


# --- Invitations received ----------------------------------------------------------------------


def read_invitation(token):
    """The pending invitation a link points to. Raises LinkInvalid/LinkExpired/LinkUsed."""
    payload = links.read("invitation", token, INVITATION_VALIDITY)
    invitation = (
        Invitation.select(Invitation, Space).join(Space).where(Invitation.id == payload.get("i")).first()
        if isinstance(payload, dict)
        else None
    )
    if invitation is None:
        raise links.LinkInvalid()
    if (
        not invitation.is_pending
        or not invitation.space.is_live
        or invitation.nonce_hash != crypto.keyed_hash("invitation", str(payload.get("n")))
    ):
        raise links.LinkUsed()
    return invitation


def accept_invitation(user, token):
    """Join the space. Single use: the invitation is closed by a conditional UPDATE."""
    invitation = read_invitation(token)
    if (user.email or "").lower() != invitation.email.lower() or user.email_confirmed_at is None:
        raise WrongAccount(invitation.email)
    with db.atomic():
        return _join(user, invitation, invitation.nonce_hash)


def accept_my_invitation(user, invitation_id):
    """Accept, from Gérer mes espaces, an invitation addressed to one's confirmed e-mail."""
    invitation = next((i for i in pending_invitations_for(user) if i.id == invitation_id), None)
    if invitation is None:
        raise InvitationNotValid()
    with db.atomic():
        return _join(user, invitation, invitation.nonce_hash)


def _join(user, invitation, nonce_hash):
    closed = (
        Invitation.update(accepted_at=clock.now(), accepted_by=user)
        .where(
            Invitation.id == invitation.id,
            Invitation.nonce_hash == nonce_hash,
            Invitation.accepted_at.is_null(),
            Invitation.revoked_at.is_null(),
        )
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


# --- Roles, removing, leaving ------------------------------------------------------------------


def _other_member(member, membership_id):
    target = (
        Membership.select(Membership, User)
        .join(User)
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
        Membership.space == space_id, Membership.role == "admin", Membership.id != membership_id
    )
    return others > 0


def _notify(user, space, message):
    if user.email:
        queue_mail(
            user.email,
            _l("Espace %(space)s : votre accès a changé", space=space.name),
            "notification",
            language=languages.of(user),
            message=message,
            link=external_url("spaces.manage"),
        )


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
        audit.record(
            "space.role_changed",
            actor=actor,
            space_id=member.space_id,
            user_id=target.user_id,
            old=target.role,
            new=role,
        )
        _notify(
            target.user,
            member.space,
            _l(
                "Votre rôle dans l'espace %(space)s est maintenant : %(role)s.",
                space=member.space.name,
                role=ROLES[role],
            ),
        )
        target.role = role
    return target


def _remove(member, target, actor, action):
    with db.atomic():
        lock_row(Space, member.space_id)
        removed = (
            Membership.delete()
            .where((Membership.id == target.id) & _keeps_an_admin(member.space_id, target.id))
            .execute()
        )
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
    _notify(
        target.user,
        member.space,
        _l("Vous avez été retiré de l'espace %(space)s.", space=member.space.name),
    )
    return target


def leave(member, actor):
    require(member, "leave")  # a private space is left by deleting it
    return _remove(member, member, actor, "space.member_left")
