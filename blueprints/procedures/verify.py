"""Vérifier un accusé de réception: public, anyone may upload a receipt."""
