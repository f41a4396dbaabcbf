"""Mes démarches: Commencer une démarche and the online assistant, one step per URL."""
