"""The values of a procedure's step: read from a posted form, validated by type (reusing
validators.py), kept normalised; a dossier's data checked whole (what the signature checks
first); a stored value as a person reads it.

`Dossier.data` holds {field name: string} (a checkbox "1" or "", a file field the id of its
DossierFile) and {group name: [{sub-field name: string}, ...]}. In a form, a group's cell is
named `<group>-<row>-<sub-field>`; errors are keyed the same way (a group's own error, too
few or too many rows, by the group's name).
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from flask_babel import format_currency, format_date, format_number, lazy_gettext as _l, ngettext

import validators


class InvalidValue(ValueError):
    """A value refused, with the message shown beside its field."""


MESSAGES = {
    "required": _l("Ce champ est obligatoire."),
    "checkbox": _l("Cochez cette case pour continuer."),
    "date": _l("Saisissez une date valide (AAAA-MM-JJ)."),
    "number": _l("Saisissez un nombre entier."),
    "year": _l("Saisissez une année sur quatre chiffres, par exemple 2026."),
    "amount": _l("Saisissez un montant, par exemple 1234,50 (deux décimales au plus)."),
    "min": _l("La valeur doit être au moins %(min)s."),
    "max": _l("La valeur doit être au plus %(max)s."),
    "select": _l("Choisissez une valeur dans la liste."),
    "duplicate": _l("Cette valeur figure déjà à la ligne %(row)d."),
}

NUMBER = re.compile(r"[+-]?[0-9]{1,15}")
YEAR = re.compile(r"[0-9]{4}")
AMOUNT = re.compile(r"[+-]?[0-9]{1,13}(\.[0-9]{1,2})?")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _message(name, **values):
    return str(MESSAGES[name]) % values if values else str(MESSAGES[name])


def _too_long(field):
    return ngettext("%(num)d caractère au plus.", "%(num)d caractères au plus.", field.max_length)


def _bounded(field, number):
    if field.min is not None and number < Decimal(str(field.min)):
        raise InvalidValue(_message("min", min=_plain(field.min)))
    if field.max is not None and number > Decimal(str(field.max)):
        raise InvalidValue(_message("max", max=_plain(field.max)))


def _plain(number):
    return str(int(number)) if float(number).is_integer() else str(number)


def _date(field, value):
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidValue(_message("date")) from None


def _number(field, value):
    compact = re.sub(r"\s", "", value)
    if not NUMBER.fullmatch(compact):
        raise InvalidValue(_message("number"))
    number = int(compact)
    _bounded(field, Decimal(number))
    return str(number)


def _year(field, value):
    """A year, written and shown as its four digits (never grouped as a number is: 2026,
    not 2 026 or 2.026)."""
    compact = re.sub(r"\s", "", value)
    if not YEAR.fullmatch(compact):
        raise InvalidValue(_message("year"))
    _bounded(field, Decimal(compact))
    return compact


def _amount(field, value):
    """An amount as any of the three languages writes it: 1234,50, 1 234,50, 1.234,50 (de),
    1,234.50 (en): with both marks, the last one is the decimal one."""
    compact = re.sub(r"[\s\u00a0\u202f']", "", value)
    if "," in compact and "." in compact:
        grouping = "." if compact.rindex(",") > compact.rindex(".") else ","
        compact = compact.replace(grouping, "")
    compact = compact.replace(",", ".")
    if not AMOUNT.fullmatch(compact):
        raise InvalidValue(_message("amount"))
    try:
        amount = Decimal(compact).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InvalidValue(_message("amount")) from None
    _bounded(field, amount)
    return f"{amount:.2f}"


def _select(field, value):
    if value not in {option.value for option in field.options}:
        raise InvalidValue(_message("select"))
    return value


def _identifier(field, value):
    return validators.company_identifier(value)[1]


CLEAN = {
    "text": lambda field, value: " ".join(value.split()),
    "textarea": lambda field, value: value,
    "email": lambda field, value: validators.email_address(value),
    "phone": lambda field, value: validators.phone_number(value),
    "date": _date,
    "number": _number,
    "year": _year,
    "amount": _amount,
    "select": _select,
    "checkbox": lambda field, value: "1",
    "iban": lambda field, value: validators.iban(value),
    "matricule": lambda field, value: validators.matricule(value),
    "identifier": _identifier,
    "file": lambda field, value: value,
}


def clean(field, value):
    """`value` of `field` normalised (an IBAN compact, an amount with two decimals, a date
    ISO), "" when empty and optional; InvalidValue with the message otherwise."""
    value = (value or "").replace("\r\n", "\n").strip()
    if len(value) > field.max_length:
        raise InvalidValue(_too_long(field))
    if not value:
        if field.required:
            raise InvalidValue(_message("checkbox" if field.type == "checkbox" else "required"))
        return ""
    try:
        return CLEAN[field.type](field, value)
    except validators.InvalidIdentifier as error:
        raise InvalidValue(str(error)) from None


def cell(group, row, sub):
    """The form name (and error key) of a group's cell."""
    return f"{group}-{row}-{sub}"


def read_step(step, form, current):
    """What a step's form posted ({name: value}, a group's rows as lists) from `form` (a
    mapping of the posted fields); file fields keep their `current` value (an upload is the
    assistant's)."""
    entered = {}
    for field in step.fields:
        if field.type == "group":
            prefix = re.compile(rf"{re.escape(field.name)}-([0-9]{{1,4}})-")
            rows = sorted({int(match.group(1)) for name in form.keys() if (match := prefix.match(name))})
            entered[field.name] = [
                {sub.name: _posted(form, sub, cell(field.name, row, sub.name)) for sub in field.fields}
                for row in rows
            ]
        elif field.type == "file":
            entered[field.name] = str(current.get(field.name, ""))
        else:
            entered[field.name] = _posted(form, field, field.name)
    return entered


def _posted(form, field, name):
    value = form.get(name) or ""
    return "1" if field.type == "checkbox" and value else value


def stored(step, data):
    """A step's values as the dossier holds them, in the shape `read_step` gives."""
    return {
        field.name: [dict(row) for row in data.get(field.name) or []]
        if field.type == "group"
        else str(data.get(field.name, ""))
        for field in step.fields
    }


def validate(step, entered, strict=True):
    """(values to store, errors by form name) of a step. `strict` (Suivant, the signature)
    checks everything and keeps normalised values, rows left blank dropped; otherwise (a
    draft, Précédent, a row added or removed) values are kept as typed and only the limits
    that bound what is stored are checked (lengths, rows)."""
    values, errors = {}, {}
    for field in step.fields:
        if field.type == "group":
            values[field.name] = _validate_rows(field, entered.get(field.name) or [], strict, errors)
            continue
        value = entered.get(field.name, "")
        values[field.name] = _checked(field, value, field.name, strict, errors)
    return values, errors


def _checked(field, value, name, strict, errors):
    try:
        if strict:
            return clean(field, value)
        if len(value) > field.max_length:
            raise InvalidValue(_too_long(field))
        return value
    except InvalidValue as error:
        errors[name] = str(error)
        return value


def _validate_rows(field, rows, strict, errors):
    if strict:
        rows = [row for row in rows if any((row.get(sub.name) or "").strip() for sub in field.fields)]
    if len(rows) > field.max_rows:
        errors[field.name] = ngettext("%(num)d ligne au plus.", "%(num)d lignes au plus.", field.max_rows)
    elif strict and len(rows) < max(field.min_rows, 1 if field.required else 0):
        minimum = max(field.min_rows, 1)
        errors[field.name] = ngettext(
            "Ajoutez au moins %(num)d ligne.", "Ajoutez au moins %(num)d lignes.", minimum
        )
    kept, seen = [], {}
    for index, row in enumerate(rows):
        values = {}
        for sub in field.fields:
            name = cell(field.name, index, sub.name)
            values[sub.name] = _checked(sub, row.get(sub.name) or "", name, strict, errors)
            if strict and sub.unique and values[sub.name] and name not in errors:
                first = seen.setdefault((sub.name, values[sub.name]), index)
                if first != index:
                    errors[name] = _message("duplicate", row=first + 1)
        kept.append(values)
    return kept


def check_data(definition_, data, file_ids=()):
    """{step number: errors} of every step of a dossier's data (what the signature checks
    first); a file field must name one of the dossier's `file_ids`. Empty: all is valid."""
    found = {}
    for step in definition_.steps:
        _values, errors = validate(step, stored(step, data))
        for field in step.fields:
            if field.type == "file" and data.get(field.name) and str(data[field.name]) not in file_ids:
                errors[field.name] = _message("required")
        if errors:
            found[step.number] = errors
    return found


def display(field, value):
    """A stored value as a person reads it (a select's label is a msgid: translate it)."""
    if field.type == "select":
        return next((option.label for option in field.options if option.value == value), value)
    if field.type == "checkbox":
        return _l("Oui") if value else _l("Non")
    if field.type == "iban" and value:
        try:
            return validators.format_iban(value)
        except validators.InvalidIdentifier:
            return value
    if field.type == "amount" and value:
        try:
            return format_currency(Decimal(value), "EUR")  # 1 234,50 €, 1.234,50 €, €1,234.50
        except InvalidOperation:
            return value
    if field.type == "number" and value:
        try:
            return format_number(int(value))
        except ValueError:
            return value
    if field.type == "date" and value:
        try:
            return format_date(datetime.date.fromisoformat(value), "long")  # the reader's language
        except ValueError:  # a draft keeps what was typed
            return value
    return value
