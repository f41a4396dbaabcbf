"""URLs: where a redirect may go, and the absolute links that mails carry."""

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for

from validators import LINE_CONTROL_CHARACTERS


def safe_next(target):
    """The redirect target cleaned of surrounding spaces when it is a local path, else None
    (the caller's default): never another host, scheme or `//host`, nor a line break or
    control character, which would break the Location header."""
    if not target or not isinstance(target, str):
        return None
    target = target.strip()
    # "/x" has no scheme nor host; "//host", "/\\host" and "/<tab>/host" do for browsers.
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or LINE_CONTROL_CHARACTERS.search(target)
    ):
        return None
    return target


def external_url(endpoint, **values):
    """An absolute link for a mail: PUBLIC_URL when set (the CLI has no request), else the
    request's own host."""
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    if has_request_context():
        return base.rstrip("/") + url_for(endpoint, **values)
    # A command run from cron: Flask builds no URL outside a request without SERVER_NAME.
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)
