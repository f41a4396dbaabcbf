"""Browser fixtures: a live server of the test app, Debian's chromium through Playwright, each
page's console errors, and the steps the journeys share (logging in through the real pages,
telling an htmx swap from a full load)."""

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

import factories

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 5000
MARKER = "window.__noFullLoad"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)


class LiveServer:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR", "timezone_id": "Europe/Luxembourg"}


class ConsoleErrors(list):
    """Console errors and CSP violations seen by a page."""

    def unexpected(self, *statuses, replaced=False):
        """The errors less the ones chromium logs for each 4xx it loads: the 422 of a refused
        form always, and the other `statuses` a test expects (401 a wrong code, 403, 404…).
        `replaced`: a request that hx-sync="replace" aborted for a newer one, which htmx logs
        as errors when it was still on its way (a matter of timing), is expected too."""
        expected = re.compile(r"status of (%s) " % "|".join(str(s) for s in (422, *statuses)))
        aborted = re.compile(r"htmx:(afterRequest|sendAbort)\b" if replaced else r"(?!)")
        return [error for error in self if not expected.search(error) and not aborted.match(error)]


def watched(page):
    """`page` with the suite's timeout; returns the list its console errors go to."""
    page.set_default_timeout(TIMEOUT_MS)
    errors = ConsoleErrors()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture
def console_errors(page):
    return watched(page)


@pytest.fixture
def page(page):
    page.set_default_timeout(TIMEOUT_MS)
    return page


@pytest.fixture
def other_page(new_context):
    """A second person's browser: `other_page(**context_options)` gives (page, its console errors)."""

    def open_page(**context_options):
        opened = new_context(**context_options).new_page()
        return opened, watched(opened)

    return open_page


def _log_in(page, userid="lea"):
    """From the Connexion page, through the real pages: Token → UserID → password → OTP."""
    page.get_by_role("link", name=re.compile("Token")).click()
    page.get_by_label("UserID").fill(userid)
    page.get_by_role("button", name="Suivant").click()
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Suivant").click()
    page.get_by_label("OTP").fill(factories.otp())
    page.get_by_role("button", name="S'authentifier").click()


@pytest.fixture
def log_in(clock):
    """`log_in(page, userid="lea")` from the Connexion page, with the one-time code of the clock."""
    return _log_in


@pytest.fixture
def mark_page(page):
    """`mark_page()` sets a marker on the page that only a full page load wipes out."""
    return lambda: page.evaluate(f"{MARKER} = true")


@pytest.fixture
def still_same_page(page):
    """`still_same_page()`: no full page load since `mark_page()` (htmx swapped in place)."""
    return lambda: page.evaluate(f"{MARKER} === true")
