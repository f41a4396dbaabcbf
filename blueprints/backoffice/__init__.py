"""The administrations' side. Agents of an administration decide the online certification
requests of its services (routes.py), process the dossiers of its procedures (dossiers.py),
issue access codes (codes.py), print and post its letters (letters.py) and send
communications to companies (communications.py). The helpdesk, an agent without
administration, prints the portal's own letters and runs the portal (helpdesk.py:
catalogue, accounts and spaces, the company register (companies.py), the contact queue and
feedback, the audit journal)."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("backoffice", __name__, url_prefix="/back-office")

# The sections of the back-office per role: (key, endpoint, label), in the nav's order.
SECTIONS = {
    "agent": [
        ("requests", "backoffice.requests", _l("Demandes de certification")),
        ("dossiers", "backoffice.queue", _l("Dossiers")),
        ("codes", "backoffice.codes", _l("Codes d'accès")),
        ("letters", "backoffice.letters", _l("Courriers")),
        ("communications", "backoffice.communications", _l("Communications")),
    ],
    "helpdesk": [
        ("catalogue", "backoffice.catalogue", _l("Administrations et démarches")),
        ("accounts", "backoffice.accounts", _l("Comptes et espaces")),
        ("companies", "backoffice.companies", _l("Registre des entreprises")),
        ("contacts", "backoffice.contacts", _l("Contacts")),
        ("feedback", "backoffice.feedback", _l("Avis")),
        ("letters", "backoffice.letters", _l("Courriers")),
        ("audit", "backoffice.audit", _l("Journal d'audit")),
    ],
}

# Where each role lands after logging in.
HOME = {role: sections[0][1] for role, sections in SECTIONS.items()}


def init_app(app):
    app.register_blueprint(bp)
    app.jinja_env.globals["backoffice_sections"] = lambda agent: SECTIONS[agent.role]


from blueprints.backoffice import (  # noqa: E402,F401
    accounts,
    codes,
    communications,
    companies,
    contacts,
    dossiers,
    helpdesk,
    journal,
    letters,
    routes,
)
