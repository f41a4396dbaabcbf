"""What the templates call once per row of a list, made cheap: the `date` and `datetime`
filters (Flask-Babel's formats, with the language's patterns and the time zone looked up once
per language and zone instead of per date), `row_url` (a row's link built from one `url_for`
per list), `memo` (a macro's HTML made once per distinct arguments) and, for the views,
`translated` (a list's labels translated once). Also what every page calls a few dozen
times: `csrf_token` (one per form) and `url_for` (the menus' and footer's links)."""

import datetime
import re
from functools import lru_cache
from operator import attrgetter
from urllib.parse import quote

from babel.dates import UTC, get_date_format, get_datetime_format, get_month_names, get_time_format
from flask import g, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, get_babel, get_locale, get_timezone
from flask_wtf.csrf import generate_csrf

from services.languages import per_language

NAMED_FORMATS = ("short", "medium", "long", "full")


def init_app(app):
    # Dates in the person's language and the portal's time zone (stored naive UTC).
    app.jinja_env.filters["date"] = lambda value: _formats().date(value) if value else ""
    app.jinja_env.filters["datetime"] = lambda value: _formats().datetime(value) if value else ""
    app.jinja_env.globals["row_url"] = row_url
    app.jinja_env.globals["memo"] = memo
    app.jinja_env.globals["url_for"] = template_url_for
    field = app.config["WTF_CSRF_FIELD_NAME"]
    # Flask-WTF's csrf_token(): once made, the request's token is on `g` under the field's
    # name; read from there instead of going through its configuration at each form.
    app.jinja_env.globals["csrf_token"] = lambda: g.get(field) or generate_csrf()


class Formats:
    """Flask-Babel's `format_date(value)` and `format_datetime(value, "short")` for one
    locale and time zone, each a single `%` of the date's fields: what Babel looks up and
    parses per date is done here once (the same strings: tests/test_locale_formats.py)."""

    def __init__(self, locale, tzinfo, date_format, datetime_format):
        self.tzinfo = tzinfo
        self.date_text, self.date_fields = _compiled(get_date_format(date_format, locale=locale), locale)
        # Babel's format_datetime: the language's "{1} {0}" with the date, then the time.
        joined = get_datetime_format(datetime_format, locale=locale).replace("'", "")
        day = _compiled(get_date_format(datetime_format, locale=locale), locale)
        time = _compiled(get_time_format(datetime_format, locale=locale), locale)
        parts = [
            {"{0}": time, "{1}": day}.get(part, (part.replace("%", "%%"), ()))
            for part in re.split(r"(\{[01]\})", joined)
        ]
        self.datetime_text = "".join(text for text, _ in parts)
        self.datetime_fields = tuple(field for _, fields in parts for field in fields)

    def _local(self, moment):
        """A datetime (naive: UTC) in the time zone, as Flask-Babel rebases it (without its
        pytz `normalize`: `astimezone` already gives the zone's offset at that moment)."""
        return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(self.tzinfo)

    def date(self, value):
        if isinstance(value, datetime.datetime):
            value = self._local(value)
        return self.date_text % tuple(field(value) for field in self.date_fields)

    def datetime(self, value):
        if not isinstance(value, datetime.datetime):
            return format_datetime(value, "short")  # a date or a timestamp: Babel's own way
        moment = self._local(value)
        return self.datetime_text % tuple(field(moment) for field in self.datetime_fields)


def _compiled(pattern, locale):
    """A Babel date or time pattern as a %-format and the functions giving its values from a
    date or datetime, written as Babel's DateTimeFormat writes them: numbers zero-padded to
    the field's width ("yy": the last two digits of the year), month names from the
    locale's tables. Raises Unsupported for the other fields (weekdays, eras, zones…)."""
    fields = []

    def field(match):
        name = match.group(1)
        char, width = name[0], len(name)
        if char == "M" and width > 2:
            names = get_month_names({3: "abbreviated", 4: "wide", 5: "narrow"}[width], "format", locale)
            fields.append(lambda moment: names[moment.month])
            return "%s"
        if char not in NUMBERS or (char != "y" and width > 2):
            raise Unsupported(name)
        number = NUMBERS[char]
        fields.append((lambda moment: number(moment) % 100) if name == "yy" else number)
        return f"%0{width}d"

    return re.sub(r"%\((\w+)\)s", field, pattern.format), tuple(fields)


NUMBERS = {
    "y": attrgetter("year"),
    "M": attrgetter("month"),
    "d": attrgetter("day"),
    "H": attrgetter("hour"),
    "m": attrgetter("minute"),
    "s": attrgetter("second"),
}


class Unsupported(ValueError):
    """A pattern field `_compiled` does not write: Flask-Babel formats those dates."""


class BabelFormats:
    """Outside a request's Flask-Babel context (or with formats configured as patterns):
    Flask-Babel itself."""

    @staticmethod
    def date(value):
        return format_date(value)

    @staticmethod
    def datetime(value):
        return format_datetime(value, "short")


@lru_cache(maxsize=64)
def _formats_for(locale, tzinfo, date_format, datetime_format):
    try:
        return Formats(locale, tzinfo, date_format, datetime_format)
    except Unsupported:
        return BabelFormats


def _formats():
    """The formats of the current language and time zone, made once per request and
    language (force_locale)."""
    return per_language("template_formats", _made_formats)


def _made_formats():
    locale, tzinfo = get_locale(), get_timezone()
    formats = get_babel().instance.date_formats
    # As Flask-Babel's _get_format: a named format may be configured as a pattern.
    date_format = formats["date"]
    if date_format in NAMED_FORMATS:
        date_format = formats[f"date.{date_format}"] or date_format
    datetime_format = formats["datetime.short"] or "short"
    if locale is None or tzinfo is None or {date_format, datetime_format} - set(NAMED_FORMATS):
        return BabelFormats
    return _formats_for(locale, tzinfo, date_format, datetime_format)


def memo(macro):
    """`macro` remembered for the page: its HTML made once for each distinct arguments (a
    list's rows show a handful of statuses). Only for a macro whose HTML depends on its
    arguments alone; the arguments must be hashable."""
    made = {}

    def remembered(*args):
        if args not in made:
            made[args] = macro(*args)
        return made[args]

    return remembered


def translated(labels):
    """`labels` by key (lazy strings: statuses, roles) as text: translated once for the page,
    not each time a row shows one (a lazy string is translated again at every use)."""
    return {key: str(label) for key, label in labels.items()}


# A row id that no URL holds otherwise (ids stop at 2**31 - 1): where a row's value goes.
ROW_VALUE = 987_654_321_987_654_321
SEGMENT_SAFE = "!$&'()*+,/:;=@"  # what werkzeug's converters leave unquoted in a path segment


def row_url(endpoint, argument, **values):
    """The URL of `endpoint` for each row of a list: `url_for` once with the page's `values`
    and a stand-in for the row's `argument`; the result, called with a row's value (an id or
    a plain string segment: a slug), gives `url_for(endpoint, **values, <argument>=value)`."""
    prefix, suffix = url_for(endpoint, **values, **{argument: ROW_VALUE}).split(str(ROW_VALUE))
    return lambda value: (
        prefix + (str(value) if isinstance(value, int) else quote(value, safe=SEGMENT_SAFE)) + suffix
    )


def template_url_for(endpoint, **values):
    """The templates' `url_for`: a link naming no row (a page without values, a static file:
    the ~25 links of the menus, the footer and the head of every page) built once for the
    application's path and kept while the app runs (routes never change); the others built."""
    # (".name" is relative to the request's blueprint: built each time.)
    if has_request_context() and values.keys() <= {"filename"} and endpoint[:1] != ".":
        return _fixed_url(request.script_root, endpoint, values.get("filename"))
    return url_for(endpoint, **values)


@lru_cache(maxsize=256)  # the templates' literal endpoints and static files: a few dozen
def _fixed_url(script_root, endpoint, filename):
    return url_for(endpoint) if filename is None else url_for(endpoint, filename=filename)
