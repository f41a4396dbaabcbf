"""The rules of spaces, called on the services: the wizard and the 200 limit, invitations,
roles and the last admin, merge, delete/restore/purge."""

import threading

import pytest

import clock as clock_module
import factories
from models import (
    AuditEntry,
    Certification,
    Dossier,
    DossierFile,
    Invitation,
    Membership,
    Receipt,
    Space,
    SpaceDraft,
    User,
    VaultEntry,
    db,
)
from services import auth, dossiers, links, memberships, merge, space_wizard, spaces

COMPANY = {
    "company_name": "Guichet SARL",
    "legal_form": "SARL",
    "identifier": " b 123456 ",
    "vat_number": "",
    "street": "1, rue du Commerce",
    "postcode": "L-1000",
    "city": "Luxembourg",
    "country": "Luxembourg",
    "company_email": "contact@guichet.lu",
    "phone": "",
}


pytestmark = pytest.mark.usefixtures("request_context")


def finished_draft(user, name="Guichet", **company):
    space_wizard.accept_space_terms(user)
    draft = space_wizard.start_draft(user)
    space_wizard.save_step(draft, {"name": name}, done="name")
    space_wizard.save_step(draft, space_wizard.clean_company({**COMPANY, **company}), done="company")
    return draft


def create(user, **kwargs):
    return space_wizard.create_professional_space(
        user, auth.token_product(user), finished_draft(user, **kwargs).id
    )


# --- Wizard and limit --------------------------------------------------------------------


def test_wizard_creates_the_space_with_its_creator_as_admin(app, clock):
    lea = factories.user("lea")
    assert (
        space_wizard.draft_for(lea) is None and space_wizard.next_step(None) == "name"
    )  # reading starts nothing
    draft = space_wizard.start_draft(lea)
    assert draft.data["name"] == "Espace pro de Léa" and space_wizard.next_step(draft) == "name"
    assert space_wizard.start_draft(lea).id == draft.id
    space = create(lea)
    assert (space.kind, space.name, space.identifier_kind, space.identifier) == (
        "professional",
        "Guichet",
        "rcs",
        "B123456",
    )
    assert Membership.get(space=space, user=lea).role == "admin"
    assert SpaceDraft.select().count() == 0
    assert AuditEntry.get(AuditEntry.action == "space.created").space_id == space.id


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("identifier", "123", "RCS"),
        ("identifier", "732829321", "RCS"),  # a SIREN with a wrong Luhn checksum
        ("vat_number", "LU12345678", "TVA"),
        ("company_email", "contact@", "e-mail"),
        ("legal_form", "LTD", "forme juridique"),
        ("company_name", "  ", "obligatoire"),
    ],
)
def test_company_step_refuses_wrong_formats(field, value, message):
    with pytest.raises(spaces.InvalidInput) as refused:
        space_wizard.clean_company({**COMPANY, field: value})
    assert message in refused.value.errors[field]


def test_company_step_accepts_siren_and_vat():
    cleaned = space_wizard.clean_company(
        {**COMPANY, "identifier": "732 829 320", "vat_number": "LU 15027442"}
    )
    assert (cleaned["identifier_kind"], cleaned["identifier"], cleaned["vat_number"]) == (
        "siren",
        "732829320",
        "LU15027442",
    )


def test_going_back_keeps_entries_and_undoes_the_step(app):
    lea = factories.user("lea")
    draft = finished_draft(lea)
    space_wizard.save_step(draft, {**COMPANY, "identifier": "wrong"}, undone="company")
    draft = space_wizard.draft_for(lea)  # as on a refresh
    assert draft.data["identifier"] == "wrong" and space_wizard.next_step(draft) == "company"
    with pytest.raises(space_wizard.WizardGone):
        space_wizard.create_professional_space(lea, auth.token_product(lea), draft.id)
    assert Space.select().count() == 0


def test_double_submit_creates_one_space(app):
    lea = factories.user("lea")
    draft = finished_draft(lea)
    space_wizard.create_professional_space(lea, auth.token_product(lea), draft.id)
    with pytest.raises(space_wizard.WizardGone):
        space_wizard.create_professional_space(lea, auth.token_product(lea), draft.id)
    assert Space.select().count() == 1


def test_a_step_opens_after_the_current_terms_and_the_steps_before_it(app):
    lea = factories.user("lea")
    assert space_wizard.open_step(lea, "name") == ("terms", None)  # the terms come first
    assert space_wizard.open_step(lea, "terms") == ("terms", None)
    space_wizard.accept_space_terms(lea)
    assert space_wizard.open_step(lea) == ("name", None)
    assert space_wizard.open_step(lea, "review") == ("name", None)  # no skipping
    draft = space_wizard.save_step(space_wizard.start_draft(lea), {"name": "Guichet"}, done="name")
    step, opened = space_wizard.open_step(lea, "company")
    assert (step, opened.id) == ("company", draft.id)
    assert space_wizard.open_step(lea, "review")[0] == "company"
    assert space_wizard.open_step(lea, "name")[0] == "name"  # going back is allowed
    space_wizard.save_step(draft, space_wizard.clean_company(COMPANY), done="company")
    assert space_wizard.open_step(lea)[0] == "review"
    app.config["TERMS_VERSION"] = "2099-01"  # new terms, in the middle of the wizard (this test's app only)
    assert space_wizard.open_step(lea, "review") == ("terms", None)
    space_wizard.accept_space_terms(lea)
    assert space_wizard.open_step(lea, "review")[0] == "review"


def test_two_hundred_spaces_per_product_then_the_helpdesk_raises_it(app, runner):
    lea = factories.user("lea")
    product = auth.token_product(lea)
    Space.insert_many(
        [{"kind": "professional", "name": f"E{i}", "created_with": product.id} for i in range(199)]
    ).execute()
    Space.create(kind="professional", name="supprimé", created_with=product, deleted_at=clock_module.now())
    create(lea)  # the 200th; the deleted one does not count
    with pytest.raises(spaces.SpaceLimitReached) as refused:
        create(lea)
    assert refused.value.status == 409 and "Helpdesk" in refused.value.message
    with pytest.raises(spaces.SpaceLimitReached):
        spaces.check_space_limit(auth.token_product(lea))

    result = runner.invoke(args=["set-space-limit", "LEA", "201"])
    assert result.exit_code == 0, result.output
    assert create(lea).name == "Guichet"
    assert runner.invoke(args=["set-space-limit", "nobody", "5"]).exit_code == 1


def test_one_private_space_per_person(app):
    lea = factories.user("lea")
    spaces.create_private_space(lea)
    with pytest.raises(spaces.PrivateSpaceExists):
        spaces.create_private_space(lea)
    assert Space.select().where(Space.kind == "private").count() == 1


# --- Roles ---------------------------------------------------------------------------------


@pytest.fixture
def team(app, clock):
    lea, marc, zoe = (
        factories.user("lea"),
        factories.user("marc", email="marc@example.lu"),
        factories.user("zoe", email="zoe@example.lu"),
    )
    space = factories.space(lea)
    return {
        "space": space,
        "lea": lea,
        "marc": marc,
        "zoe": zoe,
        "admin": spaces.membership_for(lea, space.id),
        "manager": factories.member(space, marc, "manager"),
        "reader": factories.member(space, zoe, "reader"),
    }


def test_non_members_and_deleted_spaces_are_not_found(team):
    stranger = factories.user("eve")
    with pytest.raises(spaces.SpaceNotFound) as refused:
        spaces.membership_for(stranger, team["space"].id)
    assert refused.value.status == 404
    Space.update(deleted_at=clock_module.now()).execute()
    with pytest.raises(spaces.SpaceNotFound):
        spaces.membership_for(team["lea"], team["space"].id)


@pytest.mark.parametrize("role, allowed", [("admin", True), ("manager", False), ("reader", False)])
def test_only_admins_manage_members(team, role, allowed):
    member = spaces.membership_for(
        team[{"admin": "lea", "manager": "marc", "reader": "zoe"}[role]], team["space"].id
    )
    if allowed:
        memberships.invite(member, team["lea"], "new@example.lu", "reader")
    else:
        with pytest.raises(spaces.NotAllowed) as refused:
            memberships.invite(member, team["marc"], "new@example.lu", "reader")
        assert refused.value.status == 403
        with pytest.raises(spaces.NotAllowed):
            memberships.change_role(member, team["marc"], team["reader"].id, "admin")
        with pytest.raises(spaces.NotAllowed):
            memberships.remove_member(member, team["marc"], team["reader"].id)
        with pytest.raises(spaces.NotAllowed):
            spaces.delete_space(member, team["marc"], team["space"].name)
        assert Invitation.select().count() == 0 and Membership.select().count() == 3


def test_role_change_is_notified_and_audited(team):
    memberships.change_role(team["admin"], team["lea"], team["reader"].id, "manager")
    assert Membership.get_by_id(team["reader"].id).role == "manager"
    entry = AuditEntry.get(AuditEntry.action == "space.role_changed")
    assert entry.details == {"user_id": team["zoe"].id, "old": "reader", "new": "manager"}
    from models import OutboxMail

    assert OutboxMail.get(OutboxMail.to == "zoe@example.lu").body_text.count("Gestionnaire") == 1


def test_last_admin_can_neither_leave_nor_be_demoted_nor_removed(team):
    admin = team["admin"]
    with pytest.raises(memberships.LastAdmin):
        memberships.leave(admin, team["lea"])
    with pytest.raises(memberships.LastAdmin):
        memberships.change_role(admin, team["lea"], admin.id, "reader")
    with pytest.raises(memberships.LastAdmin):
        memberships.remove_member(admin, team["lea"], admin.id)
    assert Membership.get_by_id(admin.id).role == "admin"
    memberships.change_role(admin, team["lea"], team["manager"].id, "admin")
    memberships.leave(admin, team["lea"])  # now there is another admin
    assert not Membership.select().where(Membership.user == team["lea"]).exists()


def test_a_member_can_leave_and_a_removed_member_loses_access(team):
    memberships.leave(spaces.membership_for(team["zoe"], team["space"].id), team["zoe"])
    memberships.remove_member(team["admin"], team["lea"], team["manager"].id)
    for person in (team["marc"], team["zoe"]):
        with pytest.raises(spaces.SpaceNotFound):
            spaces.membership_for(person, team["space"].id)


def test_another_space_membership_id_is_not_found(team):
    other = factories.space(factories.user("eve"), name="Autre")
    outsider = Membership.get(space=other)
    with pytest.raises(spaces.SpaceNotFound):
        memberships.change_role(team["admin"], team["lea"], outsider.id, "reader")
    with pytest.raises(spaces.SpaceNotFound):
        memberships.remove_member(team["admin"], team["lea"], outsider.id)
    assert Membership.get_by_id(outsider.id).role == "admin"


def test_two_admins_demoting_each_other_at_once_leave_one_admin(team, app):
    """Two admins demote each other at the same moment, each in its own connection: one
    wins, the other is refused, the space keeps an admin."""
    memberships.change_role(team["admin"], team["lea"], team["manager"].id, "admin")
    db.close()  # each thread opens its own connection
    lea_member = spaces.membership_for(team["lea"], team["space"].id)
    marc_member = spaces.membership_for(team["marc"], team["space"].id)
    db.close()
    barrier = threading.Barrier(2)
    outcomes = []

    def demote(member, actor, target_id):
        with app.test_request_context():
            db.connect(reuse_if_open=True)
            barrier.wait()
            try:
                memberships.change_role(member, actor, target_id, "reader")
                outcomes.append("ok")
            except memberships.LastAdmin:
                outcomes.append("refused")
            finally:
                db.close()

    threads = [
        threading.Thread(target=demote, args=(lea_member, team["lea"], marc_member.id)),
        threading.Thread(target=demote, args=(marc_member, team["marc"], lea_member.id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    db.connect(reuse_if_open=True)
    assert sorted(outcomes) == ["ok", "refused"]
    assert (
        Membership.select().where(Membership.space == team["space"], Membership.role == "admin").count() == 1
    )


# --- Invitations ---------------------------------------------------------------------------


def invitation_token(index=-1):
    import re

    from models import OutboxMail

    mail = list(OutboxMail.select().order_by(OutboxMail.id))[index]
    return re.search(r"/invitations/(\S+)", mail.body_text).group(1)


def test_invitation_is_accepted_once_with_its_role(team):
    newcomer = factories.user("tom", email="Tom@Example.lu")
    memberships.invite(team["admin"], team["lea"], "tom@example.lu", "manager")
    token = invitation_token()
    invitation = memberships.read_invitation(token)
    assert (invitation.email, invitation.role, invitation.space.name) == (
        "tom@example.lu",
        "manager",
        team["space"].name,
    )
    memberships.accept_invitation(newcomer, token)
    assert spaces.membership_for(newcomer, team["space"].id).role == "manager"
    with pytest.raises(links.LinkUsed):
        memberships.accept_invitation(newcomer, token)
    assert Membership.select().where(Membership.user == newcomer).count() == 1


def test_invitation_expires_after_seven_days(team, clock):
    memberships.invite(team["admin"], team["lea"], "tom@example.lu", "reader")
    token = invitation_token()
    clock.advance(days=7)
    assert memberships.read_invitation(token)  # 7 days to the second still works
    clock.advance(seconds=1)
    with pytest.raises(links.LinkExpired):
        memberships.accept_invitation(factories.user("tom", email="tom@example.lu"), token)
    assert memberships.pending_invitations_for(factories.user("tim", email="tom@example.lu")) == []


def test_resend_kills_the_old_link_and_restarts_the_seven_days(team, clock):
    invitation = memberships.invite(team["admin"], team["lea"], "tom@example.lu", "reader")
    old = invitation_token()
    clock.advance(days=6)
    memberships.resend_invitation(team["admin"], team["lea"], invitation.id)
    new = invitation_token()
    with pytest.raises(links.LinkUsed):
        memberships.read_invitation(old)
    clock.advance(days=6)
    memberships.accept_invitation(factories.user("tom", email="tom@example.lu"), new)


def test_revoked_invitation_cannot_be_used(team):
    invitation = memberships.invite(team["admin"], team["lea"], "tom@example.lu", "reader")
    token = invitation_token()
    memberships.revoke_invitation(team["admin"], team["lea"], invitation.id)
    with pytest.raises(links.LinkUsed):
        memberships.accept_invitation(factories.user("tom", email="tom@example.lu"), token)
    with pytest.raises(memberships.InvitationNotValid):
        memberships.revoke_invitation(team["admin"], team["lea"], invitation.id)


def test_invitation_for_another_address_is_refused(team):
    memberships.invite(team["admin"], team["lea"], "tom@example.lu", "admin")
    with pytest.raises(memberships.WrongAccount) as refused:
        memberships.accept_invitation(team["zoe"], invitation_token())
    assert refused.value.status == 403 and "tom@example.lu" in refused.value.message
    assert spaces.membership_for(team["zoe"], team["space"].id).role == "reader"


def test_invitation_waits_in_gerer_mes_espaces_for_a_new_account(team):
    invitation = memberships.invite(team["admin"], team["lea"], "tom@example.lu", "reader")
    unconfirmed = factories.user("tom", email="tom@example.lu", email_confirmed_at=None)
    assert memberships.pending_invitations_for(unconfirmed) == []
    confirmed = factories.user("tom2", email="tom@example.lu")
    assert [i.id for i in memberships.pending_invitations_for(confirmed)] == [invitation.id]
    memberships.accept_my_invitation(confirmed, invitation.id)
    assert spaces.membership_for(confirmed, team["space"].id).role == "reader"


def test_invite_refuses_members_duplicates_and_bad_addresses(team):
    with pytest.raises(spaces.InvalidInput):
        memberships.invite(team["admin"], team["lea"], "marc@example.lu", "reader")
    with pytest.raises(spaces.InvalidInput):
        memberships.invite(team["admin"], team["lea"], "not-an-address", "reader")
    with pytest.raises(spaces.InvalidInput):
        memberships.invite(team["admin"], team["lea"], "tom@example.lu", "owner")
    memberships.invite(team["admin"], team["lea"], "tom@example.lu", "reader")
    with pytest.raises(spaces.InvalidInput):
        memberships.invite(team["admin"], team["lea"], "TOM@example.lu", "reader")
    assert Invitation.select().count() == 1


# --- Delete, restore, purge -------------------------------------------------------------------


def test_delete_needs_the_name_then_restore_within_thirty_days(team, runner, clock):
    with pytest.raises(spaces.InvalidInput):
        spaces.delete_space(team["admin"], team["lea"], "autre nom")
    spaces.delete_space(team["admin"], team["lea"], team["space"].name)
    with pytest.raises(spaces.SpaceNotFound):
        spaces.membership_for(team["marc"], team["space"].id)
    clock.advance(days=30)
    result = runner.invoke(args=["restore-space", str(team["space"].id)])
    assert result.exit_code == 0, result.output
    assert spaces.membership_for(team["marc"], team["space"].id).role == "manager"


def test_restore_is_refused_after_thirty_days_and_purge_removes(team, runner, clock):
    kept = factories.space(team["lea"], name="Gardé")
    spaces.delete_space(team["admin"], team["lea"], team["space"].name)
    clock.advance(days=30, seconds=1)
    result = runner.invoke(args=["restore-space", str(team["space"].id)])
    assert result.exit_code == 1 and "30 jours" in result.output
    result = runner.invoke(args=["purge-deleted"])
    assert result.exit_code == 0 and "1 espace" in result.output
    assert list(Space.select()) == [kept]
    assert not Membership.select().where(Membership.space == team["space"].id).exists()


def test_purge_keeps_recently_deleted_spaces(team, runner, clock):
    spaces.delete_space(team["admin"], team["lea"], team["space"].name)
    clock.advance(days=29)
    assert spaces.purge_deleted() == 0
    assert Space.get_by_id(team["space"].id).deleted_at is not None


# --- Merge -----------------------------------------------------------------------------------


@pytest.fixture
def two_spaces(team):
    lea = team["lea"]
    target = team["space"]
    source = factories.space(lea, name="Source")
    factories.member(source, team["zoe"], "admin")  # zoe is reader in the target: she becomes admin
    factories.member(source, factories.user("tom", email="tom@example.lu"), "manager")
    acd = factories.service()
    return {**team, "source": source, "target": target, "service": acd}


def test_merge_moves_everything_and_archives_the_source(two_spaces):
    source, target, lea = two_spaces["source"], two_spaces["target"], two_spaces["lea"]
    Certification.create(
        space=source, service=two_spaces["service"], kind="holder", company_identifier="B123456"
    )
    VaultEntry.create(space=source, key="iban", label="IBAN", value="LU28 0019 4006 4475 0000")
    VaultEntry.create(space=source, key="phone", label="Téléphone", value="+352 1")
    VaultEntry.create(space=target, key="phone", label="Téléphone", value="+352 2")
    plan = merge.preview(lea, source.id, target.id)
    assert dict((str(label), n) for label, n in plan.moves)["Membres"] == 3
    assert [(c.kind, c.key, c.blocking) for c in plan.conflicts] == [("vault", "phone", False)]

    merge.merge(lea, source.id, target.id, {"vault:phone": "source"})

    roles = {m.user.userid: m.role for m in Membership.select().where(Membership.space == target)}
    assert roles == {"lea": "admin", "marc": "manager", "zoe": "admin", "tom": "manager"}
    assert Certification.get().space_id == target.id
    assert {e.key: e.value for e in VaultEntry.select().where(VaultEntry.space == target)} == {
        "iban": "LU28 0019 4006 4475 0000",
        "phone": "+352 1",
    }
    archived = Space.get_by_id(source.id)
    assert archived.merged_into_id == target.id and not archived.is_live
    assert [s.target.name for s in spaces.archived_spaces(lea)] == [target.name]
    assert AuditEntry.get(AuditEntry.action == "space.merged").details["source_id"] == source.id


def test_merge_moves_the_dossiers_with_their_thread_files_history_and_receipts(two_spaces):
    source, target, lea = two_spaces["source"], two_spaces["target"], two_spaces["lea"]
    tom = User.get(User.userid == "tom")
    dossier = factories.dossier(source, status="submitted", reference="ACD-2026-000001")
    message = dossiers.add_message(dossier, "Bonjour", user=tom)
    dossiers.record_event(dossier, "submitted", user=tom)
    pdf = dict(content_type="application/pdf", size=4, sha256="0" * 64, content=b"%PDF")
    DossierFile.create(dossier=dossier, message=message, name="pv.pdf", **pdf)
    Receipt.create(dossier=dossier, number=1, signer="Tom", data_sha256="1" * 64, pdf=b"%PDF", pdf_sha256="")
    # A fiduciary filed one for the company in the source space, its mandant's holder space.
    fiduciary = factories.space(factories.user("fiona"), name="Fiduciaire", identifier="B222222")
    filed_for = factories.dossier(fiduciary, mandant_space=source)
    stays = factories.dossier(target)
    before = Dossier.get_by_id(dossier.id)
    plan = merge.preview(lea, source.id, target.id)
    assert dict((str(label), n) for label, n in plan.moves)["Dossiers"] == 2

    merge.merge(lea, source.id, target.id)

    moved = Dossier.get_by_id(dossier.id)
    assert moved.space_id == target.id
    assert (moved.updated_at, moved.version) == (before.updated_at, before.version)
    assert Dossier.get_by_id(filed_for.id).space_id == fiduciary.id
    assert Dossier.get_by_id(filed_for.id).mandant_space_id == target.id
    member = spaces.membership_for(lea, target.id)
    found = dossiers.dossier_for(member, dossier.id)
    assert [m.body for m in dossiers.thread(found)[0]] == ["Bonjour"]
    assert [e.action for e in dossiers.history(found)] == ["submitted"]
    assert [f.name for f in found.files] == ["pv.pdf"] and [r.number for r in found.receipts] == [1]
    rows, total = dossiers.listing(member)
    assert total == 3 and {d.id for d in rows} == {dossier.id, filed_for.id, stays.id}
    assert AuditEntry.get(AuditEntry.action == "space.merged").details["moved"]["dossiers"] == 2


def test_merge_is_refused_on_holder_certifications_for_the_same_service(two_spaces):
    source, target = two_spaces["source"], two_spaces["target"]
    for space in (source, target):
        Certification.create(space=space, service=two_spaces["service"], kind="holder")
    plan = merge.preview(two_spaces["lea"], source.id, target.id)
    assert len(plan.blocking) == 1 and "Fiches de retenue" in plan.blocking[0].label
    with pytest.raises(merge.MergeRefused) as refused:
        merge.merge(two_spaces["lea"], source.id, target.id)
    assert refused.value.status == 409
    assert Space.get_by_id(source.id).is_live
    assert Certification.select().where(Certification.space == source).count() == 1


def test_merge_is_refused_between_spaces_of_two_companies(two_spaces):
    """A holder code is "destiné à être utilisé dans un espace professionnel de la
    personne morale elle-même"; merging another company's space would move its holder
    certification to the wrong company."""
    source, target, lea = two_spaces["source"], two_spaces["target"], two_spaces["lea"]
    Space.update(identifier="B654321", company_name="Autre SA").where(Space.id == source.id).execute()
    Certification.create(
        space=source, service=two_spaces["service"], kind="holder", company_identifier="B654321"
    )
    plan = merge.preview(lea, source.id, target.id)
    [company] = plan.blocking
    assert company.kind == "company"
    assert (
        "B654321" in company.label
        and "B123456" in company.label
        and "entreprises différentes" in company.label
    )
    with pytest.raises(merge.MergeRefused) as refused:
        merge.merge(lea, source.id, target.id)
    assert refused.value.status == 409 and "entreprises différentes" in refused.value.message
    assert Space.get_by_id(source.id).is_live and Space.get_by_id(source.id).merged_into_id is None
    assert Certification.get().space_id == source.id
    assert Membership.select().where(Membership.space == target).count() == 3


@pytest.mark.parametrize(
    "source_identifier,target_identifier,refused",
    [
        ("B654321", "b 654321", False),  # the same number, written differently
        ("732829320", "732 829 320", False),
        ("B123456", "732829320", True),  # RCS and SIREN: two companies
        ("", "B123456", False),  # a space without an identifier says nothing about its company
        ("B123456", "", False),
    ],
)
def test_merge_compares_normalised_identifiers(two_spaces, source_identifier, target_identifier, refused):
    source, target, lea = two_spaces["source"], two_spaces["target"], two_spaces["lea"]
    Space.update(identifier=source_identifier).where(Space.id == source.id).execute()
    Space.update(identifier=target_identifier).where(Space.id == target.id).execute()
    assert bool(merge.preview(lea, source.id, target.id).blocking) is refused


def test_a_holder_certification_never_moves_into_a_space_that_names_no_company(two_spaces):
    source, target, lea = two_spaces["source"], two_spaces["target"], two_spaces["lea"]
    Space.update(identifier="").where(Space.id == target.id).execute()
    assert merge.preview(lea, source.id, target.id).blocking == []  # nothing of a company moves yet
    Certification.create(
        space=source, service=two_spaces["service"], kind="holder", company_identifier="B123456"
    )
    [holders] = merge.preview(lea, source.id, target.id).blocking
    assert holders.kind == "company" and "B123456" in holders.label and "titulaire" in holders.label
    with pytest.raises(merge.MergeRefused):
        merge.merge(lea, source.id, target.id)
    assert Certification.get().space_id == source.id and Space.get_by_id(source.id).is_live


def test_merge_needs_admin_of_both_professional_spaces(two_spaces):
    source, target = two_spaces["source"], two_spaces["target"]
    with pytest.raises(spaces.NotAllowed):  # zoe is admin of the source, reader in the target
        merge.merge(two_spaces["zoe"], source.id, target.id)
    with pytest.raises(spaces.SpaceNotFound):
        merge.merge(two_spaces["marc"], source.id, target.id)
    with pytest.raises(merge.MergeRefused):
        merge.merge(two_spaces["lea"], target.id, target.id)
    private = spaces.create_private_space(two_spaces["lea"])
    with pytest.raises(merge.MergeRefused):
        merge.merge(two_spaces["lea"], private.id, target.id)
    assert Space.get_by_id(source.id).is_live


def test_merge_is_all_or_nothing(two_spaces, monkeypatch):
    source, target = two_spaces["source"], two_spaces["target"]
    VaultEntry.create(space=source, key="iban", value="x")

    def fail(source_id, target_id, resolutions):
        raise RuntimeError("disk full")

    monkeypatch.setitem(merge.MOVERS, "zz-failing", merge.Mover("zz-failing", "x", lambda s: 0, fail))
    with pytest.raises(RuntimeError):
        merge.merge(two_spaces["lea"], source.id, target.id)
    assert Space.get_by_id(source.id).is_live
    assert VaultEntry.get().space_id == source.id
    assert Membership.select().where(Membership.space == target).count() == 3
    assert not AuditEntry.select().where(AuditEntry.action == "space.merged").exists()


def test_every_model_owning_space_rows_has_a_mover():
    """A model with a foreign key to Space must say how it moves in a merge (or be one of
    the space's own bookkeeping tables)."""
    from models import MODELS

    own = {"Space", "SpaceDraft", "ImpotsSignup"}  # a signup names the space it created: history
    movers = {
        "Adhesion": "adhesions",
        "Membership": "members",
        "Invitation": "invitations",
        "Certification": "certifications",
        "VaultEntry": "vault",
        "AccessCode": "mandates",
        "Mandate": "mandates",
        "CertificationRequest": "requests",
        "Dossier": "dossiers",
        "CommunicationRecipient": "communications",
        "CommunicationRead": "communications",
    }
    for model in MODELS:
        points_to_space = any(getattr(f, "rel_model", None) is Space for f in model._meta.fields.values())
        if points_to_space and model.__name__ not in own:
            assert movers.get(model.__name__) in merge.MOVERS, f"{model.__name__} has no merge mover"


# --- Found in review -------------------------------------------------------------------------


def test_a_private_space_is_not_collaborative(app):
    lea, eve = factories.user("lea"), factories.user("eve", email="eve@example.lu")
    private = spaces.create_private_space(lea)
    member = spaces.membership_for(lea, private.id)
    assert not spaces.can(member, "manage_members")
    with pytest.raises(spaces.NotCollaborative):
        memberships.invite(member, lea, "eve@example.lu", "admin")
    intruder = factories.member(private, eve, "admin")  # even if one got in somehow
    with pytest.raises(spaces.NotCollaborative):
        memberships.remove_member(spaces.membership_for(eve, private.id), eve, member.id)
    with pytest.raises(spaces.NotCollaborative):
        memberships.change_role(spaces.membership_for(eve, private.id), eve, member.id, "reader")
    assert Membership.get_by_id(member.id).role == "admin" and intruder.id


def test_can_and_require_know_what_a_private_space_cannot_do(app):
    lea = factories.user("lea")
    member = spaces.membership_for(lea, spaces.create_private_space(lea).id)
    refusals = {
        "manage_members": spaces.NotCollaborative,
        "leave": spaces.PrivateSpaceNotLeft,
        "manage_certifications": spaces.ProfessionalOnly,
        "manage_mandates": spaces.ProfessionalOnly,
        "edit_vault": spaces.ProfessionalOnly,
    }
    for action, refusal in refusals.items():
        assert not spaces.can(member, action), action  # the admin of the space, yet not here
        with pytest.raises(refusal):
            spaces.require(member, action)
    for action in ("read", "run_procedures", "edit_profile", "delete"):
        assert spaces.can(member, action), action
        spaces.require(member, action)
    with pytest.raises(spaces.PrivateSpaceNotLeft) as refused:
        memberships.leave(member, lea)
    assert refused.value.status == 422 and "supprimer" in refused.value.message
    assert Membership.select().where(Membership.id == member.id).exists()


def test_purging_a_merge_target_takes_its_archived_sources_along(two_spaces, clock):
    source, target, lea = two_spaces["source"], two_spaces["target"], two_spaces["lea"]
    merge.merge(lea, source.id, target.id)
    spaces.delete_space(spaces.membership_for(lea, target.id), lea, target.name)
    clock.advance(days=31)
    assert spaces.purge_deleted() == 2
    assert not Space.select().where(Space.id.in_([source.id, target.id])).exists()
    with pytest.raises(spaces.SpaceNotFound):  # tom was in the source only
        spaces.membership_for(User.get(User.userid == "tom"), source.id)


def test_a_forged_merge_choice_is_ignored(two_spaces):
    source, target, lea = two_spaces["source"], two_spaces["target"], two_spaces["lea"]
    VaultEntry.create(space=target, key="iban", value="LU1")
    merge.merge(lea, source.id, target.id, {"vault:iban": "source", "vault:nothing": "source"})
    assert VaultEntry.get(VaultEntry.space == target, VaultEntry.key == "iban").value == "LU1"


def test_restore_respects_the_space_limit(app, runner):
    lea = factories.user("lea")
    AuthProductModel = auth.token_product(lea).__class__
    AuthProductModel.update(space_limit=1).execute()
    first = create(lea)
    spaces.delete_space(spaces.membership_for(lea, first.id), lea, first.name)
    create(lea, name="Second")
    result = runner.invoke(args=["restore-space", str(first.id)])
    assert result.exit_code == 1 and "limite" in result.output
    assert Space.get_by_id(first.id).deleted_at is not None


def test_creation_asks_again_for_terms_changed_during_the_wizard(app):
    lea = factories.user("lea")
    draft = finished_draft(lea)
    app.config["TERMS_VERSION"] = "2099-01"  # this test's app only
    with pytest.raises(space_wizard.TermsNotAccepted):
        space_wizard.create_professional_space(lea, auth.token_product(lea), draft.id)
    assert Space.select().count() == 0 and SpaceDraft.select().count() == 1
