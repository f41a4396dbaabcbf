"""Files people send (a certification request's supporting document, a dossier's
attachments): their type read from their first bytes, never from what the browser says, and
the name they are downloaded under."""

import re
import unicodedata

from flask_babel import format_decimal, gettext as _, ngettext

# What an attachment may be, by its first bytes: PDF, PNG, JPEG.
TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
LABELS = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}


def content_type(data):
    """The type of `data` from its first bytes: PDF, PNG or JPEG, else None."""
    return next((kind for magic, kind in TYPES.items() if data.startswith(magic)), None)


def download_name(name, content_type_, fallback):
    """A file name safe in a Content-Disposition header: `name` in plain ASCII letters,
    digits, dots, dashes and underscores (accents dropped), with the extension of its type;
    `fallback` when nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name.rsplit(".", 1)[0]).strip(".-_")[:80]
    return f"{stem or fallback}.{EXTENSIONS.get(content_type_, 'bin')}"


def size_label(size):
    """A size as people read it: "850 octets", "12,5 Ko", "3,2 Mo"."""
    if size < 1024:
        return ngettext("%(num)d octet", "%(num)d octets", size)
    if size < 1024 * 1024:
        return _("%(size)s Ko", size=format_decimal(size / 1024, "#,##0.#"))
    return _("%(size)s Mo", size=format_decimal(size / (1024 * 1024), "#,##0.#"))
