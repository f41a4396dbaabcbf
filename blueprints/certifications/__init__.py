"""Certification of a professional space: Mon profil d'espace → Certifications,
Gestion of an administration with Mandat principal, Mandats obtenus / Ajouter un accès,
Mandats dispensés / Dispenser un mandat / Révoquer, the certified services."""

from flask import Blueprint

bp = Blueprint("certifications", __name__)

from blueprints.certifications import mandates, routes  # noqa: E402,F401
