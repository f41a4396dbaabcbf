from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from blueprints.errors import with_retry_after
from blueprints.forms import refused_beside
from blueprints.help import bp
from blueprints.help.forms import FEEDBACK_PREFIX, ContactForm, FeedbackForm
from blueprints.htmx import htmx_location, is_htmx, render_page_or_partial, vary
from blueprints.sessions import page_language
from services import contact, throttle

# The blank form's HTML differs from page to page only by the page's path and the session's
# CSRF token: rendered once per language (and script root), with these two left as markers.
_PAGE_MARK = "__feedback_page__"
_CSRF_MARK = "__feedback_csrf__"


def blank_feedback_form(page=None):
    return FeedbackForm(
        formdata=None, prefix=FEEDBACK_PREFIX, data={"page": request.path if page is None else page}
    )


def blank_feedback():
    """The blank form of base.html, for the page being shown (about 5 ms a page when each
    page rendered it: its macros, WTForms widgets and a dozen gettext calls)."""
    key = (str(get_locale()), request.script_root)
    cache = current_app.extensions.setdefault("blank_feedback_html", {})
    html = cache.get(key)
    token = generate_csrf()
    if html is None:
        html = render_template("help/_feedback.html", feedback_form=blank_feedback_form(_PAGE_MARK))
        html = html.replace(token, _CSRF_MARK)
        cache[key] = html
    return Markup(html.replace(_PAGE_MARK, str(escape(request.path))).replace(_CSRF_MARK, token))


@bp.app_context_processor
def feedback_context():
    """Votre avis nous intéresse at the foot of every page (base.html): a blank form for
    the page being shown, built only when a full page asks for it."""
    return {"blank_feedback": blank_feedback}


@bp.get("/aide")
def guide():
    return render_template("help/guide.html")


@bp.get("/aspects-legaux")
def legal():
    return render_template("help/legal.html")


@bp.get("/accessibilite")
def accessibility():
    return render_template("help/accessibility.html")


def contact_page(form, status=200, error=None):
    response = render_page_or_partial(
        "page.html",
        "help/_contact.html",
        status=status,
        title=_("Contacter le Helpdesk"),
        form=form,
        error=error and error.message,
        inline_flashes=is_htmx(),  # a full page shows them in the layout already
    )
    return with_retry_after(response, error)


@bp.route("/contact", methods=["GET", "POST"])
def contact_form():
    if request.method == "GET":
        person = current_user if current_user.is_authenticated else None
        prefill = {"name": person.display_name, "email": person.email} if person else {}
        return contact_page(ContactForm(formdata=None, data=prefill))
    form = ContactForm()
    if not form.validate_on_submit():
        return contact_page(form, 422)
    try:
        contact.send_contact(
            form.name.data,
            form.email.data,
            form.subject.data,
            form.message.data,
            page_language(),
            user=current_user if current_user.is_authenticated else None,
            ip=request.remote_addr,
        )
    except contact.InvalidContact as refused:
        refused_beside(form[refused.field], refused.message)
        return contact_page(form, refused.status)
    except throttle.TooManySent as refused:
        return contact_page(form, refused.status, refused)
    flash(
        _(
            "Votre message a été envoyé au Helpdesk. Un accusé de réception part à l'adresse "
            "e-mail indiquée ; la réponse suivra à la même adresse."
        ),
        "success",
    )
    return htmx_location(url_for("help.contact_form"), "#contact-card")


def feedback_refused(form, status, error=None):
    """The form again with what is missing: in place for htmx, else a page of its own (the
    page it was sent from cannot be shown again with it)."""
    context = {"feedback_form": form, "feedback_error": error and error.message}
    if is_htmx():
        response = vary(make_response(render_template("help/_feedback.html", **context), status))
    else:
        response = render_page_or_partial(
            "page.html",
            "help/_feedback.html",
            status=status,
            title=_("Donnez un avis sur cette page"),
            standalone_feedback=True,
            **context,
        )
    return with_retry_after(response, error)


@bp.post("/avis")
def feedback():
    form = FeedbackForm(prefix=FEEDBACK_PREFIX)
    if not form.validate_on_submit():
        return feedback_refused(form, 422)
    try:
        contact.record_feedback(
            form.page.data,
            form.found.data == "yes",
            int(form.rating.data),
            form.comment.data,
            ip=request.remote_addr,
        )
    except throttle.TooManySent as refused:
        return feedback_refused(form, refused.status, refused)
    if is_htmx():
        return vary(make_response(render_template("help/_feedback_sent.html")))
    flash(_("Votre avis a été envoyé avec succès !"), "success")
    return redirect(contact.feedback_page(form.page.data), code=303)
