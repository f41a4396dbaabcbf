"""What the templates call per row (blueprints/templating.py): `row_url` gives `url_for`'s
URL for each row."""

import pytest
from flask import url_for

from blueprints.templating import row_url


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
