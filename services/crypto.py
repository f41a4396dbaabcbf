"""Keys derived from SECRET_KEY, one per purpose: HMACs for secrets we only compare
(codes, tokens), encryption for secrets we must read back (TOTP seeds, codes on letters)."""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

# 31 symbols without look-alikes (no 0/O, 1/I/L): easy to read on paper and type.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _key(purpose):
    return hashlib.sha256(f"{purpose}:{current_app.config['SECRET_KEY']}".encode()).digest()


def keyed_hash(purpose, value):
    return hmac.new(_key(purpose), value.encode(), hashlib.sha256).hexdigest()


def encrypt(purpose, text):
    return Fernet(base64.urlsafe_b64encode(_key(purpose))).encrypt(text.encode()).decode()


def decrypt(purpose, token):
    try:
        return Fernet(base64.urlsafe_b64encode(_key(purpose))).decrypt(token.encode()).decode()
    except InvalidToken as exc:  # SECRET_KEY changed, or the value was tampered with
        raise ValueError("undecryptable value") from exc


def random_code(length):
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def group(code, size=4):
    return "-".join(code[i : i + size] for i in range(0, len(code), size))


def normalize_code(text):
    """Accept codes with or without dashes or spaces, in any case."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())
