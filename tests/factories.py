"""Plain factory functions: each creates one row with sensible defaults."""
from models import Administration, NewsItem, OutboxMail, Service


def administration(code="ACD", name="Administration des contributions directes", **fields):
    return Administration.create(code=code, name=name, **fields)


def service(administration_=None, slug="fiches-retenue", name="Fiches de retenue d'impôt", **fields):
    fields.setdefault("requires_certification", True)
    fields.setdefault("accepts_code", True)
    return Service.create(administration=administration_ or administration(), slug=slug, name=name, **fields)


def news(title="Nouvelle démarche en ligne"):
    return NewsItem.create(title=title)


def outbox_mail(to="lea.guichet@example.lu", subject="Sujet", **fields):
    fields.setdefault("body_text", "texte")
    fields.setdefault("body_html", "<p>texte</p>")
    return OutboxMail.create(to=to, subject=subject, **fields)
