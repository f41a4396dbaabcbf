"""Probe a running Espace Pro as the security review did, and fail on any 5xx or any probe
that is not refused as it should be.

    DATABASE_URL=… SECRET_KEY=… .venv/bin/python scripts/probe.py http://127.0.0.1:8000

Run it with the server's own environment (`ESPACE_ENV`, `DATABASE_URL`, `SECRET_KEY`): it
makes its own person and agent in that database (UserIDs `probe.*`, a new pair each run),
then, over HTTP only:
- control characters (NUL and others) in query strings, form fields and paths: 400;
- line breaks in `next=` (400) and in a single-line field (422);
- names at their maximum lengths through the space wizard and the private space: no 5xx;
- an agent's cookie copied before logout and replayed after it: back to the login page;
- passwords sprayed over 100 UserIDs from one address with a successful login in between:
  the address waits (429) all the same;
- with `--log FILE`, the server's log: a JSON line for each request, with its request id,
  and nowhere a password or a UserID the probes typed.
It ends by lifting the wait it put on its own address. `scripts/probe.sh` runs it against
gunicorn with 4 workers on a throwaway PostgreSQL cluster. Exits 1 when a probe fails.
"""

import argparse
import json
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pyotp  # noqa: E402

import clock  # noqa: E402
from app import create_app  # noqa: E402
from models import AddressFailure, Throttle, db  # noqa: E402
from services.auth import login_key  # noqa: E402

PASSWORD = "une phrase de passe pour la sonde"
MAX = "Ê" * 100  # names are 100 characters at most: non-ASCII, so bytes and characters differ


class Client:
    """Cookies kept by hand (production cookies are Secure, and the probe speaks plain HTTP
    on loopback), no redirects followed: each answer is looked at as it is."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.cookies = {}
        self.token = None  # the session's CSRF token, valid for every form

    def request(self, method, path, data=None, raw_query=None):
        url = self.base + path + (f"?{raw_query}" if raw_query else "")
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("Referer", self.base + "/")
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        opener = urllib.request.build_opener(NoRedirect)
        try:
            response = opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=thu, 01 jan 1970" in header.lower() or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        text = response.read().decode("utf-8", "replace")
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
        if match:
            self.token = match.group(1)
        return response.status, response.headers, text

    def get(self, path, raw_query=None):
        return self.request("GET", path, raw_query=raw_query)

    def post(self, path, data):
        """POST `data` with the session's CSRF token (the form's page is read first)."""
        self.get(path)
        if self.token is None:
            raise SystemExit(f"no CSRF token at {path}: is this Espace Pro?")
        return self.request("POST", path, {**data, "csrf_token": self.token})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def otp(secret, steps=0):
    """The code of `secret` now (the server accepts one step either side, each code once)."""
    return pyotp.TOTP(secret).at(clock.timestamp() + 30 * steps)


class Report:
    def __init__(self):
        self.failures = self.passes = 0

    def check(self, name, status, expected):
        ok = status in expected and status < 500
        self.failures += not ok
        self.passes += ok
        print(f"{'ok  ' if ok else 'FAIL'} {status} {name} (expected {'/'.join(map(str, expected))})")
        return ok

    def holds(self, name, ok):
        self.failures += not ok
        self.passes += ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
        return ok


def make_accounts(app, tag):
    """A registered person with 100-character names and an enrolled agent, in the server's
    database, each with a fresh TOTP secret."""
    import factories

    with app.app_context(), app.test_request_context():
        db.connect(reuse_if_open=True)
        person_secret, agent_secret = pyotp.random_base32(32), pyotp.random_base32(32)
        factories.user(
            f"probe.{tag}",
            password=PASSWORD,
            secret=person_secret,
            first_name=MAX,
            last_name=MAX,
            email=f"probe.{tag}@example.lu",
        )
        factories.agent(
            "ALVA", userid=f"probe.agent.{tag}", password=PASSWORD, secret=agent_secret, name=MAX * 2
        )
        db.close()
    return person_secret, agent_secret


def log_in(client, userid, secret, step):
    client.post("/connexion/token", {"userid": userid})
    client.post("/connexion/token/mot-de-passe", {"password": PASSWORD})
    return client.post("/connexion/token/otp", {"otp": otp(secret, step)})


def probe_control_characters(report, base):
    client = Client(base)
    for path, query in (("/", "q=%00"), ("/", "q=a%07b"), ("/connexion", "next=%00"), ("/espaces", "q=%00")):
        report.check(f"GET {path}?{query}", client.get(path, query)[0], {400})
    report.check("GET a path with %00", client.get("/espaces/%00")[0], {400, 404})
    report.check(
        "POST a UserID with a NUL", client.post("/connexion/token", {"userid": "probe\x00"})[0], {400}
    )


def probe_line_breaks(report, base):
    client = Client(base)
    for query in ("next=/%0d%0aSet-Cookie:%20x=y", "next=%0a//example.org"):
        report.check(f"GET /connexion?{query}", client.get("/connexion", query)[0], {400})


def probe_logged_in(report, base, userid, secret):
    client = Client(base)
    status, headers, _ = log_in(client, userid, secret, 0)
    if not report.check("log in as the probe person (names of 100 + 100 characters)", status, {302, 303}):
        return
    client.get("/espaces")
    status, _, _ = client.request("POST", "/espaces/prive", {"csrf_token": client.token})
    report.check("create the private space named after 100 + 100 characters", status, {302, 303})
    client.post("/espaces/nouveau/cgu", {"accept": "y"})
    report.check(
        "POST a line break in a single-line field",
        client.post("/espaces/nouveau/nom", {"name": "Nom\r\nBcc: x@example.org"})[0],
        {422},
    )
    report.check(
        "wizard: a 100-character space name",
        client.post("/espaces/nouveau/nom", {"name": MAX})[0],
        {302, 303},
    )
    company = {
        "company_name": "Ê" * 200,
        "legal_form": "SARL",
        "identifier": "B123456",
        "vat_number": "LU15027442",
        "street": "Ê" * 200,
        "postcode": "L-1000",
        "city": "Ê" * 100,
        "country": "Ê" * 100,
        "company_email": "contact@example.lu",
        "phone": "+352 123 456",
    }
    report.check(
        "wizard: every company field at its maximum",
        client.post("/espaces/nouveau/entreprise", company)[0],
        {302, 303},
    )
    report.check("wizard: create the space", client.post("/espaces/nouveau/verification", {})[0], {302, 303})


def probe_agent_cookie(report, base, userid, secret):
    client = Client(base)
    client.post("/back-office/connexion", {"userid": userid, "password": PASSWORD})
    status, _, _ = client.post("/back-office/connexion/code", {"otp": otp(secret)})
    report.check("agent logs in with password and code", status, {302, 303})
    report.check("agent opens the back-office", client.get("/back-office")[0], {200})
    copied = dict(client.cookies)
    client.request("POST", "/back-office/deconnexion", {"csrf_token": client.token})
    thief = Client(base)
    thief.cookies = copied
    status, headers, _ = thief.get("/back-office")
    refused = status in (302, 303) and headers.get("Location", "").endswith("/back-office/connexion")
    report.check(
        "the agent's cookie copied before logout, replayed after it", status if refused else 200, {302, 303}
    )


def probe_spraying(report, base, userid, secret, tag):
    client = Client(base)
    statuses = []
    for i in range(100):
        if i == 50:  # the attacker's own account between two batches
            own = Client(base)
            status, _, _ = log_in(own, userid, secret, 1)
            report.check("a successful login in the middle of the spraying", status, {302, 303})
        client.post("/connexion/token", {"userid": f"sprayed.{tag}.{i}"})
        statuses.append(client.post("/connexion/token/mot-de-passe", {"password": "Password2026!"})[0])
    report.check("99 sprayed passwords refused one by one", max(statuses[:99]), {401})
    client.post("/connexion/token", {"userid": userid})
    status, headers, _ = client.post("/connexion/token/mot-de-passe", {"password": PASSWORD})
    report.check("after 100 accounts sprayed, the address waits (even a right password)", status, {429})


def lift_address_wait(app, tag):
    """The probe's own address waits no longer, and forgets the accounts it sprayed."""
    with app.app_context():
        db.connect(reuse_if_open=True)
        sprayed = AddressFailure.account_key.startswith(f"{login_key(f'sprayed.{tag}.')}")
        addresses = [row.address_key for row in AddressFailure.select().where(sprayed).distinct()]
        AddressFailure.delete().where(sprayed).execute()
        Throttle.delete().where(Throttle.key.in_(addresses)).execute()
        db.close()


def probe_request_log(report, path, userid):
    """The JSON request log (blueprints/request_log.py) the server wrote while probed."""
    text = Path(path).read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    report.holds(f"{len(lines)} JSON request lines, each with its request id", len(lines) > 100)
    report.holds("every line has a request id", all(line.get("request_id") for line in lines))
    report.holds("no password in the log", PASSWORD not in text)
    report.holds("no typed UserID in the log", userid not in text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--log", help="the server's log (stderr) to check once the probes ran")
    args = parser.parse_args()
    app = create_app()
    tag = secrets.token_hex(3)
    person_secret, agent_secret = make_accounts(app, tag)
    report = Report()
    probe_control_characters(report, args.url)
    probe_line_breaks(report, args.url)
    probe_logged_in(report, args.url, f"probe.{tag}", person_secret)
    probe_agent_cookie(report, args.url, f"probe.agent.{tag}", agent_secret)
    try:
        probe_spraying(report, args.url, f"probe.{tag}", person_secret, tag)
    finally:
        lift_address_wait(app, tag)
    if args.log:
        probe_request_log(report, args.log, f"probe.{tag}")
    print(f"probes: {report.passes} passed, {report.failures} failed")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
