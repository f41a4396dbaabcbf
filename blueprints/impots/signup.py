"""Créer mon espace professionnel: Mode simplifié and Mode expert, from the form to the account."""
