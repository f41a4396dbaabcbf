"""The company register (models.Company): where a SIREN or RCS number is looked up, and
where posted codes take the company's registered address from."""

from flask_babel import lazy_gettext as _l

import validators
from models import Company
from services import InvalidInput


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
