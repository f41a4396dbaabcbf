"""Accusés de réception: the signed PDF (pyHanko validates it, pypdf reads it), what it prints
and carries, the hashes stored with it, the portal's signing key made on first use, and
`verify`: only a receipt as it was issued is genuine."""

import hashlib
import io
import os

import pypdf
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.validation import SignatureCoverageLevel

import factories
from helpers import pdf_signature_status
from models import DossierFile, Receipt
from services import procedures, receipts, signing, submission

pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def lea(app, clock):
    """Léa administers the Guichet SARL space, certified for the ACD's fiches de retenue."""
    factories.procedure()
    return factories.certified_member()


def signed(member, dossier=None):
    dossier = dossier or factories.signable_dossier(member.space)
    return submission.submit(member, member.user, dossier.id, dossier.version, factories.otp(), "127.0.0.1")


def text_of(pdf):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_a_receipt_is_a_pades_signature_of_the_whole_file_that_pyhanko_validates(lea):
    _dossier, receipt = signed(lea)
    signature, status = pdf_signature_status(bytes(receipt.pdf), signing.identity().certificate)
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.docmdp_ok  # certified: no change allowed after it
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert signature.signer_cert.subject.native["common_name"] == "Espace Pro — accusés de réception"


def test_the_receipt_prints_every_field_with_its_label_and_the_hashes(lea):
    dossier, receipt = signed(lea)
    text = text_of(bytes(receipt.pdf))
    attached = DossierFile.get(DossierFile.dossier == dossier.id)
    for expected in (
        "Accusé de réception",
        "Référence ACD-2026-000001",
        "Accusé de réception n° 1",
        "Fiches de retenue d'impôt : demande de fiches",
        "Administration des contributions directes (ACD)",
        "Guichet SARL (B123456)",
        "Léa Guichet (UserID : lea)",
        "25 mars 2026, 08:40:40 +0100 (heure de Luxembourg)",  # 07:40:40 UTC
        "Raison sociale Guichet SARL",
        "IBAN LU28 0019 4006 4475 0000",
        "Période Année 2026",  # a select's label, not its value
        "Demande urgente Oui",
        "Matricule Nom",  # the group's columns
        "1983081974925 Marc Guichet",
        "Procès-verbal proces-verbal.pdf",
        "Page 1 sur 1",
    ):
        assert expected in text, expected
    flat = text.replace("\n", "").replace(" ", "")
    assert attached.sha256 in flat and receipt.data_sha256 in flat
    assert "Déposé par" not in text  # filed by the company itself


def test_the_stored_hashes_are_those_of_the_data_and_of_the_file(lea):
    dossier, receipt = signed(lea)
    pdf = bytes(receipt.pdf)
    assert receipt.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert receipt.data_sha256 == hashlib.sha256(procedures.canonical(dossier.data)).hexdigest()
    assert procedures.canonical({"b": "é", "a": [1]}) == '{"a":[1],"b":"é"}'.encode()
    metadata = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert (metadata["/EspaceProReference"], metadata["/EspaceProReceipt"]) == ("ACD-2026-000001", "1")
    assert metadata["/EspaceProDataSHA256"] == receipt.data_sha256
    assert metadata["/Title"] == "Accusé de réception ACD-2026-000001"


def test_a_genuine_receipt_is_confirmed(lea):
    _dossier, receipt = signed(lea)
    assert receipts.verify(bytes(receipt.pdf)) is True


def plant(dossier, pdf, number, data_sha256="0" * 64):
    """A receipt row holding `pdf`, as someone writing to the database could make one: the
    signature must still refuse what the portal did not sign as it is."""
    return Receipt.create(
        dossier=dossier,
        number=number,
        signer="x",
        data_sha256=data_sha256,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )


def test_a_copy_with_one_byte_changed_is_not_genuine(lea):
    dossier, receipt = signed(lea)
    pdf = bytes(receipt.pdf)
    contents = pdf.index(b"/Contents <")
    for position in (200, len(pdf) // 3, contents + 40, len(pdf) - 30):
        changed = bytearray(pdf)
        changed[position] ^= 0x01
        assert receipts.verify(bytes(changed)) is False, position
    text_changed = pdf.replace(b"/EspaceProReceipt (1)", b"/EspaceProReceipt (2)")
    assert text_changed != pdf and receipts.verify(text_changed) is False


def test_an_appended_update_is_not_genuine_even_with_its_hash_planted(lea):
    dossier, receipt = signed(lea)
    writer = IncrementalPdfFileWriter(io.BytesIO(bytes(receipt.pdf)))
    info = writer.trailer.raw_get("/Info")
    info.get_object()["/Subject"] = generic.TextStringObject("Dossier accepté")
    writer.mark_update(info)
    out = io.BytesIO()
    writer.write(out)
    appended = out.getvalue()
    assert appended.startswith(bytes(receipt.pdf))  # the signed part is untouched
    assert receipts.verify(appended) is False
    Receipt.delete().where(Receipt.id == receipt.id).execute()
    plant(dossier, appended, 1, receipt.data_sha256)  # the database says so too: still refused
    assert receipts.verify(appended) is False


def test_a_pdf_signed_by_another_key_is_not_genuine(lea):
    dossier, receipt = signed(lea)
    forger = signing.new_identity()  # the same name, another key
    unsigned = receipts.render(dossier, 2, "Léa Guichet (UserID : lea)", receipt.signed_at, "0" * 64, {})
    forged = receipts.sign(unsigned, forger, dossier.reference, 2, "0" * 64)
    plant(dossier, forged, 2)
    assert receipts.verify(forged) is False
    # The portal's own key signs the same document: that one is genuine.
    own = receipts.sign(unsigned, signing.identity(), dossier.reference, 3, "0" * 64)
    plant(dossier, own, 3)
    assert receipts.verify(own) is True


def test_a_random_pdf_and_garbage_are_not_genuine(lea):
    dossier, receipt = signed(lea)
    plain = receipts.render(dossier, 4, "x", receipt.signed_at, "0" * 64, {})
    for content in (plain, b"", b"%PDF-1.7\n garbage", os.urandom(5000), factories.PNG):
        assert receipts.verify(content) is False
        if content:
            plant(dossier, content, len(content))
            assert receipts.verify(content) is False


def test_a_long_group_runs_over_pages_and_still_verifies(lea):
    dossier = factories.signable_dossier(lea.space)
    dossier.data = {
        **dossier.data,
        "employees": [{"matricule": "1983081974925", "name": f"Salarié {n}"} for n in range(200)],
    }
    dossier.save()
    _dossier, receipt = signed(lea, dossier)
    text = text_of(bytes(receipt.pdf))
    assert "Salarié 199" in text and "Page 1 sur " in text and "Page 2 sur " in text
    assert receipts.verify(bytes(receipt.pdf))


def test_signing_uses_the_key_loaded_once_a_process(lea, clock, monkeypatch):
    """pyHanko's own signer loads the key again at each raw signature, twice a receipt: about
    0.1 s each for the 3072-bit key, spent holding a worker."""
    signed(lea)  # the process's signer is made
    clock.advance(seconds=30)  # the next one-time code
    loads = []
    load = serialization.load_der_private_key

    def counted(*args, **kwargs):
        loads.append(1)
        return load(*args, **kwargs)

    monkeypatch.setattr(serialization, "load_der_private_key", counted)
    _dossier, receipt = signed(lea)
    assert loads == []
    _signature, status = pdf_signature_status(bytes(receipt.pdf), signing.identity().certificate)
    assert status.bottom_line and status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_a_key_of_another_kind_signs_through_pyhanko(lea):
    """A key the operator gives in RECEIPT_KEY_FILE need not be RSA: an elliptic-curve one signs
    as pyHanko does it."""
    identity = signing.new_identity("Espace Pro — test EC", 1, key=ec.generate_private_key(ec.SECP256R1()))
    dossier, receipt = signed(lea)
    unsigned = receipts.render(dossier, 2, "x", receipt.signed_at, "0" * 64, {})
    pdf = receipts.sign(unsigned, identity, dossier.reference, 2, "0" * 64)
    signature, status = pdf_signature_status(pdf, identity.certificate)
    assert status.bottom_line and status.intact and status.valid
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"


def test_the_signing_key_is_made_on_first_use_and_kept(app, tmp_path):
    key, cert = tmp_path / "keys" / "receipt.key", tmp_path / "keys" / "receipt.crt"
    app.config.update(RECEIPT_KEY_FILE=str(key), RECEIPT_CERT_FILE=str(cert))
    made = signing.identity()
    assert key.exists() and cert.exists()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert made.certificate.subject.native["common_name"] == "Espace Pro — accusés de réception"
    validity = made.certificate["tbs_certificate"]["validity"]
    years = (validity["not_after"].native - validity["not_before"].native).days / 365.25
    assert 9.99 < years < 10.01
    signing._identity.cache_clear()  # another worker, or a restart, reads the same files
    assert signing.identity() == made


def test_a_key_without_its_certificate_is_refused(app, tmp_path):
    other = signing.new_identity()
    key, cert = tmp_path / "receipt.key", tmp_path / "receipt.crt"
    key.write_bytes(other.key_pem)
    app.config.update(RECEIPT_KEY_FILE=str(key), RECEIPT_CERT_FILE=str(cert))
    with pytest.raises(RuntimeError, match="Only one of"):
        signing.identity()
    cert.write_bytes(signing.new_identity().cert_pem)  # another key's certificate
    with pytest.raises(RuntimeError, match="is not the key of the certificate"):
        signing.identity()
