from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from blueprints.forms import Form


class LoginForm(Form):
    email = EmailField(
        _l("Adresse électronique"),
        validators=[DataRequired(_l("Saisissez votre adresse électronique.")), Length(max=320)],
    )
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired(_l("Saisissez votre mot de passe.")), Length(max=128)]
    )
