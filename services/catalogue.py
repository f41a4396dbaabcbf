"""The catalogue of administrations and services, loaded from data/catalogue.json."""

import json
from pathlib import Path

from models import Administration, NewsItem, Service, db

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "data" / "catalogue.json"


def search_services(query="", limit=50, without_certification=False):
    """Services with their administration in one query, filtered by name or administration;
    `without_certification` keeps those open to any space (a private space cannot be certified)."""
    services = Service.select(Service, Administration).join(Administration)
    if without_certification:
        services = services.where(Service.requires_certification == False)  # noqa: E712
    if query:
        like = f"%{query}%"
        services = services.where(
            Service.name.ilike(like) | Administration.name.ilike(like) | Administration.code.ilike(like)
        )
    return list(services.order_by(Administration.code, Service.name).limit(limit))


def latest_news(limit=5):
    return list(NewsItem.select().order_by(NewsItem.published_on.desc()).limit(limit))


def load(path=CATALOGUE_FILE):
    """Add the administrations, services and news of the file that the database lacks
    (keyed on code, slug and title) and leave those it has as they are, edits included:
    running it again, or on every start, changes nothing. Returns the numbers of
    administrations and services, and how many rows it added."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    added = 0
    with db.atomic():
        for adm in data["administrations"]:
            administration, created = Administration.get_or_create(
                code=adm["code"],
                defaults={"name": adm["name"], "certification_text": adm.get("certification_text", "")},
            )
            added += created
            for svc in adm.get("services", []):
                _service, created = Service.get_or_create(
                    slug=svc["slug"],
                    defaults={
                        "administration": administration,
                        "name": svc["name"],
                        "description": svc.get("description", ""),
                        "requires_certification": svc.get("requires_certification", False),
                        "accepts_code": "code" in svc.get("methods", []),
                        "accepts_request": "request" in svc.get("methods", []),
                    },
                )
                added += created
        for title in data.get("news", []):
            added += NewsItem.get_or_create(title=title)[1]
    return Administration.select().count(), Service.select().count(), added
