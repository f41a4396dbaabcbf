from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField


class LanguageForm(FlaskForm):
    lang = StringField()  # checked against LANGUAGES by the view
    next = HiddenField()
