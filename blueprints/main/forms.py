from wtforms import HiddenField, StringField

from blueprints.forms import Form


class LanguageForm(Form):
    lang = StringField()  # checked against LANGUAGES by the view
    next = HiddenField()
