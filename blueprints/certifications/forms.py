from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.forms import Form


class CodeForm(Form):
    code = StringField(
        _l("Code d'accès"), validators=[DataRequired(_l("Saisissez le code d'accès.")), Length(max=40)]
    )


class MandateForm(Form):
    service = SelectField(_l("Service"), coerce=int, validators=[DataRequired(_l("Choisissez le service."))])
    ends_on = DateField(
        _l("Date de fin du mandat"), validators=[DataRequired(_l("Choisissez la date de fin du mandat."))]
    )
    note = StringField(_l("Mandataire prévu (note)"), validators=[Optional(), Length(max=200)])


class RequestForm(Form):
    reason = TextAreaField(
        _l("Motif de la demande"), validators=[DataRequired(_l("Expliquez votre demande.")), Length(max=4000)]
    )
    attachment = FileField(_l("Pièce justificative (facultative)"))
