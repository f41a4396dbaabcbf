"""The helpdesk's forms: the catalogue (administrations, services, procedure files), the
accounts (space limit, unlocking) and the company register's imports. The rules (formats,
uniqueness, ranges) are the services'; the forms say what is missing or too long."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from blueprints.forms import Form, options
from services.company_imports import FORMATS

METHOD_LABELS = {"code": _l("Code d'accès"), "request": _l("Demande en ligne")}


class AdministrationEditForm(Form):
    name = StringField(_l("Nom"), validators=[DataRequired(_l("Saisissez le nom.")), Length(max=200)])
    certification_text = TextAreaField(
        _l("Modalités particulières (page Gestion de l'administration)"),
        validators=[Optional(), Length(max=4000)],
    )


class AdministrationForm(AdministrationEditForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Saisissez le code.")), Length(max=16)])


class ServiceEditForm(Form):
    name = StringField(_l("Nom"), validators=[DataRequired(_l("Saisissez le nom.")), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    requires_certification = BooleanField(_l("Exige une certification de l'espace"))
    methods = SelectMultipleField(
        _l("Certification accordée par"),
        choices=options(METHOD_LABELS.items()),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=True,
    )


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
