"""The pages of a large space under load, measured against a reference page in the same run
(SPEC §11). `make bench` starts everything (scripts/bench/run.sh); this part logs in over HTTP
as the scale dataset's person and agent, runs wrk against each page, counts each page's
queries in-process, prints the table and writes it to docs/benchmarks.md.

    bench.py --app URL --reference URL --scale FILE [--duration 10] [--connections 20] [--out FILE]

The environment is the server's (DATABASE_URL, SECRET_KEY, ESPACE_ENV=production): the
queries are counted by the same app on the same database.
"""

import argparse
import html
import http.client
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pyotp

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

RATIO_BAR = 0.5  # each page at least half the reference page's throughput
P99_BAR_MS = 150


# --- HTTP as a browser does it (the session cookie kept by hand: it is Secure, over http) ---


class Browser:
    def __init__(self, base):
        self.base = urlsplit(base)
        self.cookies = {}

    def request(self, method, path, form=None):
        connection = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=30)
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        connection.close()
        return response.status, response.headers, text

    def cookie_header(self):
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def submit(self, path, form, page=None):
        """GET the form's page for its CSRF token, then POST the form; returns (status, Location)."""
        _, _, text = self.request("GET", page or path)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
        if not token:
            raise SystemExit(f"no form on {page or path}")
        status, headers, _ = self.request("POST", path, {**form, "csrf_token": html.unescape(token[1])})
        return status, headers.get("Location", "")


def credentials(scale_output):
    """The `Label: value` lines load-scale prints last: the person's and the agent's."""
    found = dict(re.findall(r"^([A-Za-z][A-Za-z ]*?) *: *(\S+)\s*$", scale_output, re.M))
    return found


def log_in_person(base, userid, password, secret):
    browser = Browser(base)
    browser.submit("/connexion/token", {"userid": userid})
    browser.submit("/connexion/token/mot-de-passe", {"password": password}, page="/connexion/token")
    status, location = browser.submit("/connexion/token/otp", {"otp": pyotp.TOTP(secret).now()})
    if status != 303 or "connexion" in location:
        raise SystemExit(f"the person could not log in ({status} {location})")
    return landed(browser, location)


def log_in_agent(base, userid, password, secret):
    browser = Browser(base)
    status, step = browser.submit("/back-office/connexion", {"userid": userid, "password": password})
    if status != 303 or step.endswith("/back-office/connexion"):
        raise SystemExit(f"the agent could not log in ({status} {step})")
    step = urlsplit(step).path
    status, location = browser.submit(step, {"otp": pyotp.TOTP(secret).now()})
    if status != 303 or "connexion" in location:
        raise SystemExit(f"the agent could not finish logging in ({status} {location})")
    return landed(browser, location)


def landed(browser, location):
    """The browser after the page a login leads to: a login starts a new session, and its
    first page puts the CSRF token in it, which a browser then keeps sending (without it, each
    measured request would make a new token and a new cookie)."""
    for _ in range(5):  # the redirects a browser follows there
        status, headers, _ = browser.request("GET", urlsplit(location).path)
        if status not in (301, 302, 303):
            break
        location = headers["Location"]
    if status != 200:
        raise SystemExit(f"{location} answered {status} after the login")
    return browser


# --- What to measure ----------------------------------------------------------------------


def pages(space_id, dossier_id, pages_of_dossiers):
    space = f"/espaces/{space_id}"
    return [
        ("Accueil (anonyme)", "/", None),
        ("Accueil de l'espace, Mes démarches", space, "person"),
        (f"Mes démarches, page {pages_of_dossiers}", f"{space}?page={pages_of_dossiers}", "person"),
        ("Un dossier", f"{space}/dossiers/{dossier_id}", "person"),
        ("Certifications", f"{space}/certifications", "person"),
        ("Mandats obtenus", f"{space}/mandats-obtenus", "person"),
        ("Mandats dispensés", f"{space}/mandats-dispenses", "person"),
        ("Utilisateurs", f"{space}/utilisateurs", "person"),
        ("Communications", f"{space}/communications", "person"),
        ("Changer d'espace", "/espaces/changer", "person"),
        ("Mon profil d'espace, sans liste", f"{space}/profil", "person"),
        ("Back-office : dossiers", "/back-office/dossiers", "agent"),
    ]


def pages_of_dossiers(space_id):
    from models import Dossier

    return max(1, Dossier.select().where(Dossier.space == space_id).count() // 50)


def count_queries(app, path, browser):
    """The statements one request of the page runs, counted by the app itself."""
    from helpers import count_queries as counting

    client = app.test_client(use_cookies=False)  # the browser's cookie header, as it is
    with counting() as queries:
        response = client.get(path, headers={"Cookie": browser.cookie_header()})
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} in-process ({response.headers.get('Location')})")
    return queries.count


# --- wrk ----------------------------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url, cookie, duration, connections, threads=2):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def latency(percent):
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * UNITS[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p50": latency(50),
        "p99": latency(99),
        "errors": int(errors[1]) if errors else 0,
        "socket_errors": socket_errors[1] if socket_errors else "",
    }


def status_of(browser, path):
    status, _, _ = browser.request("GET", path)
    return status


# --- The report ----------------------------------------------------------------------------


def machine():
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    memory = next(
        (
            int(line.split()[1]) // 1024 // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    system = (
        dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        .get("PRETTY_NAME", platform.platform())
        .strip('"')
    )
    return f"{cpu}, {os.cpu_count()} cores, {memory} GB RAM, {system}, Python {platform.python_version()}"


def versions():
    from models import db

    postgres = db.execute_sql("SHOW server_version").fetchone()[0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return postgres, commit or "?"


def table(rows):
    lines = [
        "| page | requests/s | p50 ms | p99 ms | reference's requests/s | × reference | queries | bar |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['rps']:.0f} | {row['p50']:.1f} | {row['p99']:.1f} | "
            f"{row['reference']:.0f} | {row['ratio']:.2f} | {row['queries']} | {row['verdict']} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--scale", required=True, type=Path, help="load-scale's output")
    parser.add_argument("--race", type=Path, help="the concurrent redemptions' output, for the report")
    parser.add_argument("--signatures", type=Path, help="signatures.py's output, for the report")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from app import create_app
    from models import db

    app = create_app()
    creds = credentials(args.scale.read_text())
    person = log_in_person(args.app, creds["UserID"], creds["Password"], creds["TOTP secret"])
    agent = log_in_agent(args.app, creds["Agent UserID"], creds["Agent password"], creds["Agent TOTP secret"])
    browsers = {"person": person, "agent": agent, None: Browser(args.app)}
    with app.app_context():
        db.connect(reuse_if_open=True)
        space_id, dossier_id = creds["Space"], creds["Dossier"]
        postgres, commit = versions()
        listed = pages(space_id, dossier_id, pages_of_dossiers(space_id) * 3 // 4)  # deep in the list
        db.close()
    # Each request in its own app context (and `g`), as in the server.
    queries = {path: count_queries(app, path, browsers[who]) for _, path, who in listed}

    print(f"Warming up {len(listed)} pages…", flush=True)
    for _, path, who in listed:
        wrk(args.app + path, browsers[who].cookie_header(), 1, args.connections)
    reference_url = args.reference + "/table"
    started = time.monotonic()
    bare = wrk(args.reference + "/bare", "", args.duration, args.connections)
    # The reference runs before each page and after the last: a page is compared with the
    # mean of the runs on either side of it. A machine shared with others drifts by a fifth
    # or more within the minutes of a run, which one reference for all would put in the ratios.
    reference_runs = [wrk(reference_url, "", args.duration, args.connections)]
    rows = []
    for name, path, who in listed:
        browser = browsers[who]
        if status_of(browser, path) != 200:
            raise SystemExit(f"{name}: {path} does not answer 200 before the run")
        result = wrk(args.app + path, browser.cookie_header(), args.duration, args.connections)
        if status_of(browser, path) != 200:
            raise SystemExit(f"{name}: {path} does not answer 200 after the run")
        reference_runs.append(wrk(reference_url, "", args.duration, args.connections))
        reference = (reference_runs[-2]["rps"] + reference_runs[-1]["rps"]) / 2
        rows.append({"name": name, "path": path, "queries": queries[path], **result, "reference": reference})
        print(
            f"  {name}: {result['rps']:.0f} requests/s, p99 {result['p99']:.1f} ms "
            f"(reference {reference:.0f})",
            flush=True,
        )
    failed = 0
    for row in rows:
        row["ratio"] = row["rps"] / row["reference"]
        problems = []
        if row["ratio"] < RATIO_BAR:
            problems.append(f"< {RATIO_BAR}×")
        if row["p99"] >= P99_BAR_MS:
            problems.append(f"p99 ≥ {P99_BAR_MS} ms")
        if row["errors"] or row["socket_errors"]:
            problems.append(f"{row['errors']} errors {row['socket_errors']}".strip())
        row["verdict"] = "ok" if not problems else "FAIL: " + ", ".join(problems)
        failed += bool(problems)

    served = sorted(run["rps"] for run in reference_runs)
    summary = [
        f"Reference page (50-row table, one SQLite query), {len(reference_runs)} runs between the pages: "
        f"{served[0]:.0f} to {served[-1]:.0f} requests/s (median {served[len(served) // 2]:.0f}), "
        f"p99 {max(run['p99'] for run in reference_runs):.1f} ms at most; "
        f"bare route: {bare['rps']:.0f} requests/s.",
        f"Bar: every page ≥ {RATIO_BAR}× the reference of its runs and p99 < {P99_BAR_MS} ms: "
        + ("met." if not failed else f"{failed} page(s) miss it."),
    ]
    print()
    print(table(rows))
    print()
    print("\n".join(summary))
    if args.out:
        race, signatures = (
            path.read_text().strip() if path and path.exists() else "(not run)"
            for path in (args.race, args.signatures)
        )
        args.out.write_text(
            REPORT.format(
                date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=machine(),
                postgres=postgres,
                commit=commit,
                connections=args.connections,
                duration=args.duration,
                minutes=round((time.monotonic() - started) / 60, 1),
                table=table(rows),
                summary="\n".join(f"- {line}" for line in summary),
                race=race,
                signatures=signatures,
            )
        )
        print(f"Written to {args.out}.")
    raise SystemExit(1 if failed else 0)


REPORT = """# Benchmarks

The last `make bench` run. It starts, on a throwaway PostgreSQL cluster loaded with
`flask --app app load-scale` (SPEC §11), the app under gunicorn (`gunicorn.conf.py`, 4 workers,
production settings) and, under the same gunicorn settings, a reference app
(`scripts/bench/reference_app.py`: a 50-row Jinja table from one SQLite query, and a bare
route). Logged in over HTTP as the dataset's person (a member of 200 spaces, in the fiduciary
space) and agent, it runs `wrk -t2 -c{connections} -d{duration}s --latency` against each page,
with the reference page run before each page and after the last (a page's ratio is to the mean
of the two runs around it: the machine's speed drifts within a run), and counts each page's
SQL statements with the same app in-process. The bar (SPEC §11): every page at 0.5× the
reference page's throughput or more, in the same run, and a p99 under 150 ms.
"Mon profil d'espace" shows no list: it measures what any space page pays before its content
(the session, the membership, the tabs and their unread count). `make bench` rewrites this file.

- Run: {date}, commit {commit}, {minutes} minutes of load.
- Machine: {machine}; PostgreSQL {postgres}. wrk, both apps and PostgreSQL share it.

{table}

{summary}

## 100 concurrent redemptions of one access code

```
{race}
```

## Logins and signatures under load

20 people log in at once (the password step: argon2), then sign a dossier each at the same
moment (the one-time code, the PDF receipt made and signed with the portal's key), while the
home page is read in a loop (`scripts/bench/signatures.py`). A signature runs on the request's
worker: with 4 workers, 20 at once hold up the other requests for as long as the lines below say.

```
{signatures}
```
"""


if __name__ == "__main__":
    main()
