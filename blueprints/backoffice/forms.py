from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.forms import Form


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
