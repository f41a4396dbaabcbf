"""Redeem one access code from many clients at once over HTTP: exactly one must succeed and
every other be refused cleanly (the code's refusal, never a 5xx nor a throttling wait).

    DATABASE_URL=… SECRET_KEY=… .venv/bin/python scripts/redeem_race.py http://127.0.0.1:8000 [--clients 100]

Run it with the server's own environment (`ESPACE_ENV`, `DATABASE_URL`, `SECRET_KEY`), after
`seed-demo` (the ACD's fiches de retenue): it makes, in that database, one person per client
(UserIDs `race.<tag>.<n>`), each administering a professional space of the same new company,
and issues one holder code for that company (as `issue-code` does). Each client logs in
over HTTP (password and one-time code) and opens the page of the code's form; then all
post the code at the same moment. Prints a summary; exits 1 unless one redemption succeeded
and every other got the refusal of a used code. `scripts/probe.sh` runs it against gunicorn
with 4 workers on a throwaway PostgreSQL cluster, and `make bench` does too.
"""

import argparse
import html
import re
import secrets
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import pyotp  # noqa: E402
from flask import current_app  # noqa: E402
from probe import Client, otp  # noqa: E402

import clock  # noqa: E402
from app import create_app  # noqa: E402
from models import AccessCode, AuthProduct, Certification, Membership, Space, User, db  # noqa: E402
from services import access_codes, auth, crypto  # noqa: E402

PASSWORD = "une phrase de passe pour la course"
ADMINISTRATION, SERVICE = "ACD", "fiches-retenue"
USED = str(access_codes.InvalidCode.message)  # a used code is refused as any invalid one


def make_people(app, tag, count, identifier):
    """`count` registered people with a Token (password PASSWORD), each administering a
    professional space of the company `identifier`: (userid, TOTP secret, space id) each."""
    with app.app_context(), app.test_request_context():
        db.connect(reuse_if_open=True)
        now = clock.now()
        password_hash = auth.hash_password(PASSWORD)  # one argon2 hash for all: they are many
        people = []
        with db.atomic():
            for number in range(count):
                userid = f"race.{tag}.{number}"
                person = User.create(
                    userid=userid,
                    userid_key=userid.lower(),
                    first_name="Course",
                    last_name=f"Concurrent {number}",
                    email=f"{userid}@example.lu",
                    street="1, rue de la Course",
                    postcode="L-1000",
                    city="Luxembourg",
                    registered_at=now,
                    email_confirmed_at=now,
                    terms_version=current_app.config["TERMS_VERSION"],
                    terms_accepted_at=now,
                )
                secret = pyotp.random_base32(32)
                product = AuthProduct.create(
                    user=person,
                    password_hash=password_hash,
                    totp_secret_encrypted=crypto.encrypt("totp", secret),
                    secret_image="voilier",
                    enrolled_at=now,
                )
                space = Space.create(
                    kind="professional",
                    name=f"Course {number}",
                    created_by=person,
                    created_with=product,
                    company_name="Course SA",
                    legal_form="SA",
                    identifier_kind="rcs",
                    identifier=identifier,
                    street="1, rue de la Course",
                    postcode="L-1000",
                    city="Luxembourg",
                    country="Luxembourg",
                )
                Membership.create(space=space, user=person, role="admin")
                people.append((userid, secret, space.id))
        db.close()
    return people


def issue_holder_code(app, identifier):
    """The holder code of SERVICE for the company, as `issue-code` makes it."""
    with app.app_context(), app.test_request_context():
        db.connect(reuse_if_open=True)
        _access_code, code = access_codes.issue_code(
            ADMINISTRATION,
            SERVICE,
            identifier,
            "holder",
            company_name="Course SA",
            address_lines=("1, rue de la Course", "L-1000 Luxembourg"),
        )
        db.close()
    return code


def ready_client(base, userid, secret, space_id):
    """A client logged in as `userid`, on the page of the code's form (its CSRF token kept)."""
    client = Client(base)
    client.post("/connexion/token", {"userid": userid})
    client.post("/connexion/token/mot-de-passe", {"password": PASSWORD})
    status, _headers, _text = client.post("/connexion/token/otp", {"otp": otp(secret)})
    if status not in (302, 303):
        raise SystemExit(f"{userid} could not log in ({status})")
    client.token = None
    status, _headers, _text = client.get(gestion_path(space_id))
    if status != 200 or client.token is None:
        raise SystemExit(f"{userid}: no code form at {gestion_path(space_id)} ({status})")
    return client


def gestion_path(space_id):
    return f"/espaces/{space_id}/certifications/administrations/{ADMINISTRATION}"


def outcome(status, text):
    """What an answer says: "success" (the redirect to the page that confirms it), "used" (the
    code's refusal), or what else it was."""
    if status == 303:
        return "success"
    if status >= 500:
        return f"{status} server error"
    if status in (200, 422) and USED in html.unescape(text):
        return "used"
    found = re.search(r'role="alert"[^>]*>\s*([^<]+)', text)
    return f"{status} {html.unescape(found.group(1)).strip() if found else 'other'}"


def race(base, people, code):
    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda person: (ready_client(base, *person), person[2]), people))
    barrier = threading.Barrier(len(clients))

    def redeem(client_and_space):
        client, space_id = client_and_space
        barrier.wait()
        try:
            status, _headers, text = client.request(
                "POST", gestion_path(space_id) + "/code", {"code": code, "csrf_token": client.token}
            )
        except OSError as error:  # refused, reset or timed out: the server did not answer
            return f"no answer ({type(error).__name__})"
        return outcome(status, text)

    with ThreadPoolExecutor(len(clients)) as pool:
        return Counter(pool.map(redeem, clients))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the running server, e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--clients", type=int, default=100, help="how many clients redeem at once (default 100)"
    )
    args = parser.parse_args()
    if args.clients < 2:
        parser.error("--clients must be at least 2")
    app = create_app()
    identifier = f"B{secrets.randbelow(900_000) + 100_000}"
    people = make_people(app, secrets.token_hex(3), args.clients, identifier)
    code = issue_holder_code(app, identifier)
    outcomes = race(args.url.rstrip("/"), people, code)
    with app.app_context():
        db.connect(reuse_if_open=True)
        certified = (
            Certification.select().join(AccessCode).where(AccessCode.company_identifier == identifier).count()
        )
        db.close()
    print(
        f"{args.clients} concurrent redemptions of one code: "
        + ", ".join(f"{n} {o}" for o, n in outcomes.most_common())
    )
    print(f"certifications made with the code: {certified}")
    ok = outcomes == Counter({"success": 1, "used": args.clients - 1}) and certified == 1
    print("ok" if ok else "FAIL: expected exactly 1 success and every other refused as a used code")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
