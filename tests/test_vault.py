"""The rules of Mes données professionnelles, called on the service: keys known from the data
file, values validated by type, one value per key, the company record as the first source,
who may edit, and the audit."""

import json

import pytest

import factories
from models import AuditEntry, VaultEntry
from services import spaces, vault

pytestmark = pytest.mark.usefixtures("request_context")

IBAN = "LU28 0019 4006 4475 0000"


PEOPLE = {}


@pytest.fixture
def space(app, clock):
    PEOPLE.clear()
    PEOPLE["lea"] = factories.user("lea")
    space = factories.space(PEOPLE["lea"], name="Guichet")
    for name, role in (("marc", "manager"), ("zoe", "reader")):
        PEOPLE[name] = factories.user(name, email=f"{name}@example.lu")
        factories.member(space, PEOPLE[name], role)
    return space


def member(space, name):
    return spaces.membership_for(PEOPLE[name], space.id)


def values(space):
    return {e.key: e.value for e in VaultEntry.select().where(VaultEntry.space == space)}


def test_the_data_file_defines_typed_keys_in_groups():
    data = json.loads(vault.KEYS_FILE.read_text(encoding="utf-8"))
    assert [g["group"] for g in data["groups"]] == ["company", "contact", "bank"]
    for key in vault.KEYS.values():
        assert key.key.startswith(key.group + ".") and key.type in vault.CHECKS and key.max_length > 0
    for name in ("company.name", "company.identifier", "company.vat", "contact.email", "bank.iban"):
        assert name in vault.KEYS


@pytest.mark.parametrize(
    "key, typed, saved",
    [
        ("bank.iban", " lu28 0019 4006 4475 0000 ", "LU280019400644750000"),
        ("bank.bic", "bceelull", "BCEELULL"),
        ("company.vat", "LU 15027442", "LU15027442"),
        ("company.identifier", " b 123456 ", "B123456"),
        ("company.legal_form", "sarl", "SARL"),
        ("contact.email", "Info@Guichet.LU", "info@guichet.lu"),
        ("contact.phone", "+352  12 34 56", "+352 12 34 56"),
        ("contact.person", "  Léa   Guichet ", "Léa Guichet"),
    ],
)
def test_values_are_validated_and_normalised_by_type(space, key, typed, saved):
    lea = member(space, "lea")
    field = vault.KEYS[key].company_field
    if field and getattr(space, field):
        vault.modify(lea, lea.user, key, typed)  # a company record's key: override it
    else:
        vault.add(lea, lea.user, key, typed)
    assert values(space)[key] == saved


@pytest.mark.parametrize(
    "key, typed, error",
    [
        ("bank.iban", "LU28 0019 4006 4475 0001", vault.InvalidValue),  # wrong check digits
        ("bank.iban", "FR76", vault.InvalidValue),
        ("bank.bic", "BCE", vault.InvalidValue),
        ("contact.phone", "appelez-moi", vault.InvalidValue),
        ("contact.person", "   ", vault.ValueMissing),
        ("bank.holder", "x" * 201, vault.ValueTooLong),
        ("nothing.known", "x", vault.UnknownKey),
    ],
)
def test_wrong_values_are_refused_and_nothing_is_saved(space, key, typed, error):
    lea = member(space, "lea")
    with pytest.raises(error) as refused:
        vault.add(lea, lea.user, key, typed)
    assert refused.value.status == 422 and refused.value.field in ("key", "value")
    assert values(space) == {} and not AuditEntry.select().where(AuditEntry.action == "vault.added").exists()


def test_an_invalid_iban_says_so(space):
    lea = member(space, "lea")
    with pytest.raises(vault.InvalidValue, match="IBAN invalide"):
        vault.add(lea, lea.user, "bank.iban", "LU28 0019 4006 4475 0001")


def test_one_value_per_key(space):
    lea = member(space, "lea")
    vault.add(lea, lea.user, "bank.iban", IBAN)
    with pytest.raises(vault.AlreadySaved):
        vault.add(lea, lea.user, "bank.iban", "DE89 3704 0044 0532 0130 00")
    assert values(space) == {"bank.iban": "LU280019400644750000"}


def test_the_company_record_shows_until_the_vault_overrides_it(space):
    lea = member(space, "lea")
    company = vault.vault(lea).groups[0]
    assert company.label == "Entreprise"
    shown = {i.key.key: (i.value, i.source) for i in company.items}
    assert shown["company.name"] == ("Guichet SARL", "company")
    assert "company.vat" not in shown  # the record has none: offered to add
    assert "company.vat" in [k.key for _g, keys in vault.vault(lea).addable for k in keys]
    # Editing the profile shows through: the record is read live, not copied.
    space.company_name = "Guichet et Fils SARL"
    space.save()
    lea = member(space, "lea")
    assert vault.vault(lea).groups[0].items[0].value == "Guichet et Fils SARL"
    # A vault value overrides; deleting it shows the record's again.
    vault.modify(lea, lea.user, "company.name", "Guichet Holding SA")
    assert vault.vault(lea).groups[0].items[0][1:] == ("Guichet Holding SA", "vault")
    vault.delete(lea, lea.user, "company.name")
    assert vault.vault(lea).groups[0].items[0][1:] == ("Guichet et Fils SARL", "company")


def test_groups_follow_the_file_and_unknown_keys_come_last(space):
    lea = member(space, "lea")
    VaultEntry.create(space=space, key="phone", label="Téléphone", value="+352 1")  # older data
    vault.add(lea, lea.user, "bank.iban", IBAN)
    vault.add(lea, lea.user, "contact.person", "Léa")
    groups = vault.vault(lea).groups
    assert [g.name for g in groups] == ["company", "contact", "bank", "other"]
    assert [(i.key.label, i.value) for i in groups[-1].items] == [("Téléphone", "+352 1")]
    assert groups[2].items[0].display == IBAN
    vault.modify(lea, lea.user, "phone", "+352 2")  # an unknown key is still editable as text
    vault.delete(lea, lea.user, "phone")
    assert "phone" not in values(space)


def test_modify_and_delete_what_is_not_there(space):
    lea = member(space, "lea")
    with pytest.raises(vault.EntryNotFound):
        vault.modify(lea, lea.user, "bank.iban", IBAN)  # not saved, not in the company record
    with pytest.raises(vault.EntryNotFound):
        vault.delete(lea, lea.user, "company.name")  # only the record has it
    with pytest.raises(vault.EntryNotFound):
        vault.item(lea, "company.name", saved_only=True)
    with pytest.raises(vault.EntryNotFound):
        vault.modify(lea, lea.user, "company.vat", "LU15027442")  # the record has none: add it


@pytest.mark.parametrize("name, allowed", [("lea", True), ("marc", True), ("zoe", False)])
def test_managers_and_admins_edit_readers_read(space, name, allowed):
    who = member(space, name)
    assert len(vault.vault(who).groups) == 2  # everyone reads
    if allowed:
        vault.add(who, who.user, "bank.iban", IBAN)
        vault.modify(who, who.user, "bank.iban", "DE89 3704 0044 0532 0130 00")
        vault.delete(who, who.user, "bank.iban")
        assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)][-3:] == [
            "vault.added",
            "vault.modified",
            "vault.deleted",
        ]
        entry = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
        assert entry.actor_id == who.user.id and entry.space_id == space.id
        assert entry.details == {"key": "bank.iban"}  # the key, never the value
        return
    VaultEntry.create(space=space, key="bank.iban", value="LU280019400644750000")
    for operation, args in (
        (vault.add, ("bank.holder", "Guichet")),
        (vault.modify, ("bank.iban", IBAN)),
        (vault.delete, ("bank.iban",)),
    ):
        with pytest.raises(spaces.NotAllowed):
            operation(who, who.user, *args)
    assert values(space) == {"bank.iban": "LU280019400644750000"}


def test_strangers_and_private_spaces_have_no_vault(space):
    eve = factories.user("eve", email="eve@example.lu")
    with pytest.raises(spaces.SpaceNotFound):
        spaces.membership_for(eve, space.id)
    private = factories.space(eve, name="Espace privé d'Eve", kind="private")
    own = spaces.membership_for(eve, private.id)
    with pytest.raises(spaces.ProfessionalOnly):
        vault.vault(own)
    with pytest.raises(spaces.ProfessionalOnly):
        vault.add(own, eve, "bank.iban", IBAN)
    assert VaultEntry.select().count() == 0
