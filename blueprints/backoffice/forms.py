from flask_babel import lazy_gettext as _l
from wtforms import MultipleFileField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

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
