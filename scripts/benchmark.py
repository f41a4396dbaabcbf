"""Time the pages that grow with the data, on a throwaway SQLite database (or DATABASE_URL).

    .venv/bin/python scripts/benchmark.py [--spaces 250] [--members 2000] [--runs 20]

Builds one person in many spaces and one space with many members, then prints for each
page the median time and the number of SQL statements. The bar: well under 100 ms
on the embedded default, and a statement count that does not grow with the rows.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from peewee import Value  # noqa: E402

import clock  # noqa: E402
from app import create_app  # noqa: E402
from helpers import count_queries, log_in  # noqa: E402
from migrations import upgrade  # noqa: E402
from models import Membership, Space, User, db  # noqa: E402


def build(spaces, members):
    import factories

    lea = factories.user("lea")
    product = lea.auth_products.get()
    rows = [
        {
            "kind": "professional",
            "name": f"Client {i:04d}",
            "company_name": f"Société {i:04d} SARL",
            "identifier": f"B{100000 + i}",
            "created_with": product.id,
        }
        for i in range(spaces)
    ]
    with db.atomic():
        for start in range(0, len(rows), 500):
            Space.insert_many(rows[start : start + 500]).execute()
        now = Value(clock.now(), converter=Membership.joined_at.db_value)
        fields = [Membership.space, Membership.user, Membership.role, Membership.joined_at]
        Membership.insert_from(Space.select(Space.id, lea.id, "admin", now), fields).execute()
        big = Space.select().order_by(Space.id).first()
        people = [
            {
                "userid": f"u{i}",
                "userid_key": f"u{i}",
                "first_name": "Jean",
                "last_name": f"N{i:05d}",
                "email": f"u{i}@example.lu",
            }
            for i in range(members)
        ]
        for start in range(0, len(people), 500):
            User.insert_many(people[start : start + 500]).execute()
        Membership.insert_from(
            User.select(big.id, User.id, "reader", now).where(User.userid != "lea"), fields
        ).execute()
    return lea, big


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", type=int, default=250)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app({"ESPACE_ENV": "test", "DATABASE_URL": url})
    with app.app_context(), app.test_request_context():
        db.connect(reuse_if_open=True)
        upgrade()
        lea, big = build(args.spaces, args.members)
        client = log_in(app.test_client(), lea)
        print(f"{args.spaces} spaces, {args.members} members in one space, {url.split('@')[-1]}")
        print(f"{'page':45} {'median ms':>10} {'queries':>8}")
        for page in (
            "/espaces",
            "/espaces/changer",
            "/espaces/changer?q=0042",
            "/espaces/fusionner",
            f"/espaces/{big.id}",
            f"/espaces/{big.id}/utilisateurs",
            f"/espaces/{big.id}/utilisateurs?page=20",
        ):
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                with count_queries() as queries:
                    response = client.get(page)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (page, response.status_code)
            print(f"{page:45} {statistics.median(times):10.1f} {queries.count:8d}")


if __name__ == "__main__":
    main()
