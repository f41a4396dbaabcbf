"""The helpdesk's forms: the catalogue (administrations, services, procedure files), the
accounts (space limit, unlocking) and the company register's imports. The rules (formats,
uniqueness, ranges) are the services'; the forms say what is missing or too long."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from blueprints.forms import Form, options
from services import languages
from services.company_imports import FORMATS

METHOD_LABELS = {"code": _l("Code d'accès"), "request": _l("Demande en ligne")}
LETTER_LANGUAGES = {"fr": _l("Français"), "de": _l("Allemand"), "en": _l("Anglais")}


# A page in German or English never shows the French: each text is given in the three
# languages (services/catalogue.py refuses a translation missing where the French is given).
def _name(label, message):
    return StringField(label, validators=[DataRequired(message), Length(max=200)])


def _text(label):
    return TextAreaField(label, validators=[Optional(), Length(max=4000)])


class AdministrationEditForm(Form):
    name = _name(_l("Nom"), _l("Saisissez le nom."))
    name_de = _name(_l("Nom en allemand"), _l("Saisissez le nom en allemand."))
    name_en = _name(_l("Nom en anglais"), _l("Saisissez le nom en anglais."))
    certification_text = _text(_l("Modalités particulières (page Gestion de l'administration)"))
    certification_text_de = _text(_l("Modalités particulières en allemand"))
    certification_text_en = _text(_l("Modalités particulières en anglais"))
    letter_language = SelectField(
        _l("Langue de ses courriers aux entreprises"),
        choices=options(LETTER_LANGUAGES.items()),
        default="fr",
        validators=[DataRequired(_l("Choisissez la langue des courriers."))],
    )


class AdministrationForm(AdministrationEditForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Saisissez le code.")), Length(max=16)])


class ServiceEditForm(Form):
    name = _name(_l("Nom"), _l("Saisissez le nom."))
    name_de = _name(_l("Nom en allemand"), _l("Saisissez le nom en allemand."))
    name_en = _name(_l("Nom en anglais"), _l("Saisissez le nom en anglais."))
    description = _text(_l("Description"))
    description_de = _text(_l("Description en allemand"))
    description_en = _text(_l("Description en anglais"))
    requires_certification = BooleanField(_l("Exige une certification de l'espace"))
    methods = SelectMultipleField(
        _l("Certification accordée par"),
        choices=options(METHOD_LABELS.items()),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=True,
    )


def translated_texts(form, *fields):
    """{"de": {field: text}, "en": {...}} of the form's `<field>_de` and `<field>_en`."""
    return {
        language: {field: form[f"{field}_{language}"].data for field in fields} for language in ("de", "en")
    }


def translated_data(row, *fields):
    """The form's `<field>_de`, `<field>_en` data of a catalogue row's translations."""
    return {
        f"{field}_{language}": row.translations.get(language, {}).get(field, "")
        for language in languages.OTHER_LANGUAGES
        for field in fields
    }


class ServiceForm(ServiceEditForm):
    slug = StringField(
        _l("Identifiant"), validators=[DataRequired(_l("Saisissez l'identifiant.")), Length(max=64)]
    )


class ProcedureFileForm(Form):
    definition = FileField(
        _l("Fichier de définition (JSON)"),
        validators=[FileRequired(_l("Choisissez le fichier de définition."))],
    )


class SpaceLimitForm(Form):
    userid = StringField(widget=HiddenInput(), validators=[DataRequired(), Length(max=64)])
    limit = IntegerField(
        _l("Limite d'espaces professionnels"),
        validators=[InputRequired(_l("Saisissez un nombre entier."))],
    )


class UnlockForm(Form):
    userid = StringField(
        _l("Identifiant"), validators=[DataRequired(_l("Saisissez l'identifiant.")), Length(max=64)]
    )


class CompanyImportForm(Form):
    """Registre des entreprises → Importer: a CSV file and its layout (services/company_imports.py)."""

    format = SelectField(
        _l("Format du fichier"),
        choices=options([("", _l("Choisissez…")), *FORMATS.items()]),
        validators=[DataRequired(_l("Choisissez le format du fichier."))],
    )
    file = FileField(_l("Fichier CSV"), validators=[FileRequired(_l("Choisissez le fichier CSV."))])
