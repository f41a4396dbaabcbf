"""Journal d'audit: the filtered entries a page at a time (a GET form; htmx swaps the journal
in place), Exporter (CSV) of every filtered entry (streamed), Vérifier la chaîne (a POST:
the result is said on the journal's page)."""

from flask import Response, abort, flash, request, stream_with_context, url_for
from flask_babel import gettext as _, ngettext

from blueprints.backoffice import bp
from blueprints.backoffice.routes import helpdesk_required
from blueprints.forms import ActionForm
from blueprints.htmx import htmx_location, is_htmx, render_page_or_partial
from blueprints.params import MAX_ID, page_number
from database import PAGE_SIZE
from services import audit_journal


def journal_filters():
    """The journal's filters as its form sends them; what does not parse is left out, and said."""
    args, problems = request.args, []
    space = args.get("space", "").strip()
    space_id = None
    if space:
        if space.isdigit() and 0 < int(space) <= MAX_ID:
            space_id = int(space)
        else:
            problems.append(_("Le numéro d'espace est un nombre entier : ce filtre est ignoré."))
    dates = {}
    for name in ("from", "to"):
        value = args.get(name, "").strip()
        if value:
            try:
                dates[name] = audit_journal.parse_day(value)
            except ValueError:
                problems.append(_("Une date s'écrit AAAA-MM-JJ : ce filtre est ignoré."))
    filters = audit_journal.Filters(
        person=args.get("person", "").strip()[:100],
        space_id=space_id,
        action=args.get("action", "").strip()[:81],
        date_from=dates.get("from"),
        date_to=dates.get("to"),
    )
    return filters, problems


def filter_args(filters):
    """The query arguments that give `filters` again (pages, export)."""
    values = {
        "person": filters.person,
        "space": filters.space_id,
        "action": filters.action,
        "from": filters.date_from and filters.date_from.isoformat(),
        "to": filters.date_to and filters.date_to.isoformat(),
    }
    return {name: value for name, value in values.items() if value}


@bp.get("/helpdesk/journal")
@helpdesk_required
def audit(agent):
    filters, problems = journal_filters()
    page = page_number()
    rows, total = audit_journal.entries(filters, page)
    return render_page_or_partial(
        "backoffice/helpdesk_journal.html",
        "backoffice/_helpdesk_journal.html",
        agent=agent,
        rows=rows,
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        filters=filters,
        args=filter_args(filters),
        problems=problems,
        actions=audit_journal.actions(),
        action_form=ActionForm(formdata=None),
        inline_flashes=is_htmx(),
    )


@bp.get("/helpdesk/journal/export.csv")
@helpdesk_required
def audit_export(agent):
    filters, _problems = journal_filters()
    lines = audit_journal.export(agent, filters)
    response = Response(stream_with_context(lines), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="journal-audit.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/helpdesk/journal/verification")
@helpdesk_required
def audit_verify(agent):
    if not ActionForm().validate_on_submit():
        abort(400)
    result = audit_journal.verify(agent)
    if result.intact:
        flash(
            ngettext(
                "Chaîne d'audit intacte : %(num)d entrée vérifiée, la dernière a l'empreinte %(head)s.",
                "Chaîne d'audit intacte : %(num)d entrées vérifiées, la dernière a l'empreinte %(head)s.",
                result.count,
                head=result.head,
            ),
            "success",
        )
    else:
        flash(_("Chaîne d'audit rompue. %(explanation)s", explanation=result.explanation), "error")
    return htmx_location(url_for("backoffice.audit", **request.args), "#journal")
