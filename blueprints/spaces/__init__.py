"""Spaces: Gérer mes espaces, Changer d'espace, the space home and its tabs, Fusionner,
Supprimer (routes.py); the Créer un espace professionnel wizard (wizard.py); Utilisateurs:
members, roles, invitations (members.py); Mes données professionnelles (data.py); the
administrations' Communications (communications.py). The space page itself is
blueprints/space_pages.py."""

from flask import Blueprint

bp = Blueprint("spaces", __name__)

from blueprints.spaces import communications, data, members, routes, wizard  # noqa: E402,F401
