"""The portal's signature of documents (the receipts of dossiers): its key and self-signed
certificate, signing a PDF with them (PAdES), and reading back a signature made with them.

The key and certificate are two PEM files (RECEIPT_KEY_FILE, RECEIPT_CERT_FILE;
instance/receipt-key.pem and instance/receipt-cert.pem by default), generated on first use.
Replacing them makes the documents signed before unverifiable here.

pyHanko's synchronous calls run an event loop of their own (asyncio.run), which a thread that
already runs one refuses (an async server, a test driving a browser): they run in a thread of
their own (`_apart`).
"""

import fcntl
import io
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from asn1crypto import keys as asn1_keys, pem, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import NameOID
from flask import current_app
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

CERTIFICATE_NAME = "Espace Pro — accusés de réception"
CERTIFICATE_YEARS = 10


# --- The portal's key and certificate ------------------------------------------------------


class Identity(NamedTuple):
    """A signing key and its certificate, as PEM."""

    key_pem: bytes
    cert_pem: bytes

    @property
    def certificate(self):
        return asn1_x509.Certificate.load(pem.unarmor(self.cert_pem)[2])

    def signer(self):
        return _signer(self.key_pem, self.cert_pem)


@lru_cache(maxsize=4)
def _signer(key_pem, cert_pem):
    """The signer of a key and certificate, made once a process: loading a 3072-bit RSA key
    checks it, about a tenth of a second, which every receipt would pay again."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    certificate = asn1_x509.Certificate.load(pem.unarmor(cert_pem)[2])
    return _KeptKeySigner(
        key,
        signing_cert=certificate,
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=None,
    )


class _KeptKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner loads its key again at each raw signature, twice a receipt (the
    signature's size is estimated by signing once beforehand), and loading checks the key:
    about a tenth of a second each for a 3072-bit RSA key. This one makes the portal's RSA
    PKCS#1 v1.5 signatures with the key loaded once, and leaves any other mechanism to
    pyHanko."""

    def __init__(self, private_key, **kwargs):
        super().__init__(**kwargs)
        self.private_key = private_key

    def sign_raw(self, data, digest_algorithm):
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        if _algorithm(mechanism) == "rsassa_pkcs1v15" and isinstance(self.private_key, rsa.RSAPrivateKey):
            return self.private_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        return super().sign_raw(data, digest_algorithm)


def _algorithm(mechanism):
    """The signature algorithm of a SignedDigestAlgorithm ("rsassa_pkcs1v15" for "sha256_rsa"),
    or its own name when it names no other (as pyHanko reads it)."""
    try:
        return mechanism.signature_algo
    except ValueError:
        return mechanism["algorithm"].native


def new_identity(name=CERTIFICATE_NAME, years=CERTIFICATE_YEARS, key=None):
    """A fresh RSA key (or `key`, of another kind) and a self-signed certificate for it, valid
    `years` from now (the real time: readers check it against theirs), for signing documents
    only."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=3072)
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


def paths():
    """The files of the key and of the certificate."""
    config, instance = current_app.config, Path(current_app.instance_path)
    return (
        Path(config.get("RECEIPT_KEY_FILE") or instance / "receipt-key.pem"),
        Path(config.get("RECEIPT_CERT_FILE") or instance / "receipt-cert.pem"),
    )


def identity():
    """The portal's key and certificate, read from their files, or generated into them on
    first use."""
    return _identity(*paths())


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


def put_identity(saved):
    """Write `saved` (an Identity, from a backup) into the files and use it from now on."""
    key_path, cert_path = paths()
    for path in (key_path, cert_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    _write(cert_path, saved.cert_pem, 0o644)
    _write(key_path, saved.key_pem, 0o600)
    _identity.cache_clear()


def _write(path, data, mode):
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(temporary, path)


# --- Signing a PDF, reading its signature back ----------------------------------------------


def _apart(function, *args):
    with ThreadPoolExecutor(1) as executor:
        return executor.submit(function, *args).result()


def sign_pdf(pdf, signing, field_name, info, reason):
    """`pdf` (bytes) with `info` ({"/Name": text}) added to its document information, certified
    by `signing` (an Identity): a PAdES signature over the whole file that allows no later
    change."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info_ref = writer.trailer.raw_get("/Info")
    document_info = info_ref.get_object()
    for name, value in info.items():
        document_info[name] = generic.TextStringObject(value)
    writer.mark_update(info_ref)
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=reason,
        location="Luxembourg",
        name="Espace Pro",
    )
    pdf_signer = signers.PdfSigner(metadata, signer=signing.signer())
    return _apart(lambda: pdf_signer.sign_pdf(writer).getvalue())


def signed_info(pdf, certificate, field_name, names):
    """The values of the document information `names` of `pdf` (bytes) when its only
    signature, in `field_name`, is intact, covers the whole file and was made with
    `certificate`; else None (a forged, changed, extended or broken file)."""
    return _apart(_signed_info, pdf, certificate, field_name, names)


def _signed_info(pdf, certificate, field_name, names):
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
        if len(signatures) != 1 or signatures[0].field_name != field_name:
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
        return tuple(str(info[name]) for name in names)
    except Exception:  # noqa: BLE001 - whatever a forged or broken file raises, it is not ours
        return None
