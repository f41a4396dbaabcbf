"""Accusés de réception: the PDF made once at each signature of a dossier (its reference, the
procedure, the company, who signed and when, every field entered, the SHA-256 of each
attachment and of the canonical submitted data), signed by the portal as a PAdES signature
certifying the document, so that a PDF reader shows it signed and unmodified; and checking an
uploaded copy (`verify`).

The portal's signing key and self-signed certificate are two PEM files (RECEIPT_KEY_FILE,
RECEIPT_CERT_FILE; instance/receipt-key.pem and instance/receipt-cert.pem by default),
generated on first use. Replacing them makes the receipts signed before unverifiable here.
"""

import fcntl
import hashlib
import io
import json
import os
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from asn1crypto import keys as asn1_keys, pem, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import current_app
from flask_babel import format_datetime, get_locale, gettext as _
from fpdf import FPDF, FontFace
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

import validators
from models import Dossier, DossierFile, Receipt, Space, clip
from services import dossiers, files
from services.urls import external_url

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
CERTIFICATE_NAME = "Espace Pro — accusés de réception"
CERTIFICATE_YEARS = 10
SIGNATURE_FIELD = "AccuseDeReception"
# What a receipt carries in its document information, to find the stored receipt it claims
# to be (the signature covers them).
INFO_REFERENCE = "/EspaceProReference"
INFO_NUMBER = "/EspaceProReceipt"
INFO_DATA_SHA256 = "/EspaceProDataSHA256"


# --- The portal's signing identity ---------------------------------------------------------


class Identity(NamedTuple):
    """A signing key and its certificate, as PEM."""

    key_pem: bytes
    cert_pem: bytes

    @property
    def certificate(self):
        return asn1_x509.Certificate.load(pem.unarmor(self.cert_pem)[2])

    def signer(self):
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return signers.SimpleSigner(
            signing_cert=self.certificate, signing_key=asn1_keys.PrivateKeyInfo.load(der), cert_registry=None
        )


def new_identity(name=CERTIFICATE_NAME, years=CERTIFICATE_YEARS):
    """A fresh RSA key and a self-signed certificate for it, valid `years` from now (the real
    time: readers check it against theirs), for signing documents only."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Espace Pro"),
        ]
    )
    now = datetime.now(UTC)
    usage = dict.fromkeys(
        (
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * years + years // 4))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, **usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Identity(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        certificate.public_bytes(serialization.Encoding.PEM),
    )


def _paths():
    config, instance = current_app.config, Path(current_app.instance_path)
    return (
        Path(config.get("RECEIPT_KEY_FILE") or instance / "receipt-key.pem"),
        Path(config.get("RECEIPT_CERT_FILE") or instance / "receipt-cert.pem"),
    )


def identity():
    """The portal's key and certificate, read from their files, or generated into them on
    first use."""
    return _identity(*_paths())


@lru_cache(maxsize=4)
def _identity(key_path, cert_path):
    if not (key_path.exists() and cert_path.exists()):
        _generate(key_path, cert_path)
    found = Identity(key_path.read_bytes(), cert_path.read_bytes())
    key = serialization.load_pem_private_key(found.key_pem, password=None)
    certificate = x509.load_pem_x509_certificate(found.cert_pem)
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():
        raise RuntimeError(f"{key_path} is not the key of the certificate {cert_path}.")
    return found


def _generate(key_path, cert_path):
    """Write a new identity, once even with several workers starting together: under a file
    lock, each file written whole then moved into place, the key last (whoever sees both
    files sees them complete)."""
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    with open(key_path.with_name(key_path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if key_path.exists() and cert_path.exists():
            return
        if key_path.exists() or cert_path.exists():
            raise RuntimeError(
                f"Only one of {key_path} and {cert_path} exists: give both (RECEIPT_KEY_FILE, "
                "RECEIPT_CERT_FILE) or neither."
            )
        made = new_identity()
        _write(cert_path, made.cert_pem, 0o644)
        _write(key_path, made.key_pem, 0o600)


def _write(path, data, mode):
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(temporary, path)


# --- The submitted data as a person reads it ------------------------------------------------


def canonical(data):
    """The submitted data as hashed and signed: JSON, keys sorted, no whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def data_sha256(data):
    return hashlib.sha256(canonical(data)).hexdigest()


class Entry(NamedTuple):
    """A field as shown: its label and value, translated; a file field's DossierFile; a
    group's column labels and rows of values."""

    label: str
    value: str = ""
    file: object = None
    columns: tuple = ()
    rows: tuple = ()

    @property
    def is_group(self):
        return bool(self.columns)


class Section(NamedTuple):
    title: str
    entries: tuple

    def parts(self):
        """The entries in order: consecutive plain fields together (a list), each group alone."""
        parts = []
        for entry in self.entries:
            if entry.is_group:
                parts.append(entry)
            elif parts and isinstance(parts[-1], list):
                parts[-1].append(entry)
            else:
                parts.append([entry])
        return parts


def _shown(field, value):
    if field["type"] == "checkbox":
        return _("Oui") if value else _("Non")
    if not value:
        return _("Non renseigné")
    if field["type"] == "select":
        label = next((o["label"] for o in field.get("options", []) if o["value"] == value), None)
        return _(label) if label else value
    if field["type"] == "iban":
        try:
            return validators.format_iban(value)
        except validators.InvalidIdentifier:
            return value
    return value


def _file_of(value, dossier_files):
    return dossier_files.get(int(value)) if str(value).isdigit() else None


def sections(definition, data, dossier_files):
    """The dossier's data step by step, each field with its label (`definition`: the
    procedure's, `dossier_files`: {id: DossierFile} of its file fields)."""
    found = []
    for step in definition.get("steps", []):
        entries = []
        for field in step.get("fields", []):
            value = data.get(field["name"])
            if field["type"] == "group":
                subs = field.get("fields", [])
                entries.append(
                    Entry(
                        _(field["label"]),
                        columns=tuple(_(sub["label"]) for sub in subs),
                        rows=tuple(
                            tuple(_shown(sub, str(row.get(sub["name"], "") or "")) for sub in subs)
                            for row in (value if isinstance(value, list) else [])
                            if isinstance(row, dict)
                        ),
                    )
                )
            elif field["type"] == "file":
                attached = _file_of(value or "", dossier_files)
                entries.append(
                    Entry(_(field["label"]), attached.name if attached else _("Non renseigné"), attached)
                )
            else:
                entries.append(Entry(_(field["label"]), _shown(field, str(value or ""))))
        found.append(Section(_(step.get("title", "")), tuple(entries)))
    return found


def field_files(dossier):
    """{id: DossierFile} of the files the dossier's data names (its file fields), without their
    content."""
    columns = [f for f in DossierFile._meta.sorted_fields if f.name != "content"]
    return {
        file.id: file
        for file in DossierFile.select(*columns)
        .where(DossierFile.dossier == dossier.id, DossierFile.message.is_null())
        .order_by(DossierFile.id)
    }


def attachments(definition, data, dossier_files):
    """The files the data names, in the order of the fields."""
    named = []
    for step in definition.get("steps", []):
        for field in step.get("fields", []):
            if field["type"] == "file":
                attached = _file_of(data.get(field["name"]) or "", dossier_files)
                if attached is not None:
                    named.append(attached)
    return named


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
    dossier_files = field_files(dossier)
    digest = data_sha256(dossier.data)
    signer = clip(
        Receipt.signer, _("%(name)s (UserID : %(userid)s)", name=user.display_name, userid=user.userid)
    )
    pdf = render(dossier, number, signer, signed_at, digest, dossier_files, mandatary_space(dossier))
    signed = sign(pdf, identity(), dossier.reference, number, digest)
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
    definition = procedure.definition
    pdf = _ReceiptPdf(format="A4", unit="mm")
    pdf.footer_text = _(
        "Accusé de réception %(reference)s n° %(number)d", reference=dossier.reference, number=number
    )
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(_("Accusé de réception %(reference)s", reference=dossier.reference))
    pdf.set_subject(_(procedure.title))
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
    pdf.multi_cell(0, 5.5, _(procedure.title), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    facts = [
        (_("Référence"), dossier.reference),
        (_("Accusé de réception n°"), str(number)),
        (_("Démarche"), _(procedure.title)),
        (_("Administration"), f"{procedure.administration.name} ({procedure.administration.code})"),
        (_("Entreprise"), f"{dossier.company_name} ({dossier.company_identifier})"),
    ]
    if mandatary is not None:
        facts += [
            (_("Déposé par"), _("%(company)s (mandataire)", company=mandatary.company_name)),
            (_("Espace du mandataire"), mandatary.name),
        ]
    facts += [
        (_("Signé par"), signer),
        (_("Date et heure"), _("%(when)s (heure de Luxembourg)", when=format_datetime(signed_at, "long"))),
    ]
    _pairs(pdf, facts)

    for section in sections(definition, dossier.data, dossier_files):
        _heading(pdf, section.title)
        for part in section.parts():
            if isinstance(part, list):
                _pairs(pdf, [(entry.label, entry.value) for entry in part])
            else:
                _group(pdf, part)

    named = attachments(definition, dossier.data, dossier_files)
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


def sign(pdf, signing, reference, number, digest):
    """`pdf` with the receipt's facts in its document information, certified by `signing`
    (an Identity): a PAdES signature over the whole file that allows no later change."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info_ref = writer.trailer.raw_get("/Info")
    info = info_ref.get_object()
    info[INFO_REFERENCE] = generic.TextStringObject(reference)
    info[INFO_NUMBER] = generic.TextStringObject(str(number))
    info[INFO_DATA_SHA256] = generic.TextStringObject(digest)
    writer.mark_update(info_ref)
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=_("Accusé de réception %(reference)s", reference=reference),
        location="Luxembourg",
        name="Espace Pro",
    )
    return signers.PdfSigner(metadata, signer=signing.signer()).sign_pdf(writer).getvalue()


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
    claimed = _signed_facts(pdf, identity().certificate) if stored else None
    return claimed is not None and any(
        claimed == (reference, str(number), data) for number, data, reference in stored
    )


def _signed_facts(pdf, certificate):
    """(reference, number, data hash) that `pdf` carries when its only signature is intact,
    covers the whole file and was made with `certificate`; else None."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
        if len(signatures) != 1 or signatures[0].field_name != SIGNATURE_FIELD:
            return None
        signature = signatures[0]
        if signature.signer_cert.dump() != certificate.dump():
            return None
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=[certificate]))
        if not (
            status.bottom_line
            and status.intact
            and status.valid
            and status.trusted
            and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        ):
            return None
        info = reader.trailer["/Info"]
        return tuple(str(info[key]) for key in (INFO_REFERENCE, INFO_NUMBER, INFO_DATA_SHA256))
    except Exception:  # noqa: BLE001 - whatever a forged or broken file raises, it is not a receipt
        return None
