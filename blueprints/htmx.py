"""htmx helpers: one place decides between a partial and a full page."""

import json

from flask import make_response, redirect, render_template, request


def is_htmx():
    """A real htmx request that wants a fragment: not boosted, not a history restore."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def vary(response):
    existing = response.headers.get("Vary", "")
    if "HX-Request" not in existing:
        response.headers["Vary"] = ", ".join(v for v in (existing, "HX-Request") if v)
    return response


def render_page_or_partial(page, partial, /, status=200, **context):
    """The full page for browsers and boosted links; for htmx, the partial it includes
    followed by the page's <title> (base.html), so that the document's title follows."""
    html = render_template(page, partial=partial, fragment=is_htmx(), **context)
    return vary(make_response(html, status))


def htmx_redirect(location, code=303):
    """Go to `location`: HX-Redirect for htmx (never a 302 into a swap target; a full load,
    so the header and title follow), else 303 See Other."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
        return vary(response)
    return vary(redirect(location, code=code))


def htmx_location(location, target, swap="outerHTML"):
    """Go to `location` in place: htmx GETs it and swaps its partial into `target`, pushing
    the URL (HX-Location); a 303 to it for everything else (boosted requests follow it)."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Location"] = json.dumps({"path": location, "target": target, "swap": swap})
        return vary(response)
    return vary(redirect(location, code=303))
