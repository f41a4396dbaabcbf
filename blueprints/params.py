"""Request parameters every area reads the same way: row ids in URLs, page numbers, the
search box."""
from flask import request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # ids beyond a 32-bit integer are not found, not a database error
MAX_PAGE = 100_000


class IdConverter(IntegerConverter):
    """`<id:…>`: a positive row id that fits the database's integer; anything else is a 404
    rather than an overflow in the query."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def form_id(name):
    """A row id posted in a form field, or None when missing or out of range."""
    value = request.form.get(name, type=int)
    return value if value and 0 < value <= MAX_ID else None


def page_number():
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def search_query():
    return request.args.get("q", "").strip()[:100]
