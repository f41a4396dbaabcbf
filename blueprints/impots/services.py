"""An impots space's services: Activer mon espace (Mode simplifié), J'adhère and the adhesions
(Mode expert)."""
