"""The main pages in the three languages, in Debian's chromium: anonymous, a person in their
space (tabs, certifications, a procedure step, a dossier), an agent's back-office and the
helpdesk's. On each page, in German and English, no French message of the catalogue shows
(its visible text, title and labels for screen readers), `<html lang>` is the language
chosen with the header's switch, and axe finds no WCAG 2.1 A/AA violation, in French too.

One browser context per language, the pages in sequence; every finding of the crawl is
reported at once, page by page."""

import re
from collections import defaultdict

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from catalogues import compile_stale_catalogues, po_path, read_catalogue, translated_french

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# What is not a word of the message: placeholders, tags, line breaks.
NOT_TEXT = re.compile(r"%\(\w+\)[sdfi]|%[sdfi]|\{[^}]*\}|<[^>]+>|&\w+;|\n")
EDGE = " \t.,;:!?«»\"'()[]·—–-*/"


def fragments(msgid):
    """The French texts of a message id a page could show: the whole id, or, when the id has
    placeholders or tags, its literal parts of at least two words."""
    parts = [part.strip(EDGE) for part in NOT_TEXT.split(msgid)]
    if len(parts) == 1:
        return parts if sum(c.isalpha() for c in parts[0]) >= 3 else []
    return [part for part in parts if len(part.split()) >= 2]


def french_matcher(language):
    """A regex of the French texts (whole words) that a page in `language` must not show: the
    ones its catalogue translates into something else, less any the translations themselves
    use (a proper name, a word the two languages share)."""
    catalogue = read_catalogue(po_path(language))
    translations = " ".join(
        form
        for message in catalogue
        if message.id
        for form in (message.string if isinstance(message.string, (list, tuple)) else [message.string])
        if form
    )
    texts = {text for msgid in translated_french(language) for text in fragments(msgid)}
    words = set(re.findall(r"\w+", translations))
    texts = {
        text
        for text in texts
        if not (
            words.issuperset(re.findall(r"\w+", text))  # cheap first, then the phrase itself
            and re.search(rf"(?<!\w){re.escape(text)}(?!\w)", translations)
        )
    }
    alternatives = "|".join(re.escape(text) for text in sorted(texts, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


# axe-core's own script is added to every page of the context once (AXE_SCRIPT); this runs it.
AXE_SCRIPT = Axe().axe_script
AXE_RUN = (
    """async () => (await axe.run(document, {
  runOnly: {type: "tag", values: %s}, resultTypes: ["violations"],
})).violations"""
    % WCAG
)


# The visible text, the title and what screen readers read out of attributes, less what is
# marked as another language (the switch's "Français", WCAG 3.1.2's language of parts).
SHOWN = """() => {
  const page = document.documentElement.lang;
  const own = (e) => (e.closest("[lang]") || document.documentElement).lang === page;
  let text = document.body.innerText;
  for (const e of document.body.querySelectorAll("[lang]")) {
    if (e.lang !== page && e.innerText) text = text.split(e.innerText).join("");
  }
  return [
    document.title,
    text,
    ...[...document.querySelectorAll("[aria-label], [title], [alt], [placeholder]")].filter(own).flatMap(
      (e) => ["aria-label", "title", "alt", "placeholder"].map((a) => e.getAttribute(a)).filter(Boolean)),
  ].join("\\n");
}"""


class Crawl:
    """Visits pages in one language and notes, page by page, what is wrong."""

    def __init__(self, page, base, language):
        self.page, self.base, self.language = page, base, language
        self.french = french_matcher(language) if language != "fr" else None
        self.findings = defaultdict(list)
        self.visited = []

    def switch_language(self):
        self.page.locator(f'form.lang-switch button[value="{self.language}"]').click()
        expect(self.page.locator("html")).to_have_attribute("lang", self.language)

    def visit(self, path):
        response = self.page.goto(self.base + path, wait_until="domcontentloaded")
        assert response.ok, f"{path}: {response.status}"
        self.check(path)

    def check(self, name):
        """The page as it is now (after a load or a swap), noted under `name`."""
        page = self.page
        self.visited.append(name)
        lang = page.evaluate("() => document.documentElement.lang")
        if lang != self.language:
            self.findings[name].append(f'<html lang="{lang}">')
        if self.french:
            shown = set(self.french.findall(page.evaluate(SHOWN)))
            self.findings[name] += [f"French: {text!r}" for text in sorted(shown)]
        for violation in page.evaluate(AXE_RUN):
            targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            self.findings[name].append(f"axe {violation['id']} ({violation['impact']}): {targets}")

    def report(self):
        lines = [f"{self.language}: {sum(map(len, self.findings.values()))} finding(s)"]
        for name, found in self.findings.items():
            if not found:
                continue
            lines += [f"  {name}", *(f"    {line}" for line in found)]
        return "\n".join(lines)


def data_set():
    """Léa's Guichet space (certified, a mandate dispensed to Fiona's fiduciary, a member, a
    draft at its second step, a transmitted dossier, a communication) and two agents."""
    from models import Procedure
    from services import catalogue

    holder, _fiduciary, _certification = factories.fiduciary_and_client()
    space = holder.space
    factories.member(space, factories.user("marc", first_name="Marc"), role="manager")
    procedure = Procedure.get(slug="acd-fiches-retenue")
    draft = factories.dossier(space, procedure, created_by=holder.user, data=factories.ACD_STEPS[1], step=2)
    filed = factories.transmitted_dossier(space, procedure, 1, created_by=holder.user)
    communication = factories.communication(space_=space)
    factories.agent("ACD", "agent.acd")
    factories.helpdesk()
    factories.contact_request(subject="Guichet SARL")  # a person's words, in their language
    catalogue.load()  # the catalogue's German and English, as seed-demo gives them
    return {"space": space.id, "draft": draft.id, "filed": filed.id, "communication": communication.id}


def log_in(crawl, userid="lea"):
    """Connexion by Token without reading a label, each step checked as htmx swaps it in."""
    page = crawl.page
    crawl.visit("/connexion/token")
    page.locator("#userid").fill(userid)
    page.locator("#auth-card button[type=submit]").click()
    expect(page.locator("#password")).to_be_visible()
    crawl.check("/connexion/token (password step)")
    page.locator("#password").fill(factories.PASSWORD)
    page.locator("#auth-card button[type=submit]").click()
    expect(page.locator("#otp")).to_be_visible()
    crawl.check("/connexion/token (one-time code step)")
    page.locator("#otp").fill(factories.otp())
    page.locator("#auth-card button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/connexion"))


def log_in_agent(crawl, userid):
    page = crawl.page
    page.context.clear_cookies()
    crawl.page.goto(crawl.base + "/back-office/connexion")
    crawl.switch_language()
    crawl.check("/back-office/connexion")
    page.locator("#userid").fill(userid)
    page.locator("#password").fill(factories.AGENT_PASSWORD)
    page.locator("#agent-login button[type=submit]").click()
    expect(page.locator("#otp")).to_be_visible()
    crawl.check("/back-office/connexion/code")
    page.locator("#otp").fill(factories.otp())
    page.locator("main button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/connexion"))


ANONYMOUS = [
    "/",
    "/connexion",
    "/inscription",
    "/inscription/token",
    "/mot-de-passe-oublie",
    "/token-perdu",
    "/aide",
    "/contact",
    "/aspects-legaux",
    "/accessibilite",
    "/cgu",
    "/verifier-un-accuse",
    "/impots/connexion",
    "/impots/creer",
    "/impots/creer/simplifie",
    "/impots/creer/expert",
]
PERSON = [
    "/compte",
    "/espaces",
    "/espaces/changer",
    "/espaces/nouveau",
    "/espaces/{space}",
    "/espaces/{space}/profil",
    "/espaces/{space}/utilisateurs",
    "/espaces/{space}/certifications",
    "/espaces/{space}/certifications/administrations",
    "/espaces/{space}/mandats-dispenses",
    "/espaces/{space}/mandats-obtenus",
    "/espaces/{space}/donnees",
    "/espaces/{space}/communications",
    "/espaces/{space}/communications/{communication}",
    "/espaces/{space}/dossiers/{draft}/etapes/2",
    "/espaces/{space}/dossiers/{filed}",
]
AGENT = [
    "/back-office",
    "/back-office/dossiers",
    "/back-office/dossiers/{filed}",
    "/back-office/courriers",
    "/back-office/codes-d-acces",
    "/back-office/communications",
    "/back-office/communications/nouvelle",
    "/back-office/communications/{communication}",
]
HELPDESK = [
    "/back-office/helpdesk/comptes",
    "/back-office/helpdesk/contacts",
    "/back-office/helpdesk/entreprises",
    "/back-office/helpdesk/catalogue",
    "/back-office/helpdesk/journal",
    "/back-office/helpdesk/avis",
]


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_every_page_speaks_the_language_and_passes_axe(app, live_server, clock, browser, language):
    compile_stale_catalogues()
    with app.test_request_context():  # the mandate's mail builds links
        ids = data_set()
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Luxembourg")
    context.add_init_script(AXE_SCRIPT)
    page = context.new_page()
    page.set_default_timeout(5000)
    crawl = Crawl(page, live_server.url, language)

    page.goto(live_server.url + "/")
    page.evaluate("() => document.body.append(Object.assign(document.createElement('img'), {src: '/x.svg'}))")
    assert "image-alt" in [violation["id"] for violation in page.evaluate(AXE_RUN)]  # axe does see
    crawl.switch_language()
    for path in ANONYMOUS:
        crawl.visit(path)
    log_in(crawl)
    crawl.switch_language()  # whatever the login did with it
    for path in PERSON:
        crawl.visit(path.format(**ids))
    log_in_agent(crawl, "agent.acd")
    for path in AGENT:
        crawl.visit(path.format(**ids))
    log_in_agent(crawl, "helpdesk")
    for path in HELPDESK:
        crawl.visit(path)
    context.close()

    assert len(crawl.visited) >= 50
    if any(crawl.findings.values()):
        pytest.fail(crawl.report(), pytrace=False)


def test_fragments_are_the_literal_parts_of_two_words_or_more():
    assert fragments("Gérer mes espaces") == ["Gérer mes espaces"]
    assert fragments("Bonjour %(name)s, votre espace est prêt.") == ["votre espace est prêt"]
    assert fragments("<strong>%(num)d</strong> dossiers à traiter") == ["dossiers à traiter"]
    assert fragments("N°") == []
