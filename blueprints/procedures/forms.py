"""The forms of a dossier's page (Vérifier et signer, Envoyer un message) and of Vérifier un
accusé de réception."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput

from blueprints.forms import Form

MAX_MESSAGE = 5000


class SignForm(Form):
    # The dossier's version the page showed: a stale tab or a second submit is refused.
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    otp = StringField(
        _l("Code à 6 chiffres (OTP)"),
        validators=[
            DataRequired(_l("Saisissez le code à 6 chiffres.")),
            Length(min=6, max=7, message=_l("Le code compte 6 chiffres.")),
        ],
    )


class MessageForm(Form):
    body = TextAreaField(
        _l("Votre message"),
        validators=[
            DataRequired(_l("Écrivez votre message.")),
            Length(max=MAX_MESSAGE, message=_l("%(max)d caractères au plus.")),
        ],
    )
    attachment = FileField(_l("Pièce jointe (facultative)"))


class VerifyForm(Form):
    receipt = FileField(
        _l("Accusé de réception (fichier PDF)"),
        validators=[FileRequired(_l("Choisissez le fichier PDF de l'accusé de réception."))],
    )
