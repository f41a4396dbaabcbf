from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField, TelField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.forms import Form, options
from services.space_wizard import LEGAL_FORMS
from services.spaces import ROLES


class SpaceNameForm(Form):
    name = StringField(
        _l("Nom de l'espace"), validators=[DataRequired(_l("Donnez un nom à votre espace.")), Length(max=100)]
    )


class CompanyForm(Form):
    """Step 2. Formats (RCS/SIREN, VAT, e-mail) are checked by services.space_wizard.clean_company."""

    company_name = StringField(
        _l("Raison sociale"), validators=[DataRequired(_l("Saisissez la raison sociale.")), Length(max=200)]
    )
    legal_form = SelectField(
        _l("Forme juridique"),
        choices=options([("", _l("Choisissez…"))] + LEGAL_FORMS),
        validators=[DataRequired(_l("Choisissez la forme juridique."))],
    )
    identifier = StringField(
        _l("Numéro RCS (Luxembourg) ou SIREN (France)"),
        validators=[DataRequired(_l("Saisissez le numéro RCS ou SIREN.")), Length(max=20)],
    )
    vat_number = StringField(_l("Numéro de TVA"), validators=[Optional(), Length(max=20)])
    street = StringField(
        _l("Numéro et rue"), validators=[DataRequired(_l("Saisissez l'adresse.")), Length(max=200)]
    )
    postcode = StringField(
        _l("Code postal"), validators=[DataRequired(_l("Saisissez le code postal.")), Length(max=20)]
    )
    city = StringField(
        _l("Localité"), validators=[DataRequired(_l("Saisissez la localité.")), Length(max=100)]
    )
    country = StringField(
        _l("Pays"), default="Luxembourg", validators=[DataRequired(_l("Saisissez le pays.")), Length(max=100)]
    )
    company_email = EmailField(
        _l("Adresse e-mail de l'entreprise"),
        validators=[DataRequired(_l("Saisissez l'adresse e-mail de l'entreprise.")), Length(max=320)],
    )
    phone = TelField(_l("Téléphone"), validators=[Optional(), Length(max=40)])


ROLE_CHOICES = options(ROLES.items())


class InviteForm(Form):
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[DataRequired(_l("Saisissez l'adresse e-mail de la personne.")), Length(max=320)],
    )
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES, default="reader")


class RoleForm(Form):
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES)


class DeleteForm(Form):
    name = StringField(
        _l("Nom de l'espace"), validators=[DataRequired(_l("Saisissez le nom de l'espace pour confirmer."))]
    )


class MergeForm(Form):
    source = SelectField(
        _l("Espace à fusionner (source)"),
        coerce=int,
        validators=[DataRequired(_l("Choisissez l'espace source."))],
    )
    target = SelectField(
        _l("Espace qui reçoit tout (cible)"),
        coerce=int,
        validators=[DataRequired(_l("Choisissez l'espace cible."))],
    )


# The value's type (an IBAN, a VAT number…) is checked by services.vault.clean.
VALUE_CHECKS = [DataRequired(_l("Saisissez une valeur.")), Length(max=1000)]


class DataAddForm(Form):
    """Ajouter une information. The key's choices are the keys without a value yet, set by
    the view; the service refuses an unknown key and checks the value against its type."""

    key = SelectField(_l("Information"), validate_choice=False)
    value = StringField(_l("Valeur"), validators=VALUE_CHECKS)


class DataValueForm(Form):
    """Modifier: the new value (prefixed: the add form's fields are on the same page)."""

    value = StringField(_l("Valeur"), validators=VALUE_CHECKS)
