"""The files of a dossier: what the assistant's file fields and the thread's attachments
upload. The type is read from the content (PDF, PNG, JPEG), never from what the browser
says; 10 MB a file, 50 MB a dossier (SPEC §11). Callers hold the transaction and the
dossier's lock (the assistant's version UPDATE, or `database.lock_row`), so that two
uploads at once cannot pass the dossier's limit together."""

import hashlib

from babel.lists import format_list
from flask_babel import get_locale, lazy_gettext as _l
from peewee import fn

import clock
from models import DossierFile, clip
from services.certification_requests import attachment_type

MAX_FILE = 10 * 1024 * 1024
MAX_PER_DOSSIER = 50 * 1024 * 1024
TYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg"}
TYPE_NAMES = {"pdf": "PDF", "png": "PNG", "jpeg": "JPEG"}

MESSAGES = {
    "type": _l("Le fichier doit être un %(types)s (vérifié d'après son contenu)."),
    "size": _l("Le fichier dépasse 10 Mo."),
    "empty": _l("Le fichier est vide."),
    "dossier": _l("Les fichiers d'un dossier ne peuvent pas dépasser 50 Mo au total."),
}


class FileRefused(ValueError):
    """An upload refused, with the message shown beside its field."""


def _types(accept):
    """ "PDF, PNG ou JPEG": the list as the language writes it (Babel's, not a translated "ou")."""
    return format_list([TYPE_NAMES[kind] for kind in accept], style="or", locale=get_locale() or "fr")


def checked_type(content, accept=tuple(TYPES)):
    """The content type of an upload of one of the `accept`ed kinds, read from its first
    bytes; FileRefused otherwise (too big, empty, another kind)."""
    if not content:
        raise FileRefused(str(MESSAGES["empty"]))
    if len(content) > MAX_FILE:
        raise FileRefused(str(MESSAGES["size"]))
    kind = attachment_type(content)
    if kind not in {TYPES[name] for name in accept}:
        raise FileRefused(str(MESSAGES["type"]) % {"types": _types(accept)})
    return kind


def store(dossier_id, name, content, content_type, field="", message=None, replacing=()):
    """Keep an upload checked by `checked_type` with the dossier, unless the dossier's files
    (less those in `replacing`, about to go) would pass 50 MB."""
    held = (
        DossierFile.select(fn.COALESCE(fn.SUM(DossierFile.size), 0))
        .where(DossierFile.dossier == dossier_id, DossierFile.id.not_in(list(replacing) or [0]))
        .scalar()
    )
    if held + len(content) > MAX_PER_DOSSIER:
        raise FileRefused(str(MESSAGES["dossier"]))
    return DossierFile.create(
        dossier=dossier_id,
        field=field,
        message=message,
        name=clip(DossierFile.name, " ".join((name or "fichier").split())) or "fichier",
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_at=clock.now(),
    )


def columns():
    """A file's columns without its content: lists never load the bytes."""
    return [f for f in DossierFile._meta.sorted_fields if f.name != "content"]
