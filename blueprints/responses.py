"""File answers (letters as PDF, request attachments, QR codes): one way to send bytes."""

import io

import segno
from flask import make_response
from flask_babel import gettext as _


def file_response(data, content_type, filename=None, download=False):
    """`data` as a file of `content_type`, never cached (letters and attachments carry
    personal data, QR codes a secret). `filename` names it; `download` saves it rather than
    showing it, so that a file sent by someone else is never rendered in our origin."""
    response = make_response(data)
    response.headers["Content-Type"] = content_type
    if filename:
        response.headers["Content-Disposition"] = (
            f'{"attachment" if download else "inline"}; filename="{filename}"'
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def pdf_response(data, filename):
    return file_response(data, "application/pdf", filename)


def qr_response(uri):
    """A standalone SVG document (XML declaration, SVG namespace): what an <img> loads. The
    inline flavour has no namespace, so browsers show it as a broken image."""
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=5, title=_("Code QR à scanner"))
    return file_response(svg.getvalue(), "image/svg+xml")
