"""The base of every form: what holds for all fields whatever the area."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, StringField, TextAreaField
from wtforms.validators import ValidationError


def single_line(form, field):
    # A line break in a name ends up in a mail subject (a header) or a redirect: refused.
    if field.data and ("\r" in field.data or "\n" in field.data):
        raise ValidationError(_l("Ce champ tient sur une seule ligne : retirez les retours à la ligne."))


class Form(FlaskForm):
    """Every text field but a text area (UserID, names, e-mail, hidden fields…) is
    single-line. Control characters never reach a form: the request is refused before
    (blueprints/params.py)."""

    def validate(self, extra_validators=None):
        extra = {name: list(validators) for name, validators in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if isinstance(field, StringField) and not isinstance(field, TextAreaField):
                extra.setdefault(name, []).append(single_line)
        return super().validate(extra)


class ActionForm(Form):
    """A button that changes something: only the CSRF token."""


def options(pairs):
    """The choices of a SelectField from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def refused_beside(field, message):
    """Show a service's refusal beside the field it concerns (WTForms' errors of a field
    validated already are a list, of one not validated a tuple)."""
    field.errors = [*field.errors, str(message)]
