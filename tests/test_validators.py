import datetime

import pytest
from hypothesis import given, strategies as st
from stdnum import luhn, verhoeff

import validators
from validators import InvalidIdentifier

VALID_MATRICULE = "1983081974925"


def with_checks(prefix):
    """Append the Luhn and Verhoeff digits, both computed over the 11-digit prefix."""
    return prefix + luhn.calc_check_digit(prefix) + verhoeff.calc_check_digit(prefix)


# --- matricule -------------------------------------------------------------


@pytest.mark.parametrize("value", [VALID_MATRICULE, "1983 0819 749 25", " 1983081974925 "])
def test_matricule_valid(value):
    assert validators.matricule(value) == VALID_MATRICULE


def test_invalid_identifier_is_value_error():
    with pytest.raises(ValueError):
        validators.matricule("123")


@pytest.mark.parametrize(
    "value,message",
    [
        ("1983081974935", "contrôle"),  # wrong Luhn digit
        ("1983081974926", "contrôle"),  # wrong Verhoeff digit
        ("1983081974825", "contrôle"),  # serial digit changed
        ("1983081874925", "contrôle"),  # day changed (still a valid date)
        ("198308197492", "13 chiffres"),  # too short
        ("19830819749250", "13 chiffres"),  # too long
        ("198308197492A", "13 chiffres"),  # letter
        ("", "13 chiffres"),
        ("1983-08-19-749-25", "13 chiffres"),
    ],
)
def test_matricule_invalid(value, message):
    with pytest.raises(InvalidIdentifier, match=message):
        validators.matricule(value)


@pytest.mark.parametrize(
    "prefix",
    [
        "19831319749",  # month 13
        "19830232749",  # 32nd day
        "19830230749",  # 30 February
        "19010229749",  # 29 February of a non-leap year
        "18491231749",  # before 1850
        f"{datetime.date.today().year + 1}0101749",  # future year
        "19830032749",  # unknown month, day 32
    ],
)
def test_matricule_bad_date(prefix):
    # Check digits are correct, so only the date can be the reason for rejection.
    with pytest.raises(InvalidIdentifier, match="date"):
        validators.matricule(with_checks(prefix))


@pytest.mark.parametrize("prefix", ["19830000749", "19830019749", "19830800749", "20000229123"])
def test_matricule_unknown_month_or_day_and_leap_day_accepted(prefix):
    number = with_checks(prefix)
    assert validators.matricule(number) == number


def test_matricule_rejects_non_string():
    with pytest.raises(InvalidIdentifier):
        validators.matricule(None)


def test_format_matricule():
    assert validators.format_matricule(VALID_MATRICULE) == "1983 0819 749 25"


dates = st.dates(min_value=datetime.date(1850, 1, 1), max_value=datetime.date.today())


@st.composite
def matricules(draw):
    date = draw(dates)
    month = draw(st.sampled_from([f"{date.month:02d}", "00"]))
    day = draw(st.sampled_from([f"{date.day:02d}", "00"]))
    serial = draw(st.from_regex(r"\A[0-9]{3}\Z"))
    return with_checks(f"{date.year:04d}{month}{day}{serial}")


@given(matricules())
def test_matricule_property_valid(number):
    assert validators.matricule(number) == number


@given(matricules(), st.integers(0, 12), st.integers(1, 9))
def test_matricule_property_single_digit_change_rejected(number, position, delta):
    changed = str((int(number[position]) + delta) % 10)
    mutated = number[:position] + changed + number[position + 1 :]
    assert mutated != number
    with pytest.raises(InvalidIdentifier):
        validators.matricule(mutated)


# --- RCS / SIREN / SIRET / company identifier ------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("B123456", "B123456"),
        ("b 12345", "B12345"),
        ("A1", "A1"),
        ("E 5678", "E5678"),
        ("F12", "F12"),
        ("G 123", "G123"),
        ("j999999", "J999999"),
        ("K 1", "K1"),
    ],
)
def test_lu_rcs_valid(value, expected):
    assert validators.lu_rcs(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "B",
        "B1234567",
        "123456",
        "BB12345",
        "B12A45",
        "",
        "B-12345",
        "X12",
        "I123",
        "L123",
        "Z1",
        "B0",
        "B012345",
        "É123",
    ],
)
def test_lu_rcs_invalid(value):
    with pytest.raises(InvalidIdentifier, match="RCS"):
        validators.lu_rcs(value)


def test_lu_rcs_error_explains_the_format():
    with pytest.raises(InvalidIdentifier) as refused:
        validators.lu_rcs("X12")
    message = str(refused.value)
    assert "A, B, C, D, E, F, G, H, J ou K" in message and "6 chiffres" in message and "B123456" in message


RCS_SECTIONS = "ABCDEFGHJK"  # the sections of the Luxembourg register


@given(
    st.sampled_from(RCS_SECTIONS), st.integers(min_value=1, max_value=999_999), st.booleans(), st.booleans()
)
def test_lu_rcs_property_section_and_number_accepted(section, number, lower, spaced):
    value = (section.lower() if lower else section) + (" " if spaced else "") + str(number)
    assert validators.lu_rcs(value) == f"{section}{number}"


@given(
    st.characters(min_codepoint=0x41, max_codepoint=0x5A).filter(lambda c: c not in RCS_SECTIONS),
    st.integers(min_value=1, max_value=999_999),
)
def test_lu_rcs_property_other_letters_refused(letter, number):
    with pytest.raises(InvalidIdentifier, match="RCS"):
        validators.lu_rcs(f"{letter}{number}")


@given(st.sampled_from(RCS_SECTIONS), st.from_regex(r"\A(0[0-9]{0,5}|[1-9][0-9]{6,9})\Z"))
def test_lu_rcs_property_leading_zero_or_too_long_refused(section, digits):
    with pytest.raises(InvalidIdentifier, match="RCS"):
        validators.lu_rcs(section + digits)


@pytest.mark.parametrize("value", ["732829320", "732 829 320", "732.829.320"])
def test_fr_siren_valid(value):
    assert validators.fr_siren(value) == "732829320"


@pytest.mark.parametrize("value", ["732829321", "73282932", "7328293200", "73282932A", ""])
def test_fr_siren_invalid(value):
    with pytest.raises(InvalidIdentifier, match="SIREN"):
        validators.fr_siren(value)


@given(st.from_regex(r"\A[0-9]{8}\Z"))
def test_fr_siren_property_luhn_generated_accepted(prefix):
    number = prefix + luhn.calc_check_digit(prefix)
    assert validators.fr_siren(number) == number


@pytest.mark.parametrize("value", ["73282932000074", "732 829 320 00074"])
def test_fr_siret_valid(value):
    assert validators.fr_siret(value) == "73282932000074"


@pytest.mark.parametrize("value", ["73282932000075", "7328293200007", "732829320", "7328293200007X"])
def test_fr_siret_invalid(value):
    with pytest.raises(InvalidIdentifier, match="SIRET"):
        validators.fr_siret(value)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("B123456", ("rcs", "B123456")),
        ("b 12345", ("rcs", "B12345")),
        ("732829320", ("siren", "732829320")),
        ("732 829 320", ("siren", "732829320")),
    ],
)
def test_company_identifier_valid(value, expected):
    assert validators.company_identifier(value) == expected


@pytest.mark.parametrize("value", ["732829321", "B1234567", "12345", "", "LU15027442", "X12", "B012"])
def test_company_identifier_invalid(value):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validators.company_identifier(value)
    message = str(excinfo.value)
    assert "RCS" in message and "SIREN" in message
    assert "A, B, C, D, E, F, G, H, J ou K" in message  # the format is explained, not only an example


# --- VAT --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["LU15027442", "lu 150 274 42", "15027442"])
def test_lu_vat_valid(value):
    assert validators.lu_vat(value) == "LU15027442"


@pytest.mark.parametrize("value", ["LU15027443", "LU1502744", "LU150274420", "FR40303265045", ""])
def test_lu_vat_invalid(value):
    with pytest.raises(InvalidIdentifier, match="TVA"):
        validators.lu_vat(value)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("LU15027442", "LU15027442"),
        ("15027442", "LU15027442"),
        ("FR40303265045", "FR40303265045"),
        ("fr 40 303 265 045", "FR40303265045"),
    ],
)
def test_vat_number_valid(value, expected):
    assert validators.vat_number(value) == expected


@pytest.mark.parametrize("value", ["FR41303265045", "LU15027443", "DE136695976", "B123456", ""])
def test_vat_number_invalid(value):
    with pytest.raises(InvalidIdentifier, match="TVA"):
        validators.vat_number(value)


# --- IBAN -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("LU28 0019 4006 4475 0000", "LU280019400644750000"),
        ("lu280019400644750000", "LU280019400644750000"),
        ("FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"),
    ],
)
def test_iban_valid(value, expected):
    assert validators.iban(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "LU29 0019 4006 4475 0000",  # wrong check digits
        "LU28 0019 4006 4475 000",  # wrong length
        "FR14 2004 1010 0505 0001 3M02 607",
        "XX28 0019 4006 4475 0000",  # unknown country
        "",
    ],
)
def test_iban_invalid(value):
    with pytest.raises(InvalidIdentifier, match="IBAN"):
        validators.iban(value)


def test_format_iban():
    assert validators.format_iban("lu280019400644750000") == "LU28 0019 4006 4475 0000"
