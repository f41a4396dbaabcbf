"""The company register (models.Company): where a SIREN or RCS number is looked up, and
where posted codes take the company's registered address from. Its files (the demo's,
SIRENE and RCS imports) are read by services/company_imports.py."""

import re

from flask_babel import lazy_gettext as _l

import validators
from database import PAGE_SIZE
from models import Company, Space, clip
from services import InvalidInput

# Where a company's row comes from, as the register's list says it.
SOURCES = {
    "demo": _l("données de démonstration"),
    "sirene": _l("import SIRENE"),
    "rcs": _l("import RCS"),
    "helpdesk": _l("saisie du helpdesk"),
}


class UnknownCompany(InvalidInput):
    """Said for the Mode simplifié and J'adhère: the register is public data (SIRENE), so
    telling that a SIREN is not in it discloses nothing."""

    field = "siren"
    message = _l(
        "Ce numéro SIREN ne figure pas dans le registre des entreprises. Vérifiez-le ; s'il est "
        "exact, contactez le Helpdesk pour faire ajouter l'entreprise."
    )


class InvalidSiren(InvalidInput):
    field = "siren"
    message = _l("Numéro SIREN invalide : il compte 9 chiffres (clé de contrôle de Luhn).")


def normalize_siren(value):
    """The SIREN as 9 digits (spaces allowed in input); InvalidSiren when it is not one."""
    try:
        return validators.fr_siren(value)
    except validators.InvalidIdentifier:
        raise InvalidSiren() from None


def find(identifier):
    """The register's company for a normalised identifier, or None."""
    return Company.get_or_none(Company.identifier == identifier)


def by_siren(value):
    """The register's company for a typed SIREN: InvalidSiren, UnknownCompany."""
    company = find(normalize_siren(value))
    if company is None:
        raise UnknownCompany()
    return company


# --- Looking companies up ------------------------------------------------------------------------

LOOKUP_CHUNK = 500  # identifiers per query when many are looked up at once


def find_many(identifiers):
    """{identifier: Company} for the normalised `identifiers` the register knows, a query per
    LOOKUP_CHUNK of them."""
    identifiers = sorted(set(identifiers))
    found = {}
    for start in range(0, len(identifiers), LOOKUP_CHUNK):
        chunk = identifiers[start : start + LOOKUP_CHUNK]
        found.update((c.identifier, c) for c in Company.select().where(Company.identifier.in_(chunk)))
    return found


def search(query="", page=1, per_page=PAGE_SIZE):
    """The register's companies whose name or identifier contains `query` (an identifier as
    typed: spaces and case do not matter), by name, a page at a time (two queries). Returns
    (companies, total)."""
    select = Company.select()
    query = (query or "").strip()[:100]
    if query:
        condition = Company.name.contains(query)
        compact = re.sub(r"\s+", "", query).upper()
        if compact:
            condition |= Company.identifier.contains(compact)
        select = select.where(condition)
    select = select.order_by(Company.name, Company.id)
    return list(select.paginate(max(page, 1), per_page)), select.count()


def masked_iban(iban):
    """An IBAN as pages show it: its country and check digits, then only its last four
    characters (FR76 •••• 0189)."""
    return f"{iban[:4]} •••• {iban[-4:]}" if iban else ""


def space_fields(company):
    """What a professional space of the company holds of it, from the register (the Mode
    simplifié's space: its SIREN, name and registered data)."""
    return {
        "company_name": company.name,
        "legal_form": clip(Space.legal_form, company.legal_form),
        "identifier_kind": company.identifier_kind,
        "identifier": company.identifier,
        "street": company.street,
        "postcode": company.postcode,
        "city": company.city,
        "country": company.country,
        "company_email": company.email,
    }
