"""Mes données professionnelles: the facts a professional space keeps about its company (one
value per key), grouped and typed by data/vault_keys.json, for procedures to prefill.

The company record of the space (the wizard's step 2) is the first source: a key the record
holds (`company_field`) shows the record's value, read live, until the vault has a value of
its own, which then overrides it; deleting that value shows the record's again. Every member
reads; managers and administrators add, modify and delete (`edit_vault`); a private space
has no professional data.
"""

import json
from pathlib import Path
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import clock
import validators
from models import VaultEntry, db
from services import DomainError, audit, languages, spaces
from services.space_wizard import LEGAL_FORMS

KEYS_FILE = Path(__file__).resolve().parent.parent / "data" / "vault_keys.json"
OTHER_GROUP = ("other", "Autres informations")  # entries whose key the file does not know
OTHER_MAX_LENGTH = 1000


class Key(NamedTuple):
    key: str
    group: str
    label: str  # a French msgid: templates translate it
    type: str
    max_length: int
    company_field: str | None = None


class Item(NamedTuple):
    key: Key
    value: str
    source: str  # "vault", or "company" while the company record is shown

    @property
    def display(self):
        if self.key.type == "iban":
            try:
                return validators.format_iban(self.value)
            except validators.InvalidIdentifier:
                return self.value
        return self.value


class Group(NamedTuple):
    name: str
    label: str
    items: list


class Vault(NamedTuple):
    groups: list  # the groups that have a value, in the file's order
    addable: list  # (group label, [Key]) of the known keys that have no value yet


def load_keys(path=KEYS_FILE):
    """{group name: label}, {key: Key}, both in the file's order, and the labels' German and
    English (the file's `translations` table, keyed by the French labels)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    groups, keys = {}, {}
    for group in data["groups"]:
        groups[group["group"]] = group["label"]
        for key in group["keys"]:
            keys[key["key"]] = Key(
                key["key"],
                group["group"],
                key["label"],
                key["type"],
                key["max_length"],
                key.get("company_field"),
            )
    return groups, keys, data.get("translations", {})


GROUPS, KEYS, TRANSLATIONS = load_keys()


def label(text):
    """A label of the file (a group's or a key's, in French) in the page's language."""
    return languages.data_text(TRANSLATIONS, text)


# --- Errors ------------------------------------------------------------------------------
# `field` names the form field the refusal is shown beside.


class ValueMissing(spaces.InvalidInput):
    field = "value"
    message = _l("Saisissez une valeur.")


class ValueTooLong(spaces.InvalidInput):
    field = "value"
    message = _l("Cette valeur ne peut pas dépasser %(max)d caractères.")

    def __init__(self, limit):
        super().__init__(str(self.message) % {"max": limit})


class InvalidValue(spaces.InvalidInput):
    """The value is not of its key's type (an IBAN that is not an IBAN): the validator's
    message is given when raising."""

    field = "value"


class UnknownKey(spaces.InvalidInput):
    field = "key"
    message = _l("Choisissez une information dans la liste.")


class AlreadySaved(DomainError):
    status = 409
    field = "key"
    message = _l("Cette information est déjà enregistrée : modifiez-la plutôt.")


class EntryNotFound(DomainError):
    status = 404
    message = _l("Cette information n'est pas enregistrée dans cet espace.")


# --- Types -------------------------------------------------------------------------------


def _legal_form(value):
    codes = {code.upper(): code for code, _label in LEGAL_FORMS}
    if value.upper() not in codes:
        raise validators.InvalidIdentifier(
            _l(
                "Forme juridique inconnue : saisissez l'une de celles-ci : %(forms)s.",
                forms=", ".join(codes.values()),
            )
        )
    return codes[value.upper()]


CHECKS = {
    "text": lambda value: value,
    "email": validators.email_address,
    "phone": validators.phone_number,
    "iban": validators.iban,
    "bic": validators.bic,
    "vat": validators.vat_number,
    "identifier": lambda value: validators.company_identifier(value)[1],
    "legal_form": _legal_form,
}


def clean(key, value):
    """`value` for `key`, normalised (an IBAN compact, an e-mail's domain lower-cased), or
    the refusal to show beside the field."""
    value = validators.one_line(value or "").strip()
    if not value:
        raise ValueMissing()
    if len(value) > key.max_length:
        raise ValueTooLong(key.max_length)
    try:
        return CHECKS[key.type](value)
    except validators.InvalidIdentifier as error:
        raise InvalidValue(str(error)) from None


# --- Reading -----------------------------------------------------------------------------


def _other_key(entry):
    return Key(entry.key, OTHER_GROUP[0], entry.label or entry.key, "text", OTHER_MAX_LENGTH)


def _saved(space_id):
    return {
        entry.key: entry
        for entry in VaultEntry.select().where(VaultEntry.space == space_id).order_by(VaultEntry.key)
    }


def _known(space, saved):
    """{key: Item} of the known keys that have a value: the vault's, else the company record's."""
    known = {}
    for key in KEYS.values():
        if key.key in saved:
            known[key.key] = Item(key, saved[key.key].value, "vault")
        elif key.company_field and getattr(space, key.company_field):
            known[key.key] = Item(key, getattr(space, key.company_field), "company")
    return known


def values(space, with_saved=True):
    """{key: Item} of the known keys that have a value for the space's company, what
    procedures prefill from (one query; the company record alone without `with_saved`)."""
    return _known(space, _saved(space.id) if with_saved else {})


def vault(member):
    """The space's data by group, in the file's order (one query; the company record comes
    with the membership)."""
    spaces.require_professional(member)
    saved = _saved(member.space_id)
    known = _known(member.space, saved)
    items = {name: [] for name in [*GROUPS, OTHER_GROUP[0]]}
    addable = {name: [] for name in GROUPS}
    for key in KEYS.values():
        if key.key in known:
            items[key.group].append(known[key.key])
        else:
            addable[key.group].append(key)
    for name, entry in saved.items():
        if name not in KEYS:
            items[OTHER_GROUP[0]].append(Item(_other_key(entry), entry.value, "vault"))
    labels = {**GROUPS, OTHER_GROUP[0]: OTHER_GROUP[1]}
    return Vault(
        [Group(name, labels[name], rows) for name, rows in items.items() if rows],
        [(GROUPS[name], keys) for name, keys in addable.items() if keys],
    )


def item(member, key_name, saved_only=False):
    """One value of the space, to modify (it may be the company record's) or, `saved_only`,
    to delete (only what the vault holds)."""
    spaces.require(member, "edit_vault")
    entry = VaultEntry.get_or_none(VaultEntry.space == member.space_id, VaultEntry.key == key_name)
    if entry is not None:
        return Item(KEYS.get(key_name) or _other_key(entry), entry.value, "vault")
    key = KEYS.get(key_name)
    shown = getattr(member.space, key.company_field) if key and key.company_field else ""
    if saved_only or not shown:  # nothing to modify: a key without a value is added
        raise EntryNotFound()
    return Item(key, shown, "company")


# --- Writing -----------------------------------------------------------------------------


def add(member, actor, key_name, value):
    """Ajouter une information: a known key the vault does not hold yet."""
    spaces.require(member, "edit_vault")
    key = KEYS.get(key_name)
    if key is None:
        raise UnknownKey()
    value = clean(key, value)
    try:
        with db.atomic():
            VaultEntry.create(
                space=member.space_id, key=key.key, label=key.label, value=value, updated_at=clock.now()
            )
            audit.record("vault.added", actor=actor, space_id=member.space_id, key=key.key)
    except IntegrityError:  # the unique (space, key) index: one value per key
        raise AlreadySaved() from None
    return Item(key, value, "vault")


def modify(member, actor, key_name, value):
    """Modifier: the vault's value, or a first one overriding the company record's."""
    current = item(member, key_name)
    value = clean(current.key, value)
    try:
        with db.atomic():
            updated = (
                VaultEntry.update(value=value, updated_at=clock.now())
                .where(VaultEntry.space == member.space_id, VaultEntry.key == key_name)
                .execute()
            )
            if not updated:
                if current.source != "company":  # deleted meanwhile
                    raise EntryNotFound()
                VaultEntry.create(
                    space=member.space_id,
                    key=key_name,
                    label=current.key.label,
                    value=value,
                    updated_at=clock.now(),
                )
            audit.record("vault.modified", actor=actor, space_id=member.space_id, key=key_name)
    except IntegrityError:
        raise AlreadySaved() from None
    return Item(current.key, value, "vault")


def delete(member, actor, key_name):
    spaces.require(member, "edit_vault")
    with db.atomic():
        deleted = (
            VaultEntry.delete()
            .where(VaultEntry.space == member.space_id, VaultEntry.key == key_name)
            .execute()
        )
        if not deleted:
            raise EntryNotFound()
        audit.record("vault.deleted", actor=actor, space_id=member.space_id, key=key_name)
