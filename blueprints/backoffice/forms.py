from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    IntegerField,
    MultipleFileField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from blueprints.forms import Form, options


class AgentLoginForm(Form):
    userid = StringField(
        _l("Identifiant d'agent"),
        validators=[DataRequired(_l("Saisissez votre identifiant.")), Length(max=64)],
    )
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired(_l("Saisissez votre mot de passe.")), Length(max=128)]
    )


class DecisionForm(Form):
    reason = TextAreaField(
        _l("Motif (obligatoire en cas de refus)"), validators=[Optional(), Length(max=4000)]
    )


class DossierDecisionForm(Form):
    """A decision on a dossier (prefixed by the decision: each has its form on the page);
    the text that some decisions require is the service's rule, not the form's."""

    text = TextAreaField(_l("Message"), validators=[Optional(), Length(max=4000)])


class DossierMessageForm(Form):
    body = TextAreaField(_l("Votre message"), validators=[Optional(), Length(max=4000)])


# --- Communications ------------------------------------------------------------------------


class CommunicationForm(Form):
    """Envoyer une communication. Which fields count depends on the audience chosen; the
    identifier's format, the service and the documents are the service's rules."""

    audience = RadioField(
        _l("Destinataires"),
        choices=options(
            [
                ("company", _l("Les espaces d'une entreprise")),
                ("service", _l("Les entreprises certifiées pour un service")),
            ]
        ),
        default="company",
    )
    identifier = StringField(
        _l("Numéro RCS ou SIREN de l'entreprise"), validators=[Optional(), Length(max=20)]
    )
    service = SelectField(_l("Service"), validate_choice=False, default="")
    subject = StringField(
        _l("Objet"), validators=[DataRequired(_l("Saisissez l'objet de la communication.")), Length(max=300)]
    )
    body = TextAreaField(
        _l("Texte"),
        validators=[DataRequired(_l("Saisissez le texte de la communication.")), Length(max=20000)],
    )
    documents = MultipleFileField(_l("Documents PDF (facultatif)"))


class IssueCodeForm(Form):
    """Codes d'accès → Émettre un code: what access_codes.check_code_request checks, as typed
    (its rules are the service's: the form only reads the fields)."""

    company_identifier = StringField(
        _l("Numéro d'identification de l'entreprise (RCS ou SIREN)"),
        validators=[DataRequired(_l("Saisissez le numéro RCS ou SIREN de l'entreprise.")), Length(max=40)],
    )
    # Either may be left empty for the company register's (check_code_request).
    company_name = StringField(_l("Nom enregistré de l'entreprise"), validators=[Optional(), Length(max=200)])
    address = TextAreaField(_l("Adresse postale"), validators=[Optional(), Length(max=1000)])
    service = SelectField(_l("Service"), validators=[DataRequired(_l("Choisissez le service."))])
    kind = SelectField(
        _l("Type de code"),
        choices=options([("holder", _l("Titulaire")), ("proxy", _l("Mandataire"))]),
        default="holder",
        validators=[DataRequired(_l("Choisissez le type de code."))],
    )
    activation_days = IntegerField(
        _l("Délai d'activation (jours)"),
        validators=[InputRequired(_l("Saisissez un nombre de jours."))],
    )
    valid_days = IntegerField(
        _l("Durée de validité de la certification (jours)"),
        validators=[InputRequired(_l("Saisissez un nombre de jours."))],
    )


class CodeBatchForm(Form):
    file = FileField(
        _l("Fichier CSV"), validators=[FileRequired(_l("Choisissez le fichier CSV des entreprises."))]
    )
