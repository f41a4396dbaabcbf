"""Registre des entreprises, the helpdesk's: the register searched by name or identifier a
page at a time, and imported from a CSV file (the SIRENE extract or the portal's RCS
layout, services/company_imports.py). An import is a real POST: a 303 to the register,
which htmx swaps in place, the counts said; a refused file shows the page again with the
reason beside the file or per line, with 422, and nothing imported."""

from flask import flash, url_for
from flask_babel import format_number, lazy_gettext as _l

from blueprints.backoffice import bp
from blueprints.backoffice.helpdesk_forms import CompanyImportForm
from blueprints.backoffice.routes import helpdesk_required
from blueprints.forms import refused_beside
from blueprints.htmx import htmx_location, is_htmx, render_page_or_partial
from blueprints.params import page_number, search_query, uploads_up_to
from blueprints.responses import file_response
from database import PAGE_SIZE
from services import companies, company_imports, csv_files

# Lines of a refused file listed on the page; the others are counted.
LISTED_LINES = 100


def register_page(agent, status=200, form=None, refused=None):
    query, page = search_query(), page_number()
    rows, total = companies.search(query, page)
    return render_page_or_partial(
        "backoffice/companies.html",
        "backoffice/_companies.html",
        status=status,
        agent=agent,
        query=query,
        companies=rows,
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        masked_iban=companies.masked_iban,
        sources=companies.SOURCES,
        form=form or CompanyImportForm(formdata=None),
        refused=refused,
        listed_lines=LISTED_LINES,
        columns=company_imports.RCS_COLUMNS,
        max_lines=company_imports.MAX_LINES,
        inline_flashes=is_htmx(),
    )


@bp.get("/helpdesk/entreprises", endpoint="companies")
@helpdesk_required
def company_register(agent):
    return register_page(agent)


@bp.post("/helpdesk/entreprises/import")
@uploads_up_to(company_imports.MAX_FILE_SIZE + 64 * 1024)
@helpdesk_required
def import_companies(agent):
    form = CompanyImportForm()
    if not form.validate_on_submit():
        return register_page(agent, 422, form=form)
    data = form.file.data.read(company_imports.MAX_FILE_SIZE + 1)
    try:
        done = company_imports.import_file(data, form.format.data, actor=agent)
    except company_imports.LinesRefused as refused:
        return register_page(agent, refused.status, form=form, refused=refused)
    except (csv_files.FileRefused, company_imports.ImportCollided) as refused:
        refused_beside(form.file, refused.message)
        return register_page(agent, refused.status, form=form)
    flash(
        str(
            _l(
                "Registre des entreprises mis à jour (%(format)s) — ajoutées : %(added)s, mises à jour : "
                "%(updated)s, inchangées : %(unchanged)s, établissements non siège ignorés : %(skipped)s.",
                format=company_imports.FORMATS[done.format],
                added=format_number(done.added),
                updated=format_number(done.updated),
                unchanged=format_number(done.unchanged),
                skipped=format_number(done.skipped),
            )
        ),
        "success",
    )
    return htmx_location(url_for("backoffice.companies"), "#companies")


@bp.get("/helpdesk/entreprises/exemple-rcs.csv")
@helpdesk_required
def companies_example(agent):
    data = company_imports.example_csv().encode()
    return file_response(data, "text/csv; charset=utf-8", "exemple-registre-rcs.csv", download=True)
