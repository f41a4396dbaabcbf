"""Request parameters every area reads the same way: row ids in URLs, page numbers, the
search box; and what no parameter may carry at all (control characters)."""

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

from blueprints.errors import render_error
from validators import CONTROL_CHARACTERS, LINE_CONTROL_CHARACTERS

MAX_ID = 2**31 - 1  # ids beyond a 32-bit integer are not found, not a database error
MAX_PAGE = 100_000


class IdConverter(IntegerConverter):
    """`<id:…>`: a positive row id that fits the database's integer; anything else is a 404
    rather than an overflow in the query."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def uploads_up_to(limit):
    """A view taking larger uploads than MAX_CONTENT_LENGTH says so (put it above the route's
    other decorators); `apply_upload_limit` applies it before anything reads the body."""

    def mark(view):
        view.max_content_length = limit
        return view

    return mark


def apply_upload_limit():
    view = current_app.view_functions.get(request.endpoint)
    limit = getattr(view, "max_content_length", None)
    if limit:
        request.max_content_length = limit


def _row_id(value):
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= MAX_ID else None


def form_id(name):
    """A row id posted in a form field, or None when missing or out of range."""
    return _row_id(request.form.get(name))


def form_ids(name):
    """The row ids posted under `name` (checked boxes), or None when one of them is none."""
    ids = [_row_id(value) for value in request.form.getlist(name)]
    return None if None in ids else ids


def page_number():
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def search_query():
    return request.args.get("q", "").strip()[:100]


def _strings(value):
    """Every string in a JSON document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def carries_control_characters():
    """Whether the request carries a control character anywhere a view could read it: the
    path and the query string (single-line: no line break or tab either), form fields and
    their names, uploaded files' names, JSON. Multi-line form values may hold tabs and
    line breaks; single-line fields refuse line breaks in their form (blueprints/forms.py)."""
    line_values = [request.path, *(text for pair in request.args.items(multi=True) for text in pair)]
    if any(LINE_CONTROL_CHARACTERS.search(text) for text in line_values):
        return True
    values = [text for pair in request.form.items(multi=True) for text in pair]
    values += [name for name in request.files]
    values += [upload.filename or "" for upload in request.files.values()]
    if request.is_json:
        values += _strings(request.get_json(silent=True))
    return any(CONTROL_CHARACTERS.search(text) for text in values)


def refuse_control_characters():
    """Before every request: a control character (a NUL byte above all, which PostgreSQL
    refuses) is answered 400 with the error page, before any view or the database sees it."""
    if carries_control_characters():
        return render_error(
            400,
            _l(
                "La requête contient des caractères de contrôle (comme le caractère nul), "
                "qui ne sont acceptés dans aucun champ. Retirez-les et réessayez."
            ),
        )
    return None
