"""The demo catalogue loaded by seed-demo (and by every `make run`), and the home
page's query budget."""

import os
import subprocess
from pathlib import Path

import factories
from helpers import assert_constant_queries
from models import Administration, NewsItem, Service


def test_seed_demo_loads_the_spec_catalogue_idempotently(runner):
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    services = {s.slug: s for s in Service.select()}
    assert {a.code for a in Administration.select()} >= {"ACD", "ITM", "ALVA", "LBR"}
    assert services["fiches-retenue"].administration.code == "ACD" and services["fiches-retenue"].accepts_code
    assert services["elections-sociales"].administration.code == "ITM"
    assert (
        services["securite-alimentaire"].accepts_request and not services["securite-alimentaire"].accepts_code
    )
    assert services["sources-authentiques"].requires_certification
    assert "fiches de retenue" in Administration.get(code="ACD").certification_text
    assert NewsItem.select().count() == 3


def catalogue_rows():
    return [list(model.select().order_by(model.id).dicts()) for model in (Administration, Service, NewsItem)]


def test_seed_demo_again_changes_nothing(runner):
    """Seeding adds what the database lacks and leaves what is there, edits included: `make
    run` seeds on every start."""
    assert "administrations : 5, services : 8" in runner.invoke(args=["seed-demo"]).output
    Administration.update(name="ACD (nom modifié par le helpdesk)").where(
        Administration.code == "ACD"
    ).execute()
    before = catalogue_rows()
    again = runner.invoke(args=["seed-demo"])
    assert catalogue_rows() == before
    assert again.exit_code == 0 and "éléments ajoutés : 0." in again.output


ROOT = Path(__file__).resolve().parent.parent


def test_make_run_loads_the_catalogue_into_every_new_database(tmp_path):
    """`make run` on the same checkout with another DATABASE_URL: the new database gets the
    catalogue too (what the Makefile runs before serving, run for real on two databases)."""
    outside_make = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}  # as typed in a shell
    recipe = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.runtime", "run"],
        cwd=ROOT,
        env=outside_make,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    setup = [line for line in recipe if " --app app run " not in line]  # all but the server itself
    for name in ("first.db", "second.db"):
        url = f"sqlite:///{tmp_path / name}"
        env = {
            **outside_make,
            "DATABASE_URL": url,
            "ESPACE_INSTANCE_DIR": str(tmp_path),
            "SECRET_KEY": "x" * 32,
        }
        for line in setup:
            subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, check=True, capture_output=True)
        check = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-c", COUNT_ADMINISTRATIONS, url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert check.stdout.strip() == "5", name


COUNT_ADMINISTRATIONS = (
    "import sqlite3, sys; print(sqlite3.connect(sys.argv[1][10:]).execute("
    "'SELECT COUNT(*) FROM administration').fetchone()[0])"
)


def test_home_page_query_count_does_not_grow(client):
    acd = factories.administration()

    def grow(n):
        for i in range(Service.select().count(), n):
            factories.service(acd, slug=f"service-{i}", name=f"Service {i}")
            factories.news(f"Nouvelle {i}")

    assert assert_constant_queries(client, "/", grow, small=3, large=40) <= 4
