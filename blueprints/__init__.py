"""One package per area: `<area>/__init__.py` holds the Blueprint, `routes.py` the views,
`forms.py` the forms. `htmx.py` and `errors.py` serve them all."""
