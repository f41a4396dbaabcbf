"""A fiduciary files thousands: its list (searched, filtered, paged), its mandants' lists and
a dossier's history and thread run as many queries at 10 dossiers as at 10,000."""

import pytest

import factories
from helpers import count_queries, log_in
from models import DossierMessage, User, db
from services import dossiers, spaces

pytestmark = pytest.mark.usefixtures("request_context")

SMALL, LARGE = 10, 10_000


@pytest.fixture
def fiduciary(app, clock):
    """Fiona's fiduciary space, certified for the fiches de retenue itself, holds the mandates
    of three client companies."""
    fiona = factories.user("fiona")
    space = factories.space(fiona, name="Fiduciaire Fiona", company_name="Fidu SA", identifier="B222222")
    factories.procedure()
    factories.holder_certification(space)
    member = spaces.membership_for(fiona, space.id)
    return member, factories.client_companies(member)


def queries(call):
    with count_queries() as counted:
        call()
    return counted.count


def shown(rows_total):
    """Everything a line of the list shows, as the template reads it."""
    rows, total = rows_total
    return total, [
        (row.reference, row.company_name, row.status, row.procedure.title, row.procedure.administration.code)
        + (row.filed_by, row.mandate_ended, row.updated_at)
        for row in rows
    ]


def lists(member, mandant):
    return {
        "list": lambda: shown(dossiers.listing(member)),
        "search": lambda: shown(dossiers.listing(member, query="Client 1")),
        "status": lambda: shown(dossiers.listing(member, status="submitted")),
        "page": lambda: shown(dossiers.listing(member, page=3)),
        "search and status": lambda: shown(dossiers.listing(member, query="SCL-2026", status="accepted")),
        "the mandant's list": lambda: shown(dossiers.listing(mandant)),
        "the mandant's search": lambda: shown(dossiers.listing(mandant, query="Client 0")),
    }


def test_the_lists_run_the_same_queries_at_10_and_10000_dossiers(fiduciary):
    member, mandates = fiduciary
    mandant = spaces.membership_for(User.get(userid="client0"), mandates[0].access_code.issued_by_space_id)
    factories.many_dossiers(member.space, SMALL, mandates)
    small = {name: queries(call) for name, call in lists(member, mandant).items()}
    assert factories.many_dossiers(member.space, LARGE - SMALL, mandates) == LARGE
    large = {name: queries(call) for name, call in lists(member, mandant).items()}
    assert small == large and set(large.values()) == {3}

    # and they are the right rows: a quarter each for the fiduciary and its three clients
    assert dossiers.listing(member)[1] == LARGE
    rows, total = dossiers.listing(mandant)
    assert total == LARGE // 4 and {row.filed_by for row in rows} == {"Fiduciaire Fiona"}
    rows, total = dossiers.listing(member, query="Client 1", status="accepted")
    assert total > 0 and {(row.company_name, row.status) for row in rows} == {("Client 1 SA", "accepted")}
    assert len(dossiers.listing(member, page=3)[0]) == dossiers.PAGE_SIZE


def test_a_dossiers_history_and_thread_run_the_same_queries_at_10_and_10000_dossiers(fiduciary):
    member, mandates = fiduciary
    dossier = dossiers.start(member, member.user, "acd-essai", mandate_id=mandates[0].id)
    with db.atomic():
        for i in range(3):
            dossiers.add_message(dossier, f"Message {i}", user=member.user)
            dossiers.record_event(dossier, "message", user=member.user)

    def calls():
        found = dossiers.dossier_for(member, dossier.id, "edit")
        return {
            "dossier": lambda: dossiers.dossier_for(member, dossier.id, "edit"),
            "history": lambda: [event.actor for event in dossiers.history(found)],
            "thread": lambda: [message.body for message in dossiers.thread(found)[0]],
        }

    factories.many_dossiers(member.space, SMALL, mandates)
    small = {name: queries(call) for name, call in calls().items()}
    factories.many_dossiers(member.space, LARGE - SMALL, mandates)
    large = {name: queries(call) for name, call in calls().items()}
    assert small == large


def test_a_thread_page_runs_the_same_queries_at_10_and_1000_messages(fiduciary):
    member, _mandates = fiduciary
    dossier = factories.dossier(member.space, status="submitted")

    def grow(n):
        have = DossierMessage.select().where(DossierMessage.dossier == dossier.id).count()
        rows = [{"dossier": dossier.id, "author": "Fiona", "body": f"Message {i}"} for i in range(have, n)]
        with db.atomic():
            for batch in range(0, len(rows), 500):
                DossierMessage.insert_many(rows[batch : batch + 500]).execute()

    counts = {}
    for n in (SMALL, 1_000):
        grow(n)
        counts[n] = queries(lambda: [m.body for m in dossiers.thread(dossier, page=2)[0]])
    assert counts[SMALL] == counts[1_000] == 2


def test_the_space_home_page_runs_the_same_queries_at_10_and_10000_dossiers(client, fiduciary):
    """Mes démarches, the fiduciary's and its client's, listed, searched and paged."""
    member, mandates = fiduciary
    pages = [
        (member.user, f"/espaces/{member.space_id}{query}") for query in ("", "?q=Client+0", "?page=3")
    ] + [(User.get(userid="client0"), f"/espaces/{mandates[0].access_code.issued_by_space_id}")]

    def budgets():
        counts = {}
        for person, url in pages:
            log_in(client, person)
            with count_queries() as counted:
                response = client.get(url)
            assert response.status_code == 200, url
            counts[url] = counted.count
        return counts, response.get_data(as_text=True)

    factories.many_dossiers(member.space, SMALL, mandates)
    small, _body = budgets()
    factories.many_dossiers(member.space, LARGE - SMALL, mandates)
    large, mandant_home = budgets()
    assert small == large
    assert "déposé par Fiduciaire Fiona (mandataire)" in mandant_home and "Page 1 sur 50" in mandant_home
