from urllib.parse import urlsplit


def safe_next(target):
    """Only a local path may be a redirect target: never another host, scheme or `//host`."""
    if not target or not isinstance(target, str):
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
