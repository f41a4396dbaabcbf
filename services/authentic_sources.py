"""The demo of the "sources authentiques" service: what the administrations hold about each
company a certified space may see (its own as holder, its clients' through mandates): what
the company register holds (name, legal form, registered address) when it knows the
company, beside figures derived from its identifier."""

import datetime
import hashlib

from services import companies

SLUG = "sources-authentiques"


def shown_by(service, certifications):
    """What a certified service's page shows of the sources: the records for the space's live
    `certifications` of it on the "sources authentiques" page, nothing on another's."""
    return records(certifications) if service.slug == SLUG else []


# Who holds what, by the kind of identifier: Luxembourg's registers, France's.
SOURCES = {
    "rcs": [
        "Luxembourg Business Registers (RCS)",
        "Centre commun de la sécurité sociale",
        "Administration des contributions directes",
    ],
    "siren": [
        "INSEE (répertoire SIRENE)",
        "URSSAF",
        "Direction générale des Finances publiques",
    ],
}


def records(certifications):
    """The demo records of the companies of `certifications` (the register read in one query)."""
    register = companies.find_many(c.company_identifier for c in certifications)
    return [
        company_record(c.company_identifier, c.company_name, c.kind, register.get(c.company_identifier))
        for c in certifications
    ]


def company_record(identifier, name, kind, registered=None):
    """What the demo holds about a company: the register's `registered` Company when it knows
    it, and figures derived from its identifier so that each company always shows the same."""
    seed = int(hashlib.sha256(identifier.encode()).hexdigest()[:8], 16)
    return {
        "identifier": identifier,
        "name": registered.name if registered else name or identifier,
        "kind": kind,
        "registered": registered,
        "registered_on": datetime.date(1990 + seed % 35, 1 + seed % 12, 1 + seed % 28),
        "employees": 1 + seed % 250,
        "share_capital": (12 + seed % 500) * 1000,  # euros; the page formats it for its language
        "activity": [
            "Conseil fiscal et comptable",
            "Commerce de détail",
            "Restauration",
            "Construction",
            "Transport de marchandises",
        ][seed % 5],
        "sources": SOURCES["siren" if identifier.isdigit() else "rcs"],
    }
