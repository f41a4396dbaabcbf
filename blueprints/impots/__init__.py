"""The "Espace professionnel impots" way in (seed 004): its Connexion (routes.py),
"Créer mon espace professionnel" in Mode simplifié and Mode expert (signup.py), and in an
impots space its services: Activer mon espace, J'adhère and the adhesions (services.py)."""

from flask import Blueprint

bp = Blueprint("impots", __name__)

from blueprints.impots import routes, services, signup  # noqa: E402,F401
