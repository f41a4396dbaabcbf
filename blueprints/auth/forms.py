from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

import validators
from blueprints.forms import Form


class UserIdForm(Form):
    userid = StringField(
        _l("UserID"), validators=[DataRequired(_l("Saisissez votre UserID.")), Length(max=64)]
    )


class PasswordForm(Form):
    password = PasswordField(
        _l("Mot de passe (Password)"),
        validators=[DataRequired(_l("Saisissez votre mot de passe.")), Length(max=128)],
    )


class OTPForm(Form):
    otp = StringField(
        _l("OTP"),
        validators=[
            DataRequired(_l("Saisissez le code à 6 chiffres.")),
            Length(min=6, max=7, message=_l("Le code compte 6 chiffres.")),
        ],
    )


# A form's fields come (and their errors are listed) in the order they were created: the
# fields a page shows above its new password come from a mixin defined before
# NewPasswordMixin, those below it from the form's own body.


class ChosenUserIdMixin:
    userid = StringField(
        _l("UserID"), validators=[DataRequired(_l("Choisissez un UserID.")), Length(min=3, max=64)]
    )


class CurrentPasswordMixin:
    current_password = PasswordField(
        _l("Mot de passe actuel"), validators=[DataRequired(_l("Saisissez votre mot de passe actuel."))]
    )


class NewPasswordMixin:
    """A new password typed twice; `password_label` names the first field."""

    password_label = _l("Nouveau mot de passe")
    password = PasswordField(
        password_label, validators=[DataRequired(_l("Choisissez un mot de passe.")), Length(max=128)]
    )
    password_confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[
            DataRequired(_l("Confirmez le mot de passe.")),
            EqualTo("password", _l("Les deux mots de passe sont différents.")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.password.label.text = self.password_label


class EnrolmentForm(ChosenUserIdMixin, NewPasswordMixin, Form):
    password_label = _l("Mot de passe")
    secret_image = RadioField(
        _l("Image secrète"), validators=[DataRequired(_l("Choisissez une image secrète."))]
    )


class RegistrationForm(Form):
    first_name = StringField(
        _l("Votre prénom"), validators=[DataRequired(_l("Saisissez votre prénom.")), Length(max=100)]
    )
    last_name = StringField(
        _l("Votre nom"), validators=[DataRequired(_l("Saisissez votre nom.")), Length(max=100)]
    )
    email = EmailField(
        _l("Votre adresse e-mail"),
        validators=[
            DataRequired(_l("Saisissez votre adresse e-mail.")),
            Email(_l("Cette adresse e-mail n'est pas valide."), check_deliverability=False),
            Length(max=320),
        ],
    )
    matricule = StringField(
        _l("Votre numéro d'identification (Matricule Lux.)"),
        validators=[DataRequired(_l("Saisissez votre numéro d'identification."))],
    )
    street = StringField(
        _l("Numéro et rue"), validators=[DataRequired(_l("Saisissez votre adresse.")), Length(max=200)]
    )
    postcode = StringField(
        _l("Code postal"), validators=[DataRequired(_l("Saisissez le code postal.")), Length(max=20)]
    )
    city = StringField(
        _l("Localité"), validators=[DataRequired(_l("Saisissez la localité.")), Length(max=100)]
    )
    country = StringField(_l("Pays"), default="Luxembourg", validators=[Length(max=100)])

    def validate_matricule(self, field):
        try:
            field.data = validators.matricule(field.data)
        except validators.InvalidIdentifier as exc:
            raise ValidationError(str(exc)) from None


class ConfirmationCodeForm(Form):
    code = StringField(
        _l("Code de sécurité"), validators=[DataRequired(_l("Saisissez le code de sécurité de l'e-mail."))]
    )


class TermsForm(Form):
    accept = BooleanField(
        _l("Accepter les CGU"),
        validators=[DataRequired(_l("Il faut accepter les conditions générales d'utilisation."))],
    )


class ForgotPasswordForm(Form):
    identifier = StringField(
        _l("UserID ou adresse e-mail"),
        validators=[DataRequired(_l("Saisissez votre UserID ou votre adresse e-mail.")), Length(max=320)],
    )


class ResetPasswordForm(NewPasswordMixin, OTPForm):
    pass


class NewPasswordForm(NewPasswordMixin, Form):
    """An impots account's new password: no one-time code."""


class LostTokenForm(UserIdForm, PasswordForm):
    pass


class ChangePasswordForm(CurrentPasswordMixin, NewPasswordMixin, Form):
    pass
