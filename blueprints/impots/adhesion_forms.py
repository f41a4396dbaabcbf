"""The forms of an impots space's services: J'adhère (the SIREN, then the services and what
they ask) and the activation code."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from blueprints.forms import Form


class SirenForm(Form):
    """J'adhère, first step: a GET form (nothing changes), hence no CSRF token."""

    class Meta:
        csrf = False

    siren = StringField(
        _l("Numéro SIREN de l'entreprise"),
        validators=[DataRequired(_l("Saisissez le numéro SIREN.")), Length(max=20)],
    )


class AdhesionForm(Form):
    siren = HiddenField(validators=[DataRequired(), Length(max=20)])
    services = SelectMultipleField(
        _l("Services"),
        coerce=int,
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=False,  # the service checks the choice against what is offered now
    )
    company_email = EmailField(
        _l("Adresse électronique de l'entreprise"), validators=[Optional(), Length(max=320)]
    )
    # Spaces dropped first: the length is that of the IBAN itself, as stored.
    iban = StringField(
        _l("IBAN du compte bancaire"),
        filters=[lambda value: value.replace(" ", "") if value else value],
        validators=[Optional(), Length(max=34)],
    )
    account_holder = StringField(_l("Titulaire du compte"), validators=[Optional(), Length(max=200)])


class ActivationCodeForm(Form):
    code = StringField(
        _l("Code d'activation reçu par courrier"),
        validators=[DataRequired(_l("Saisissez le code d'activation.")), Length(max=40)],
    )
