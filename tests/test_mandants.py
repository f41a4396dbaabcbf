"""Filing pour le compte de a mandant: the mandant's list names the mandatary that filed;
when the mandate ends, the mandatary's dossiers for that company are read-only at once and
hidden from it 30 days later, while the mandant's space keeps them."""

from datetime import timedelta

import pytest

import factories
from helpers import count_queries
from models import OutboxMail
from services import dossiers, mandates, spaces

pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def guichet(app, clock):
    """Léa administers Guichet SARL's holder space, certified for the fiches de retenue."""
    factories.procedure()
    return factories.certified_member()


@pytest.fixture
def fiduciary(guichet):
    """Fiona's fiduciary space holds Guichet SARL's mandate and has filed a draft with it."""
    fiona = factories.user("fiona")
    space = factories.space(fiona, name="Fiduciaire Fiona", company_name="Fidu SA", identifier="B222222")
    member = spaces.membership_for(fiona, space.id)
    certification = factories.taken_up_mandate(guichet, member)
    dossier = dossiers.start(member, fiona, "acd-essai", mandate_id=certification.id)
    return member, certification, dossier


def line(member, dossier):
    """The dossier's row of the member's list, or None when the list does not show it."""
    rows, _total = dossiers.listing(member)
    return next((row for row in rows if row.id == dossier.id), None)


def revoke(guichet, certification):
    mandate = mandates.mandate_of_certification(certification)
    mandates.revoke_mandate(guichet, guichet.user, mandate.id)


def test_the_mandants_list_names_the_mandatary_that_filed(guichet, fiduciary):
    member, _certification, dossier = fiduciary
    own = factories.dossier(guichet.space)
    assert (line(guichet, dossier).filed_by, line(guichet, dossier).mandate_ended) == (
        "Fiduciaire Fiona",
        False,
    )
    assert (line(guichet, own).filed_by, line(guichet, own).mandate_ended) == ("", False)
    assert (line(member, dossier).filed_by, line(member, dossier).mandate_ended) == ("", False)


def test_the_mandant_finds_the_dossiers_by_the_mandatary_that_filed_them(guichet, fiduciary):
    member, _certification, dossier = fiduciary
    factories.dossier(guichet.space)
    assert [d.id for d in dossiers.listing(guichet, query="Fiona")[0]] == [dossier.id]
    assert dossiers.listing(member, query=member.space.name)[1] == 0  # its own name names nothing


def test_a_revoked_mandate_makes_the_mandatarys_dossiers_read_only_at_once(guichet, fiduciary):
    member, certification, dossier = fiduciary
    own = factories.dossier(member.space)
    revoke(guichet, certification)
    assert line(member, dossier).mandate_ended and line(guichet, dossier).mandate_ended
    assert not line(member, own).mandate_ended
    assert dossiers.dossier_for(member, dossier.id).id == dossier.id
    for action in ("edit", "message"):
        with pytest.raises(dossiers.MandateEnded) as refused:
            dossiers.dossier_for(member, dossier.id, action)
        assert refused.value.status == 403
    assert dossiers.dossier_for(member, own.id, "edit").id == own.id


def test_an_expired_mandate_does_the_same(guichet, fiduciary, clock):
    member, certification, dossier = fiduciary
    clock.set_now(certification.ends_at - timedelta(seconds=1))
    assert not line(member, dossier).mandate_ended
    clock.set_now(certification.ends_at)
    assert line(member, dossier).mandate_ended
    with pytest.raises(dossiers.MandateEnded):
        dossiers.dossier_for(member, dossier.id, "edit")


@pytest.mark.parametrize("end", ["revoked", "expired"])
def test_30_days_after_the_mandate_ended_the_mandatary_no_longer_sees_the_dossier(
    guichet, fiduciary, clock, end
):
    member, certification, dossier = fiduciary
    own = factories.dossier(member.space)
    if end == "revoked":
        revoke(guichet, certification)
    else:
        clock.set_now(certification.ends_at)
    clock.advance(days=30, seconds=-1)
    assert line(member, dossier) is not None
    clock.advance(seconds=1)
    assert line(member, dossier) is None
    assert dossiers.listing(member)[1] == 1  # its own dossier only
    assert line(member, own) is not None
    with pytest.raises(dossiers.DossierNotFound) as refused:
        dossiers.dossier_for(member, dossier.id)
    assert refused.value.status == 404
    # The mandant's space keeps it, with who filed it.
    assert line(guichet, dossier).filed_by == "Fiduciaire Fiona"
    assert dossiers.dossier_for(guichet, dossier.id).id == dossier.id


def test_the_mandatary_gets_no_mail_about_a_dossier_it_no_longer_sees(guichet, fiduciary, clock):
    member, certification, dossier = fiduciary
    revoke(guichet, certification)
    OutboxMail.delete().execute()
    dossiers.notify_members(dossier, "Votre dossier a changé", "Le statut de votre dossier a changé.")
    assert {m.to for m in OutboxMail.select()} == {"lea@example.lu", "fiona@example.lu"}  # read-only yet
    OutboxMail.delete().execute()
    clock.advance(days=30)
    dossiers.notify_members(dossier, "Votre dossier a changé", "Le statut de votre dossier a changé.")
    assert [m.to for m in OutboxMail.select()] == ["lea@example.lu"]


def test_what_a_line_shows_costs_no_query_per_row(guichet, fiduciary):
    member, certification, _dossier = fiduciary
    for _ in range(5):
        dossiers.start(member, member.user, "acd-essai", mandate_id=certification.id)
        factories.dossier(member.space)
    for viewer in (guichet, member):
        with count_queries() as queries:
            rows, total = dossiers.listing(viewer)
            shown = [
                (r.filed_by, r.mandate_ended, r.procedure.title, r.procedure.administration.code)
                for r in rows
            ]
        assert len(shown) == total and queries.count == 3, queries.statements
