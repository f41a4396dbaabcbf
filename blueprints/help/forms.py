from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from blueprints.forms import Form, options
from services.contact import RATINGS

MESSAGE_MAX = 4000
COMMENT_MAX = 1000  # the seed's counter: 0/1000
FEEDBACK_PREFIX = "feedback"


class ContactForm(Form):
    name = StringField(
        _l("Votre nom"), validators=[DataRequired(_l("Saisissez votre nom.")), Length(max=200)]
    )
    email = EmailField(
        _l("Votre adresse e-mail"),
        validators=[DataRequired(_l("Saisissez votre adresse e-mail.")), Length(max=254)],
    )
    subject = StringField(
        _l("Objet"), validators=[DataRequired(_l("Saisissez l'objet de votre message.")), Length(max=200)]
    )
    message = TextAreaField(
        _l("Votre message"),
        validators=[
            DataRequired(_l("Écrivez votre message.")),
            Length(max=MESSAGE_MAX, message=_l("Votre message compte au plus 4000 caractères.")),
        ],
    )


class FeedbackForm(Form):
    """Votre avis nous intéresse (seed 000's wording), at the foot of every page: built with
    `prefix=FEEDBACK_PREFIX`, so that its fields' ids never meet the page's own."""

    page = HiddenField(validators=[Length(max=500)])
    found = RadioField(
        _l("Avez-vous trouvé ce que vous cherchiez ?"),
        choices=options([("yes", _l("Oui")), ("no", _l("Non"))]),
        validators=[DataRequired(_l("Répondez par Oui ou par Non."))],
    )
    rating = RadioField(
        _l("Comment évaluez-vous cette page ?"),
        choices=options([(str(value), label) for value, label in RATINGS.items()]),
        validators=[DataRequired(_l("Choisissez une note de Très mauvaise à Très bonne."))],
    )
    comment = TextAreaField(
        _l("Écrivez un commentaire et aidez-nous à améliorer cette page."),
        validators=[Length(max=COMMENT_MAX, message=_l("Votre commentaire compte au plus 1000 caractères."))],
    )


class ContactAnswerForm(Form):
    answer = TextAreaField(
        _l("Réponse"),
        validators=[
            DataRequired(_l("Écrivez la réponse.")),
            Length(max=MESSAGE_MAX, message=_l("La réponse compte au plus 4000 caractères.")),
        ],
    )
