"""The demo catalogue (SPEC §4) loaded by seed-demo, and the home page's query budget."""
from helpers import assert_constant_queries
from models import Administration, NewsItem, Service

import factories


def test_seed_demo_loads_the_spec_catalogue_idempotently(runner):
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    services = {s.slug: s for s in Service.select()}
    assert {a.code for a in Administration.select()} >= {"ACD", "ITM", "ALVA", "LBR"}
    assert services["fiches-retenue"].administration.code == "ACD" and services["fiches-retenue"].accepts_code
    assert services["elections-sociales"].administration.code == "ITM"
    assert services["securite-alimentaire"].accepts_request and not services["securite-alimentaire"].accepts_code
    assert services["sources-authentiques"].requires_certification
    assert "fiches de retenue" in Administration.get(code="ACD").certification_text
    assert NewsItem.select().count() == 3


def test_home_page_query_count_does_not_grow(client):
    acd = factories.administration()

    def grow(n):
        for i in range(Service.select().count(), n):
            factories.service(acd, slug=f"service-{i}", name=f"Service {i}")
            factories.news(f"Nouvelle {i}")

    assert assert_constant_queries(client, "/", grow, small=3, large=40) <= 4
