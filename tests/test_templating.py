"""What the templates call per row (blueprints/templating.py): `row_url` gives `url_for`'s
URL for each row, `memo` a macro's HTML, `translated` the labels' text (the date filters:
tests/test_locale_formats.py)."""

import pytest
from flask import render_template_string, url_for
from flask_babel import force_locale

from blueprints.templating import memo, row_url, translated
from services import spaces


@pytest.mark.parametrize(
    "endpoint, argument, values, row_values",
    [
        ("spaces.change_role", "membership_id", {"space_id": 7}, [1, 42, 2**31 - 1]),
        ("backoffice.dossier", "dossier_id", {}, [3, 1234567]),
        ("spaces.home", "space_id", {"q": "a&b", "page": 2}, [5]),  # the query string follows
        ("certifications.service", "slug", {"space_id": 7}, ["tva", "déclaration tva", "a/b?c#d", "50%"]),
    ],
)
def test_a_rows_url_is_url_fors(app, endpoint, argument, values, row_values):
    with app.test_request_context("/", base_url="http://localhost/portail/"):
        url = row_url(endpoint, argument, **values)
        for value in row_values:
            assert url(value) == url_for(endpoint, **values, **{argument: value})
        assert url(row_values[0]).startswith("/portail/")


def test_a_remembered_macro_gives_its_html_once_per_distinct_arguments(app):
    imported = "{% from 'macros/status.html' import status_badge %}"
    remembered = (
        imported
        + "{% set badge = memo(status_badge) %}{% for s in rows %}{{ badge(s, s|upper) }}{% endfor %}"
    )
    plain = imported + "{% for s in rows %}{{ status_badge(s, s|upper) }}{% endfor %}"
    rows = ["active", "pending", "active", "<b>", "active"]
    with app.test_request_context():
        html = render_template_string(remembered, rows=rows)
        assert html == render_template_string(plain, rows=rows)
        assert "&lt;B&gt;" in html  # still escaped
    calls = []
    counted = memo(lambda *args: calls.append(args) or len(calls))
    assert [counted("a", 1), counted("b", 1), counted("a", 1)] == [1, 2, 1]
    assert calls == [("a", 1), ("b", 1)]


def test_translated_labels_are_the_languages_text(app):
    with app.test_request_context(), force_locale("de"):
        roles = translated(spaces.ROLES)
        assert roles == {key: str(label) for key, label in spaces.ROLES.items()}
        assert all(type(label) is str for label in roles.values())
