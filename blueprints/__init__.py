"""One package per area: `<area>/__init__.py` holds the Blueprint, `routes.py` the views (or a
module per journey, as in `auth/`), `forms.py` the forms. `htmx.py`, `errors.py`,
`responses.py`, `sessions.py` and `params.py` serve them all. CSRF is checked on every POST
by CSRFProtect (app.py) before any view runs."""
