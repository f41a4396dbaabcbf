from flask import abort, render_template

from blueprints.dev import bp
from blueprints.responses import pdf_response
from models import Letter, OutboxMail
from services import letters


def _get_or_404(model, pk):
    return model.get_or_none(model.id == pk) or abort(404)


@bp.get("/courriels")
def outbox():
    mails = OutboxMail.select().order_by(OutboxMail.id.desc()).limit(100)
    return render_template("dev/outbox.html", mails=mails)


@bp.get("/courriels/<int:mail_id>")
def outbox_mail(mail_id):
    return render_template("dev/mail.html", mail=_get_or_404(OutboxMail, mail_id))


@bp.get("/courriers")
def letters_list():
    return render_template("dev/letters.html", letters=Letter.select().order_by(Letter.id.desc()).limit(100))


@bp.get("/courriers/<int:letter_id>.pdf")
def letter_pdf(letter_id):
    letter = _get_or_404(Letter, letter_id)
    return pdf_response(letters.render_pdf([letter]), f"courrier-{letter.id}.pdf")


@bp.get("/courriers/a-imprimer.pdf")
def letters_batch_pdf():
    batch = list(letters.pending())
    if not batch:
        abort(404)
    return pdf_response(letters.render_pdf(batch), "courriers-a-imprimer.pdf")
