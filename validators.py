"""Validation and normalisation of Luxembourg / French business identifiers.

Pure functions (no Flask): each validator takes user input, returns the
compact normalised value and raises :class:`InvalidIdentifier` with a short
message, suitable for display next to the form field, when invalid: a lazy gettext string
(French message id), translated into the person's language when it is shown (str()).
Checksums are delegated to python-stdnum rather than re-implemented.
"""

import datetime
import re

import email_validator
from flask_babel import lazy_gettext as _l
from stdnum import bic as _bic, iban as _iban, luhn, verhoeff
from stdnum.exceptions import ValidationError
from stdnum.fr import siren as _siren, siret as _siret, tva as _fr_tva
from stdnum.lu import tva as _lu_tva


class InvalidIdentifier(ValueError):
    """Raised with a user-facing message (lazy gettext) when an identifier is invalid."""


# C0 control characters and DEL, except tab and the line breaks of multi-line text. NUL in
# particular: PostgreSQL refuses it in text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same with the line breaks and tab: none belongs in a single-line value (a URL, a name).
LINE_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text):
    """`text` on one line, for a mail subject or a name: control characters removed, any run
    of whitespace (line breaks above all) made one space."""
    return " ".join(CONTROL_CHARACTERS.sub("", str(text)).split())


def _text(value):
    if not isinstance(value, str):
        raise InvalidIdentifier(_l("Valeur manquante ou invalide."))
    return value


def _stdnum(module, value, message):
    """`value` validated and made compact by python-stdnum's `module`, or `message` raised."""
    try:
        return module.validate(_text(value))
    except ValidationError:
        raise InvalidIdentifier(message) from None


def _check_matricule_date(year, month, day):
    """The birth date part allows 00 for an unknown month and/or day."""
    if not 1850 <= year <= datetime.date.today().year:
        return False
    if month and day:
        try:
            datetime.date(year, month, day)
        except ValueError:
            return False
        return True
    return month <= 12 and day <= 31


def matricule(value):
    """Luxembourg national identification number (13 digits).

    Layout: YYYYMMDD + 3 digits + Luhn digit + Verhoeff digit, where *both*
    check digits are computed over the same first 11 digits (the Verhoeff
    digit does not cover the Luhn digit).
    """
    number = re.sub(r"\s+", "", _text(value))
    if not re.fullmatch(r"[0-9]{13}", number):
        raise InvalidIdentifier(_l("Le matricule doit comporter 13 chiffres."))
    if not _check_matricule_date(int(number[:4]), int(number[4:6]), int(number[6:8])):
        raise InvalidIdentifier(_l("La date de naissance du matricule est invalide."))
    base = number[:11]
    if number[11] != luhn.calc_check_digit(base) or number[12] != verhoeff.calc_check_digit(base):
        raise InvalidIdentifier(_l("Le matricule est invalide (chiffres de contrôle)."))
    return number


def format_matricule(value):
    """Display form, e.g. ``1983 0819 749 25``."""
    number = matricule(value)
    return f"{number[:4]} {number[4:8]} {number[8:11]} {number[11:]}"


# The sections of the Luxembourg Registre de commerce et des sociétés (Luxembourg Business
# Registers): A commerçants personnes physiques, B sociétés commerciales, C groupements
# d'intérêt économique, D groupements européens d'intérêt économique, E sociétés civiles,
# F associations sans but lucratif, G fondations, H associations d'épargne-pension,
# J other legal persons the law registers (établissements publics, associations agricoles,
# mutuelles…), K fonds communs de placement. There is no section I.
RCS_SECTIONS = "ABCDEFGHJK"


def lu_rcs(value):
    """Luxembourg RCS number: a section letter + 1-6 digits, the first not 0."""
    number = re.sub(r"\s+", "", _text(value)).upper()
    if not re.fullmatch(rf"[{RCS_SECTIONS}][1-9][0-9]{{0,5}}", number):
        raise InvalidIdentifier(
            _l(
                "Numéro RCS invalide : il se compose d'une lettre de section du registre (A, B, C, D, E, F, "
                "G, H, J ou K) suivie de 1 à 6 chiffres, sans zéro au début, par exemple B123456."
            )
        )
    return number


def lu_vat(value):
    """Luxembourg VAT number, normalised with its ``LU`` prefix."""
    return "LU" + _stdnum(_lu_tva, value, _l("Numéro de TVA luxembourgeois invalide (ex. LU15027442)."))


def fr_vat(value):
    """French VAT number, normalised with its ``FR`` prefix."""
    return "FR" + _stdnum(_fr_tva, value, _l("Numéro de TVA français invalide (ex. FR40303265045)."))


def vat_number(value):
    """Luxembourg or French VAT number (prefix optional, the lengths differ)."""
    for validator in (lu_vat, fr_vat):
        try:
            return validator(value)
        except InvalidIdentifier:
            pass
    raise InvalidIdentifier(_l("Saisissez un numéro de TVA luxembourgeois (LU) ou français (FR) valide."))


def fr_siren(value):
    return _stdnum(_siren, value, _l("Numéro SIREN invalide (9 chiffres)."))


def fr_siret(value):
    return _stdnum(_siret, value, _l("Numéro SIRET invalide (14 chiffres)."))


def company_identifier(value):
    """Return ``("rcs", compact)`` or ``("siren", compact)``.

    No ambiguity: an RCS number always starts with a letter, a SIREN never does.
    """
    for kind, validator in (("rcs", lu_rcs), ("siren", fr_siren)):
        try:
            return kind, validator(value)
        except InvalidIdentifier:
            pass
    raise InvalidIdentifier(
        _l(
            "Saisissez un numéro RCS luxembourgeois (une lettre de section du registre, A, B, C, D, E, F, "
            "G, H, J ou K, suivie de 1 à 6 chiffres, sans zéro au début, par exemple B123456) ou un SIREN "
            "français (9 chiffres)."
        )
    )


def iban(value):
    return _stdnum(_iban, value, _l("IBAN invalide."))


def format_iban(value):
    """Display form in groups of four, e.g. ``LU28 0019 4006 4475 0000``."""
    return _iban.format(iban(value))


def bic(value):
    """A bank's BIC (SWIFT code): 8 or 11 letters and digits, upper-cased."""
    return _stdnum(_bic, value, _l("BIC invalide (8 ou 11 caractères, ex. BCEELULL)."))


# A telephone number as people write it: digits with an optional leading +, spaces, dots,
# dashes, slashes and parentheses between them.
PHONE = re.compile(r"\+?[0-9][0-9 ./()-]*")


def phone_number(value):
    """A telephone number, kept as written (whitespace runs made one space): 6 to 15 digits."""
    number = " ".join(_text(value).split())
    digits = sum(c.isdigit() for c in number)
    if not PHONE.fullmatch(number) or not 6 <= digits <= 15:
        raise InvalidIdentifier(_l("Numéro de téléphone invalide (6 à 15 chiffres, ex. +352 12 34 56)."))
    return number


def email_address(value):
    """An e-mail address, normalised (domain lower-cased); no DNS lookup."""
    try:
        return email_validator.validate_email(_text(value).strip(), check_deliverability=False).normalized
    except email_validator.EmailNotValidError:
        raise InvalidIdentifier(_l("Cette adresse e-mail n'est pas valide.")) from None
