"""Mes démarches: the procedures a space may start and its dossiers, the online assistant
(routes.py); a dossier's page, its signature, receipts, attachments and thread (dossier.py);
the public Vérifier un accusé de réception (verify.py). The rules are in services/dossiers.py
and the modules it names."""

from flask import Blueprint

bp = Blueprint("procedures", __name__)

from blueprints.procedures import dossier, routes, verify  # noqa: E402,F401
