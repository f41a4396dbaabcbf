from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from blueprints.auth.forms import NewPasswordMixin
from blueprints.forms import Form


class LoginForm(Form):
    email = EmailField(
        _l("Adresse électronique"),
        validators=[DataRequired(_l("Saisissez votre adresse électronique.")), Length(max=320)],
    )
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired(_l("Saisissez votre mot de passe.")), Length(max=128)]
    )


# --- Créer mon espace professionnel -------------------------------------------------------------


class SignupForm(NewPasswordMixin, Form):
    """What both modes ask; `field_order` is the order of the page and of its error summary
    (the password fields come from a mixin defined before these)."""

    field_order = ()
    password_label = _l("Mot de passe")
    first_name = StringField(
        _l("Prénom"), validators=[DataRequired(_l("Saisissez votre prénom.")), Length(max=100)]
    )
    last_name = StringField(_l("Nom"), validators=[DataRequired(_l("Saisissez votre nom.")), Length(max=100)])
    # The login e-mail becomes the UserID, which holds 64 characters.
    email = EmailField(
        _l("Adresse électronique"),
        validators=[
            DataRequired(_l("Saisissez votre adresse électronique.")),
            Length(max=64, message=_l("Une adresse électronique de connexion compte au plus 64 caractères.")),
        ],
    )
    accept = BooleanField(
        _l("J'accepte les conditions générales d'utilisation"),
        validators=[DataRequired(_l("Il faut accepter les conditions générales d'utilisation."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        first = [name for name in self._fields if name not in self.field_order]  # the CSRF token
        self._fields = {name: self._fields[name] for name in (*first, *self.field_order)}


class SimplifiedForm(SignupForm):
    field_order = ("siren", "first_name", "last_name", "email", "password", "password_confirm", "accept")
    siren = StringField(
        _l("Numéro SIREN de l'entreprise"),
        validators=[DataRequired(_l("Saisissez le numéro SIREN de l'entreprise.")), Length(max=20)],
    )


class ExpertForm(SignupForm):
    field_order = ("email", "password", "password_confirm", "first_name", "last_name", "accept")


class ActivationForm(Form):
    email = EmailField(
        _l("Adresse électronique de connexion"),
        validators=[DataRequired(_l("Saisissez votre adresse électronique.")), Length(max=320)],
    )
    code = StringField(
        _l("Code d'activation"),
        validators=[DataRequired(_l("Saisissez le code d'activation reçu par courriel.")), Length(max=20)],
    )
