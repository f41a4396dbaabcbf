"""Accusés de réception: the PDF made once at each signature of a dossier (its reference, the
procedure, the company, who signed and when, every field entered, the SHA-256 of each
attachment and of the canonical submitted data), signed by the portal as a PAdES signature
certifying the document, so that a PDF reader shows it signed and unmodified; and checking an
uploaded copy (`verify`).

The signature is the portal's (services/signing.py); the data as printed is
services/dossier_data.py's.
"""

import hashlib
from datetime import UTC
from pathlib import Path

from flask_babel import format_datetime, get_locale, gettext as _
from fpdf import FPDF, FontFace

from models import Dossier, Receipt, Space, clip
from services import dossier_data, dossiers, files, languages, procedures, signing
from services.urls import external_url

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
SIGNATURE_FIELD = "AccuseDeReception"
# What a receipt carries in its document information, to find the stored receipt it claims
# to be (the signature covers them).
INFO_REFERENCE = "/EspaceProReference"
INFO_NUMBER = "/EspaceProReceipt"
INFO_DATA_SHA256 = "/EspaceProDataSHA256"


# --- Making a receipt ------------------------------------------------------------------------


class _ReceiptPdf(FPDF):
    footer_text = ""

    def footer(self):
        self.set_y(-14)
        self.set_font("DejaVu", "", 7)
        self.set_text_color(90)
        self.cell(0, 4, self.footer_text, align="L")
        self.cell(0, 4, _("Page %(page)s sur %(pages)s", page=self.page_no(), pages="{nb}"), align="R")


def issue(dossier, number, user, signed_at):
    """The Receipt of the signature `number` of `dossier` (its reference already taken), made
    and signed now: call it inside the signature's transaction."""
    dossier_files = dossier_data.field_files(dossier)
    digest = procedures.data_sha256(dossier.data)
    signer = clip(
        Receipt.signer, _("%(name)s (UserID : %(userid)s)", name=user.display_name, userid=user.userid)
    )
    pdf = render(dossier, number, signer, signed_at, digest, dossier_files, mandatary_space(dossier))
    signed = sign(pdf, signing.identity(), dossier.reference, number, digest)
    return Receipt.create(
        dossier=dossier.id,
        number=number,
        signed_by=user,
        signer=signer,
        signed_at=signed_at,
        data_sha256=digest,
        pdf=signed,
        pdf_sha256=hashlib.sha256(signed).hexdigest(),
    )


def mandatary_space(dossier):
    """The mandatary's space that filed a mandant's dossier (None for the company's own)."""
    return Space.get_or_none(Space.id == dossier.space_id) if dossier.mandate_id else None


def render(dossier, number, signer, signed_at, digest, dossier_files, mandatary=None):
    """The receipt's PDF, not signed yet."""
    procedure = dossier.procedure
    pdf = _ReceiptPdf(format="A4", unit="mm")
    pdf.footer_text = _(
        "Accusé de réception %(reference)s n° %(number)d", reference=dossier.reference, number=number
    )
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(_("Accusé de réception %(reference)s", reference=dossier.reference))
    pdf.set_subject(languages.localized(procedure, "title"))
    pdf.set_author("Espace Pro")
    pdf.set_creator("Espace Pro")
    pdf.set_keywords(dossier.reference)
    pdf.set_lang(str(get_locale() or "fr"))
    pdf.set_creation_date(signed_at.replace(tzinfo=UTC))
    pdf.add_page()

    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(90)
    pdf.cell(0, 5, "Espace Pro", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_font("DejaVu", "B", 17)
    pdf.cell(0, 10, _("Accusé de réception"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 5.5, languages.localized(procedure, "title"), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    facts = [
        (_("Référence"), dossier.reference),
        (_("Accusé de réception n°"), str(number)),
        (_("Démarche"), languages.localized(procedure, "title")),
        (
            _("Administration"),
            f"{languages.localized(procedure.administration, 'name')} ({procedure.administration.code})",
        ),
        (_("Entreprise"), f"{dossier.company_name} ({dossier.company_identifier})"),
    ]
    if mandatary is not None:
        facts.append((_("Déposé par"), _("%(company)s (mandataire)", company=mandatary.company_name)))
    facts += [
        (_("Signé par"), signer),
        (_("Date et heure"), _("%(when)s (heure de Luxembourg)", when=format_datetime(signed_at, "long"))),
    ]
    _pairs(pdf, facts)

    for section in dossier_data.sections(dossier, dossier_files):
        _heading(pdf, section.title)
        for part in section.parts():
            if isinstance(part, list):
                _pairs(pdf, [(entry.label, entry.value) for entry in part])
            else:
                _group(pdf, part)

    named = dossier_data.attachments(dossier, dossier_files)
    _heading(pdf, _("Pièces jointes"))
    if named:
        for attached in named:
            kind = files.LABELS.get(attached.content_type, attached.content_type)
            _pairs(
                pdf,
                [
                    (_("Fichier"), f"{attached.name} ({kind}, {files.size_label(attached.size)})"),
                    (_("SHA-256"), attached.sha256),
                ],
            )
    else:
        _paragraph(pdf, _("Aucune pièce jointe."))

    _heading(pdf, _("Intégrité"))
    _pairs(pdf, [(_("SHA-256 des données transmises (JSON canonique)"), digest)])
    pdf.ln(2)
    _paragraph(
        pdf,
        _(
            "Ce document est signé électroniquement par Espace Pro (signature PAdES). Votre lecteur de PDF "
            "indique s'il a été modifié depuis sa signature. Pour vérifier qu'il est authentique : %(url)s",
            url=external_url("procedures.verify"),
        ),
    )
    return bytes(pdf.output())


def _heading(pdf, text):
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 6, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _paragraph(pdf, text):
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(0, 4.5, text, align="L", new_x="LMARGIN", new_y="NEXT")


def _pairs(pdf, pairs):
    """Labels and values, two columns."""
    if not pairs:
        return
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=(60, 110),
        first_row_as_headings=False,
        borders_layout="HORIZONTAL_LINES",
        line_height=4.8,
        text_align="LEFT",
    ) as table:
        for label, value in pairs:
            row = table.row()
            row.cell(label, style=FontFace(emphasis="BOLD"))
            row.cell(value)
    pdf.ln(1)


def _group(pdf, entry):
    """A repeatable group: a table with one column per sub-field and a row per line."""
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(0, 5, entry.label, align="L", new_x="LMARGIN", new_y="NEXT")
    if not entry.rows:
        _paragraph(pdf, _("Aucune ligne."))
        return
    pdf.set_font("DejaVu", "", 8)
    with pdf.table(
        headings_style=FontFace(emphasis="BOLD"), line_height=4.2, text_align="LEFT", repeat_headings=1
    ) as table:
        table.row(entry.columns)
        for values in entry.rows:
            table.row(values)
    pdf.ln(1)


def sign(pdf, identity, reference, number, digest):
    """`pdf` with the receipt's facts in its document information, certified by `identity`."""
    info = {INFO_REFERENCE: reference, INFO_NUMBER: str(number), INFO_DATA_SHA256: digest}
    reason = _("Accusé de réception %(reference)s", reference=reference)
    return signing.sign_pdf(pdf, identity, SIGNATURE_FIELD, info, reason)


# --- Reading one back ------------------------------------------------------------------------


def receipts_of(dossier):
    """The dossier's receipts, the first first, without their PDF."""
    columns = [f for f in Receipt._meta.sorted_fields if f.name != "pdf"]
    return list(Receipt.select(*columns).where(Receipt.dossier == dossier.id).order_by(Receipt.number))


def receipt_for(member, dossier_id, number):
    """The receipt `number` of a dossier the member's space sees (to download it)."""
    dossier = dossiers.dossier_for(member, dossier_id)
    receipt = Receipt.get_or_none(Receipt.dossier == dossier.id, Receipt.number == number)
    if receipt is None:
        raise dossiers.DossierNotFound()
    receipt.dossier = dossier
    return receipt


def verify(pdf):
    """Whether `pdf` (bytes) is a receipt of the portal as it was issued: a stored receipt has
    exactly these bytes, and the file carries one signature, intact, over the whole file, made
    with the portal's certificate, whose document information names that receipt (its
    dossier's reference, its number, its data hash). Nothing else is told."""
    digest = hashlib.sha256(pdf).hexdigest()
    stored = list(
        Receipt.select(Receipt.number, Receipt.data_sha256, Dossier.reference)
        .join(Dossier)
        .where(Receipt.pdf_sha256 == digest)
        .tuples()
    )
    if not stored:
        return False
    names = (INFO_REFERENCE, INFO_NUMBER, INFO_DATA_SHA256)
    claimed = signing.signed_info(pdf, signing.identity().certificate, SIGNATURE_FIELD, names)
    return claimed is not None and any(
        claimed == (reference, str(number), data) for number, data, reference in stored
    )
