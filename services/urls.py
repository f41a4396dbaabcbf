"""URLs: where a redirect may go, and the absolute links that mails carry."""
from urllib.parse import urlsplit

from flask import current_app, url_for


def safe_next(target):
    """Only a local path may be a redirect target: never another host, scheme or `//host`."""
    if not target or not isinstance(target, str):
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def external_url(endpoint, **values):
    """An absolute link for a mail: PUBLIC_URL when set (the CLI has no request), else the
    request's own host."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
