"""Logins and signatures under load: many people log in at once over HTTP (each password
checked by argon2), then sign a dossier each at the same moment (Vérifier et signer: a
one-time code checked, the PDF receipt made and signed), while a page of the app is read in a
loop. Prints how long they took and how long the page waited meanwhile; exits 1 unless every
dossier was transmitted with its receipt.

    DATABASE_URL=… SECRET_KEY=… .venv/bin/python scripts/bench/signatures.py URL [--clients 20]

Run with the server's environment, after `seed-demo` (LBR's "Déclaration de changement
d'adresse", which needs no certification). It makes its people as scripts/redeem_race.py does,
each with a complete draft in a space of its own. `make bench` runs it against gunicorn with 4
workers: it shows whether signatures hold up the other requests (each runs on a worker).
"""

import argparse
import re
import secrets
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from probe import Client, otp  # noqa: E402
from redeem_race import PASSWORD, make_people  # noqa: E402

from app import create_app  # noqa: E402
from models import Dossier, Procedure, Receipt, Space, db  # noqa: E402
from services import scale  # noqa: E402

PROCEDURE = "lbr-changement-adresse"
PROBED_PAGE = "/"  # read in a loop during the signatures


def make_drafts(app, people, identifier):
    """A complete draft of PROCEDURE in each person's space (its data as `load-scale` makes
    it): {space id: dossier id}."""
    with app.app_context():
        db.connect(reuse_if_open=True)
        procedure = Procedure.get(Procedure.slug == PROCEDURE)
        spaces = Space.select().where(Space.id.in_([space_id for _userid, _secret, space_id in people]))
        drafts = {}
        with db.atomic():
            for n, space in enumerate(spaces):
                drafts[space.id] = Dossier.create(
                    procedure=procedure,
                    space=space,
                    company_identifier=identifier,
                    company_name=space.company_name,
                    created_by=space.created_by,
                    step=len(procedure.definition["steps"]) - 1,
                    data=scale.dossier_values(PROCEDURE, identifier, space.company_name, n),
                ).id
        db.close()
    return drafts


def timed(call):
    started = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started) * 1000


def log_in(base, userid, secret):
    """A client logged in as `userid`, and how long its password step took (ms)."""
    client = Client(base)
    client.post("/connexion/token", {"userid": userid})
    client.get("/connexion/token/mot-de-passe")
    (status, _headers, _text), password_ms = timed(
        lambda: client.request(
            "POST", "/connexion/token/mot-de-passe", {"password": PASSWORD, "csrf_token": client.token}
        )
    )
    if status not in (302, 303):
        raise SystemExit(f"{userid}: the password was refused ({status})")
    status, _headers, _text = client.post("/connexion/token/otp", {"otp": otp(secret)})
    if status not in (302, 303):
        raise SystemExit(f"{userid} could not log in ({status})")
    return client, password_ms


def sign_path(space_id, dossier_id):
    return f"/espaces/{space_id}/dossiers/{dossier_id}/signer"


def ready_to_sign(client, space_id, dossier_id):
    """The signature's form: its CSRF token (kept by the client) and the dossier's version."""
    status, _headers, text = client.get(sign_path(space_id, dossier_id))
    version = re.search(r'name="version"[^>]*value="(\d+)"', text) or re.search(
        r'value="(\d+)"[^>]*name="version"', text
    )
    if status != 200 or not version:
        raise SystemExit(f"no signature form at {sign_path(space_id, dossier_id)} ({status})")
    return version[1]


def summary(name, values):
    values = sorted(values)
    return (
        f"{name}: {len(values)}, p50 {statistics.median(values):.0f} ms, "
        f"p90 {values[int(len(values) * 0.9) - 1]:.0f} ms, max {values[-1]:.0f} ms"
    )


def probe_page(base, stop, latencies):
    """Read PROBED_PAGE in a loop until `stop`, keeping each answer's time."""
    client = Client(base)
    while not stop.is_set():
        (status, _headers, _text), ms = timed(lambda: client.get(PROBED_PAGE))
        if status != 200:
            raise SystemExit(f"{PROBED_PAGE} answered {status} during the signatures")
        latencies.append(ms)
        time.sleep(0.02)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=20, help="how many people sign at once (default 20)")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    app = create_app()
    identifier = f"B{secrets.randbelow(900_000) + 100_000}"
    people = make_people(app, f"sign{secrets.token_hex(3)}", args.clients, identifier)
    drafts = make_drafts(app, people, identifier)

    quiet = []
    for _ in range(20):
        quiet.append(timed(lambda: Client(base).get(PROBED_PAGE))[1])

    with ThreadPoolExecutor(args.clients) as pool:
        logged_in = list(pool.map(lambda person: log_in(base, person[0], person[1]), people))
    clients = [client for client, _ms in logged_in]
    versions = [
        ready_to_sign(client, space_id, drafts[space_id])
        for client, (_u, _s, space_id) in zip(clients, people, strict=True)
    ]

    barrier = threading.Barrier(args.clients)

    def sign(number):
        client, (_userid, secret, space_id) = clients[number], people[number]
        barrier.wait()
        form = {"version": versions[number], "otp": otp(secret, steps=1), "csrf_token": client.token}
        (status, headers, _text), ms = timed(
            lambda: client.request("POST", sign_path(space_id, drafts[space_id]), form)
        )
        return status == 303 and "/dossiers/" in headers.get("Location", ""), ms

    stop, during = threading.Event(), []
    prober = threading.Thread(target=probe_page, args=(base, stop, during))
    prober.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        signed = list(pool.map(sign, range(args.clients)))
    burst_ms = (time.perf_counter() - started) * 1000
    stop.set()
    prober.join()

    with app.app_context():
        db.connect(reuse_if_open=True)
        transmitted = (
            Dossier.select()
            .where(Dossier.id.in_(list(drafts.values())), Dossier.status == "submitted")
            .count()
        )
        receipts = Receipt.select().where(Receipt.dossier.in_(list(drafts.values()))).count()
        db.close()
    succeeded = sum(ok for ok, _ms in signed)
    print(
        summary(f"{args.clients} concurrent logins, the password step (argon2)", [ms for _c, ms in logged_in])
    )
    print(
        summary(
            f"{args.clients} concurrent signatures (one-time code, signed PDF receipt)",
            [ms for _ok, ms in signed],
        )
    )
    print(
        f"all signed in {burst_ms:.0f} ms: {succeeded} answered as transmitted, "
        f"{transmitted} submitted, {receipts} receipts"
    )
    print(summary(f"{PROBED_PAGE} alone", quiet))
    print(summary(f"{PROBED_PAGE} during the signatures", during or [0.0]))
    ok = succeeded == transmitted == receipts == args.clients
    print("ok" if ok else "FAIL: every dossier should be transmitted with one receipt")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
