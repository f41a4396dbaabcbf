"""Spaces: Gérer mes espaces, Changer d'espace, the space home and its tabs, Fusionner,
Supprimer (routes.py); the Créer un espace professionnel wizard (wizard.py); Utilisateurs:
members, roles, invitations (members.py). The space page itself is blueprints/space_pages.py."""
from flask import Blueprint

from blueprints.space_pages import domain_error
from services import DomainError

bp = Blueprint("spaces", __name__)
bp.register_error_handler(DomainError, domain_error)

from blueprints.spaces import members, routes, wizard  # noqa: E402,F401
