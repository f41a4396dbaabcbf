"""Vérifier un accusé de réception: public, anyone may upload a receipt and learn whether it is
genuine and unaltered (200) or cannot be confirmed (422), and nothing else."""

from flask import request
from flask_babel import gettext as _

from blueprints.htmx import render_page_or_partial
from blueprints.params import uploads_up_to
from blueprints.procedures import bp
from blueprints.procedures.forms import VerifyForm
from services import receipts

MAX_RECEIPT = 10 * 1024 * 1024


def verify_page(form, verdict=None, status=200):
    return render_page_or_partial(
        "page.html",
        "procedures/_verify.html",
        status=status,
        title=_("Vérifier un accusé de réception"),
        form=form,
        verdict=verdict,
    )


@bp.route("/verifier-un-accuse", methods=["GET", "POST"])
@uploads_up_to(MAX_RECEIPT + 1024 * 1024)
def verify():
    if request.method == "GET":
        return verify_page(VerifyForm(formdata=None))
    form = VerifyForm()
    if not form.validate_on_submit():
        return verify_page(form, status=422)
    content = form.receipt.data.read(MAX_RECEIPT + 1)
    genuine = len(content) <= MAX_RECEIPT and receipts.verify(content)
    return verify_page(VerifyForm(formdata=None), genuine, 200 if genuine else 422)
