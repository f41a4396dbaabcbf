"""Plain factory functions: each creates one row with sensible defaults."""

from models import Administration, NewsItem, OutboxMail, Service
from services.company_imports import RCS_COLUMNS as RCS_HEADER  # noqa: F401 - the portal's RCS layout


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


# --- People ------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def user(userid="lea", password=PASSWORD, secret=TOTP_SECRET, registered=True, **fields):
    """A person with an enrolled Token; `registered=True` also confirms the e-mail and
    accepts the current terms."""
    from flask import current_app

    import clock
    from models import AuthProduct, User
    from services import auth, crypto

    defaults = {
        "first_name": "Léa",
        "last_name": "Guichet",
        "email": f"{userid}@example.lu",
        "matricule": "1983081974925",
        "street": "11, allée du Guichet",
        "postcode": "L-0000",
        "city": "Luxembourg",
    }
    if registered:
        now = clock.now()
        defaults.update(
            registered_at=now,
            email_confirmed_at=now,
            terms_version=current_app.config["TERMS_VERSION"],
            terms_accepted_at=now,
        )
    person = User.create(userid=userid, userid_key=userid.lower(), **{**defaults, **fields})
    AuthProduct.create(
        user=person,
        password_hash=auth.hash_password(password),
        totp_secret_encrypted=crypto.encrypt("totp", secret),
        secret_image="voilier",
        enrolled_at=clock.now(),
    )
    return person


def otp(secret=TOTP_SECRET, steps=0):
    """The code of `secret` at the app's clock, `steps` time steps away."""
    import pyotp

    import clock

    return pyotp.TOTP(secret).at(clock.timestamp() + 30 * steps)


# --- Agents ------------------------------------------------------------------------------

AGENT_PASSWORD = "une phrase de passe d'agent"


def agent(
    administration_code="ALVA",
    userid="agent.alva",
    password=AGENT_PASSWORD,
    secret=TOTP_SECRET,
    enrolled=True,
    **fields,
):
    """An agent of an administration (of the catalogue, or made here); `enrolled=False`: as
    create-agent leaves it, to enrol at the first login."""
    import clock
    from models import Administration, Agent
    from services import auth, crypto

    administration_ = Administration.get_or_none(code=administration_code) or administration(
        administration_code
    )
    if enrolled:
        fields.update(totp_secret_encrypted=crypto.encrypt("totp", secret), enrolled_at=clock.now())
    return Agent.create(
        administration=administration_,
        userid=userid,
        userid_key=userid.lower(),
        name=fields.pop("name", "Agnès Agent"),
        password_hash=auth.hash_password(password),
        **fields,
    )


def helpdesk(userid="helpdesk", **fields):
    """The portal's helpdesk: an agent without administration."""
    from models import Agent

    helper = agent(userid=userid, name=fields.pop("name", "Hélène Helpdesk"), **fields)
    Agent.update(administration=None, role="helpdesk").where(Agent.id == helper.id).execute()
    return Agent.get_by_id(helper.id)


# --- Spaces ------------------------------------------------------------------------------


# What a person types into the wizard's company step ("Renseignez les informations de votre
# entreprise"), as the form posts it.
COMPANY_FORM = {
    "company_name": "Guichet SARL",
    "legal_form": "SARL",
    "identifier": "B123456",
    "vat_number": "LU15027442",
    "street": "1, rue du Commerce",
    "postcode": "L-1000",
    "city": "Luxembourg",
    "country": "Luxembourg",
    "company_email": "contact@guichet.lu",
    "phone": "",
}


def space(admin=None, name="Espace pro de Léa", kind="professional", **fields):
    """A live space with `admin` (a User) as its administrator."""
    from models import Membership, Space
    from services import auth

    defaults = {}
    if kind == "professional":
        defaults = {
            "company_name": "Guichet SARL",
            "legal_form": "SARL",
            "identifier_kind": "rcs",
            "identifier": "B123456",
            "street": "1, rue du Commerce",
            "postcode": "L-1000",
            "city": "Luxembourg",
            "country": "Luxembourg",
            "company_email": "contact@guichet.lu",
        }
        if admin is not None:
            defaults["created_with"] = auth.token_product(admin)
    else:
        defaults["owner"] = admin
    created = Space.create(kind=kind, name=name, created_by=admin, **{**defaults, **fields})
    if admin is not None:
        Membership.create(space=created, user=admin, role="admin")
    return created


def member(space_, person, role="reader"):
    from models import Membership

    return Membership.create(space=space_, user=person, role=role)


# --- Certification -----------------------------------------------------------------------

COMPANY_ADDRESS = ("1, rue du Commerce", "L-1000 Luxembourg")


def access_code(
    administration_code="ACD", service_slug="fiches-retenue", company="B123456", kind="holder", **fields
):
    """An administration issues a code, its letter addressed to the company's registered
    name and address; returns (AccessCode, the code as shown)."""
    from services import access_codes

    fields.setdefault("company_name", "Guichet SARL" if company == "B123456" else f"Société {company}")
    fields.setdefault("address_lines", COMPANY_ADDRESS)
    return access_codes.issue_code(administration_code, service_slug, company, kind, **fields)


# --- Procedures and dossiers ---------------------------------------------------------------

# A small definition of each kind of step: the core's tests need a procedure, not the demo's.
SMALL_PROCEDURE = {
    "title": "Démarche d'essai",
    "description": "Une démarche pour les tests.",
    "steps": [
        {
            "key": "entreprise",
            "title": "Votre entreprise",
            "fields": [
                {
                    "name": "company_name",
                    "type": "text",
                    "label": "Raison sociale",
                    "required": True,
                    "max_length": 200,
                    "prefill": "company.name",
                }
            ],
        }
    ],
}


def procedure(slug="acd-essai", administration_code="ACD", service_slug="fiches-retenue", definition=None):
    """A procedure of an administration (of the catalogue, or made here) requiring the
    service's certification (`service_slug=None`: open to every professional space)."""
    from models import Administration, Procedure, Service

    administration_ = Administration.get_or_none(code=administration_code) or administration(
        administration_code
    )
    service_ = None
    if service_slug:
        service_ = Service.get_or_none(slug=service_slug) or service(administration_, slug=service_slug)
    definition = {**SMALL_PROCEDURE, "slug": slug, **(definition or {})}
    return Procedure.create(
        slug=slug,
        administration=administration_,
        service=service_,
        title=definition["title"],
        definition=definition,
    )


def holder_certification(space_, service_slug="fiches-retenue", **fields):
    """The space certified for the service for its own company, as a holder code gives it."""
    from datetime import timedelta

    import clock
    from models import Certification, Service

    fields.setdefault("ends_at", clock.now() + timedelta(days=365))
    return Certification.create(
        space=space_,
        service=Service.get(slug=service_slug),
        kind="holder",
        company_identifier=space_.identifier,
        company_name=space_.company_name,
        **fields,
    )


def dossier(space_, procedure_=None, **fields):
    """A dossier of the space's own company (a draft unless `status` says otherwise)."""
    from models import Dossier, Procedure

    procedure_ = procedure_ or Procedure.get_or_none(slug="acd-essai") or procedure()
    fields.setdefault("company_identifier", space_.identifier)
    fields.setdefault("company_name", space_.company_name)
    return Dossier.create(procedure=procedure_, space=space_, **fields)


def taken_up_mandate(mandant, mandatary, service_slug="fiches-retenue", days=90):
    """The mandant's holder space (a Membership of an admin) dispenses a mandate for the
    service and the mandatary space (a Membership) redeems its code: the proxy Certification."""
    from datetime import timedelta

    import clock
    from models import Service
    from services import access_codes, mandates

    service_ = Service.get(slug=service_slug)
    _mandate, code = mandates.grant_mandate(
        mandant, mandant.user, service_.id, clock.now() + timedelta(days=days)
    )
    return access_codes.redeem_proxy_code(mandatary, mandatary.user, code)


# --- Signature, receipts, dossier page ---------------------------------------------------------

# A procedure with a field of most kinds, a repeatable group and a file: what a receipt prints.
SIGNED_PROCEDURE = {
    "title": "Fiches de retenue d'impôt : demande de fiches",
    "description": "Demander les fiches de retenue d'impôt de vos salariés.",
    "steps": [
        {
            "key": "entreprise",
            "title": "Votre entreprise",
            "fields": [
                {"name": "company_name", "type": "text", "label": "Raison sociale", "required": True},
                {"name": "iban", "type": "iban", "label": "IBAN"},
                {
                    "name": "period",
                    "type": "select",
                    "label": "Période",
                    "required": True,
                    "options": [
                        {"value": "2026", "label": "Année 2026"},
                        {"value": "2027", "label": "Année 2027"},
                    ],
                },
                {"name": "urgent", "type": "checkbox", "label": "Demande urgente"},
            ],
        },
        {
            "key": "salaries",
            "title": "Vos salariés",
            "fields": [
                {
                    "name": "employees",
                    "type": "group",
                    "label": "Salariés",
                    "min_rows": 1,
                    "max_rows": 200,
                    "fields": [
                        {"name": "matricule", "type": "matricule", "label": "Matricule", "required": True},
                        {"name": "name", "type": "text", "label": "Nom", "required": True},
                    ],
                }
            ],
        },
        {
            "key": "pieces",
            "title": "Pièces justificatives",
            "fields": [{"name": "minutes", "type": "file", "label": "Procès-verbal", "required": True}],
        },
    ],
}


def dossier_file(dossier_, content=None, name="proces-verbal.pdf", field="", message=None):
    """A file of the dossier (PDF unless `content` says otherwise)."""
    import hashlib

    from models import DossierFile
    from services import files

    content = content or PDF
    return DossierFile.create(
        dossier=dossier_,
        field=field,
        message=message,
        name=name,
        content_type=files.content_type(content),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )


def signable_dossier(space_, administration_code="ACD", service_slug="fiches-retenue", **fields):
    """A complete draft of the space's company, as the assistant leaves it before Vérifier et
    signer: its data set directly, its file uploaded."""
    from models import Procedure

    slug = f"{administration_code.lower()}-signature"
    procedure_ = Procedure.get_or_none(slug=slug) or procedure(
        slug, administration_code, service_slug, definition=SIGNED_PROCEDURE
    )
    created = dossier(space_, procedure_, **fields)
    attached = dossier_file(created, field="minutes")
    created.data = {
        "company_name": created.company_name,
        "iban": "LU280019400644750000",
        "period": "2026",
        "urgent": "1",
        "employees": [
            {"matricule": "1983081974925", "name": "Léa Guichet"},
            {"matricule": "1983081974925", "name": "Marc Guichet"},
        ],
        "minutes": str(attached.id),
    }
    created.save()
    return created


# --- Back-office dossiers --------------------------------------------------------------------


def transmitted_dossier(space_, procedure_=None, number=1, status="submitted", **fields):
    """A signed and transmitted dossier of the space's company (its reference from `number`,
    as the signature gives it), with its history's first entries."""
    import clock
    from models import DossierEvent, Procedure

    procedure_ = procedure_ or Procedure.get_or_none(slug="acd-essai") or procedure()
    code = procedure_.administration.code
    fields.setdefault("reference", f"{code}-2026-{number:06d}")
    fields.setdefault("submitted_at", clock.now())
    fields.setdefault("updated_at", clock.now())
    fields.setdefault("data", {"company_name": space_.company_name})
    found = dossier(space_, procedure_, status=status, **fields)
    for action in ("created", "submitted"):
        DossierEvent.create(
            dossier=found,
            action=action,
            status="draft" if action == "created" else "submitted",
            actor="Léa Guichet",
            actor_user=found.created_by_id,
        )
    return found


def dossier_rows(space_, procedure_, count, status="submitted", start=1):
    """`count` transmitted dossiers at once (one bulk insert), for query budgets."""
    from datetime import timedelta

    import clock
    from models import Dossier

    now = clock.now()
    code = procedure_.administration.code
    rows = [
        {
            "procedure": procedure_.id,
            "space": space_.id,
            "company_identifier": space_.identifier,
            "company_name": space_.company_name,
            "status": status,
            "reference": f"{code}-2026-{n:06d}",
            "data": {},
            "created_at": now,
            "updated_at": now - timedelta(minutes=n),
            "submitted_at": now,
        }
        for n in range(start, start + count)
    ]
    for index in range(0, len(rows), 500):  # SQLite's limit on a statement's variables
        Dossier.insert_many(rows[index : index + 500]).execute()


# --- Procedures: the demo definitions and the assistant ------------------------------------

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def demo_procedures():
    """The catalogue and the four procedures of data/procedures, as seed-demo loads them."""
    from flask import current_app

    from services import catalogue, procedures

    catalogue.load()
    procedures.load(current_app.config["PROCEDURES_DIR"])


def retitled(definition, title):
    """A copy of a procedure's definition under a new title, given in the three languages."""
    import json

    data = json.loads(json.dumps(definition))
    data["title"] = title
    for language in ("de", "en"):
        data["translations"][language][title] = f"{title} ({language})"
    return data


# What Suivant posts at each step of the ACD's fiches de retenue (the company step as prefilled).
ACD_STEPS = {
    1: {
        "company_name": "Guichet SARL",
        "company_identifier": "B123456",
        "street": "1, rue du Commerce",
        "postcode": "L-1000",
        "city": "Luxembourg",
        "country": "Luxembourg",
    },
    2: {
        "employees-0-matricule": "1983081974925",
        "employees-0-last_name": "Muller",
        "employees-0-first_name": "Anne",
        "employees-0-entry_date": "2026-01-05",
    },
    3: {"tax_year": "2026", "contact_person": "Léa Guichet", "contact_email": "paie@guichet.lu"},
}


# --- Mandants, drafts, scale ----------------------------------------------------------------


def client_companies(fiduciary, count=3, service_slug="fiches-retenue"):
    """`count` client companies, each with its holder space (certified for the service, its
    admin client0, client1…) that has dispensed the fiduciary space (a Membership) a mandate
    the fiduciary took up: their proxy Certifications in the fiduciary space."""
    from services import spaces

    mandates = []
    for i in range(count):
        admin = user(f"client{i}", first_name="Claude", last_name=f"Client {i}")
        holder = space(
            admin, name=f"Espace Client {i}", company_name=f"Client {i} SA", identifier=f"B3000{i:02d}"
        )
        holder_certification(holder, service_slug)
        mandates.append(taken_up_mandate(spaces.membership_for(admin, holder.id), fiduciary, service_slug))
    return mandates


def many_dossiers(space_, count, mandates=(), procedure_=None):
    """`count` more dossiers filed in the space, inserted in batches (a fiduciary's
    thousands, in well under a second): in turn for its own company and for each mandant of
    `mandates` (proxy Certifications of the space), of every status, with a reference once
    transmitted, last changed a minute apart, the newest first."""
    from datetime import timedelta

    from peewee import chunked, fn

    import clock
    from models import DOSSIER_STATUSES, Dossier, Procedure, db

    procedure_ = procedure_ or Procedure.get_or_none(slug="acd-essai") or procedure()
    own = {"company_identifier": space_.identifier, "company_name": space_.company_name}
    companies = [{"mandate": None, "mandant_space": None, **own}]
    companies += [
        {
            "mandate": certification.id,
            "mandant_space": certification.access_code.issued_by_space_id,
            "company_identifier": certification.company_identifier,
            "company_name": certification.company_name,
        }
        for certification in mandates
    ]
    first = (Dossier.select(fn.MAX(Dossier.id)).scalar() or 0) + 1
    now = clock.now()
    rows = []
    for number in range(first, first + count):
        status = DOSSIER_STATUSES[number % len(DOSSIER_STATUSES)]
        rows.append(
            {
                "procedure": procedure_.id,
                "space": space_.id,
                "status": status,
                "reference": None if status == "draft" else f"SCL-2026-{number:06d}",
                "created_at": now - timedelta(minutes=number),
                "updated_at": now - timedelta(minutes=number),
                **companies[number % len(companies)],
            }
        )
    with db.atomic():
        for batch in chunked(rows, 500):
            Dossier.insert_many(batch).execute()
    return Dossier.select().where(Dossier.space == space_.id).count()


def certified_member(userid="lea", **space_fields):
    """A person administering a professional space (Guichet SARL unless `space_fields` say
    otherwise) certified for the ACD's fiches de retenue: their Membership."""
    from services import spaces

    person = user(userid, **({"first_name": "Fiona"} if userid == "fiona" else {}))
    space_ = space(person, **space_fields)
    holder_certification(space_)
    return spaces.membership_for(person, space_.id)


def fiduciary_and_client(guichet_name="Guichet"):
    """Guichet SARL's holder space (Léa) has given Fiona's fiduciary space (Fidu SA, certified
    for the fiches de retenue itself, at another address) a mandate for them, with the demo
    procedures loaded: (the client's Membership, the fiduciary's, the proxy Certification)."""
    demo_procedures()
    holder = certified_member("lea", name=guichet_name)
    fiduciary = certified_member(
        "fiona",
        name="Fiduciaire Fiona",
        company_name="Fidu SA",
        identifier="B222222",
        street="2, avenue de la Gare",
    )
    return holder, fiduciary, taken_up_mandate(holder, fiduciary)


# --- Help, contact, feedback -------------------------------------------------------------------


def contact_request(subject="Limite d'espaces professionnels", **fields):
    from models import ContactRequest

    fields.setdefault("name", "Léa Guichet")
    fields.setdefault("email", "lea.guichet@example.lu")
    fields.setdefault("message", "Bonjour,\nPouvez-vous relever ma limite ?")
    return ContactRequest.create(subject=subject, **fields)


def feedback(page="/aide", found=True, rating=4, **fields):
    from models import Feedback

    return Feedback.create(page=page, found=found, rating=rating, **fields)


# --- Communications ----------------------------------------------------------------------------


def communication(
    administration_code="ACD",
    company="B123456",
    space_=None,
    subject="Rappel : déclaration annuelle",
    **fields,
):
    """A message of an administration (of the catalogue, or made here) to a company's spaces,
    or to one space (`space_`: a decision), as the back-office sends it; `documents` is a
    list of PDF contents."""
    import hashlib

    from models import Administration, Communication, CommunicationDocument, CommunicationRecipient

    administration_ = Administration.get_or_none(code=administration_code) or administration(
        administration_code
    )
    documents = fields.pop("documents", ())
    fields.setdefault("body", "Votre déclaration est attendue avant le 31 mars.\n\nCordialement.")
    fields.setdefault("sender", f"Agnès Agent ({administration_code})")
    fields.setdefault("kind", "decision" if space_ else "message")
    fields.setdefault("audience", f"Entreprise {company}")
    created = Communication.create(administration=administration_, subject=subject, **fields)
    CommunicationRecipient.create(
        communication=created,
        company_identifier=space_.identifier if space_ else company,
        space=space_,
    )
    for index, content in enumerate(documents, 1):
        CommunicationDocument.create(
            communication=created,
            name=f"document-{index}.pdf",
            content_type="application/pdf",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
        )
    return created


def communications_to(company, count, administration_code="ACD"):
    """`count` messages of the administration to the company, a minute apart, the newest
    first, inserted at once (for query budgets and the scale)."""
    from datetime import timedelta

    from peewee import chunked, fn

    import clock
    from models import Administration, Communication, CommunicationRecipient, db

    administration_ = Administration.get_or_none(code=administration_code) or administration(
        administration_code
    )
    first = (Communication.select(fn.MAX(Communication.id)).scalar() or 0) + 1
    now = clock.now()
    with db.atomic():
        for batch in chunked(range(first, first + count), 500):
            Communication.insert_many(
                [
                    {
                        "administration": administration_.id,
                        "sender": "Agnès Agent",
                        "subject": f"Communication n° {n}",
                        "body": "Texte.",
                        "sent_at": now - timedelta(minutes=n),
                    }
                    for n in batch
                ]
            ).execute()
        ids = [c.id for c in Communication.select(Communication.id).where(Communication.id >= first)]
        for batch in chunked(ids, 500):
            CommunicationRecipient.insert_many(
                [{"communication": i, "company_identifier": company} for i in batch]
            ).execute()


def company_spaces(count, company="B123456", start=0):
    """`count` more live professional spaces of the company, each with one admin, inserted at
    once (a company with thousands of spaces)."""
    from peewee import chunked

    import clock
    from models import Membership, Space, User, db

    now = clock.now()
    with db.atomic():
        for batch in chunked(range(start, start + count), 300):
            User.insert_many(
                [
                    {"userid": f"m{n}", "userid_key": f"m{n}", "email": f"m{n}@example.lu", "created_at": now}
                    for n in batch
                ]
            ).execute()
            Space.insert_many(
                [
                    {
                        "kind": "professional",
                        "name": f"Espace {n}",
                        "company_name": "Guichet SARL",
                        "identifier_kind": "rcs",
                        "identifier": company,
                        "created_at": now,
                    }
                    for n in batch
                ]
            ).execute()
        users = {u.userid: u.id for u in User.select(User.id, User.userid).where(User.userid.startswith("m"))}
        spaces_ = {
            s.name: s.id for s in Space.select(Space.id, Space.name).where(Space.name.startswith("Espace "))
        }
        rows = [
            {"space": spaces_[f"Espace {n}"], "user": users[f"m{n}"], "role": "admin", "joined_at": now}
            for n in range(start, start + count)
        ]
        for batch in chunked(rows, 300):
            Membership.insert_many(batch).execute()


# --- Codes d'accès and Courriers ----------------------------------------------------------

CODES_HEADER = ("identifiant", "nom", "adresse", "service", "type", "jours_activation", "jours_validite")


def codes_line(
    number, service_slug="fiches-retenue", kind="titulaire", activation="30", valid="365", **cells
):
    """A company's line of a codes CSV file, as a dict of its cells: company `number` is
    B10000<number>, "Société <number>", at "<number>, rue du Commerce / L-1000 Luxembourg"."""
    return {
        "identifiant": f"B{100000 + number}",
        "nom": f"Société {number}",
        "adresse": f"{number}, rue du Commerce / L-1000 Luxembourg",
        "service": service_slug,
        "type": kind,
        "jours_activation": activation,
        "jours_validite": valid,
        **cells,
    }


def codes_csv(lines, delimiter=";", bom=False, header=CODES_HEADER):
    """A codes CSV file (bytes, UTF-8) of `lines` (dicts of cells, codes_line) under `header`."""
    return csv_file(lines, header, delimiter, bom)


def csv_file(lines, header, delimiter=",", bom=False):
    """A CSV file (bytes, UTF-8) of `lines` (dicts of cells) under `header`."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for line in lines:
        writer.writerow([line.get(column, "") for column in header])
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


def queued_letter(name="Guichet SARL", administration=None, code=None):
    """A letter in a postal queue (an administration's id, or None: the portal's)."""
    from services import letters

    return letters.queue_letter(
        name,
        ["1, rue du Commerce", "L-1000 Luxembourg"],
        f"Courrier pour {name}",
        "Madame, Monsieur,\n\nVoici votre courrier.",
        language="fr",
        code=code,
        administration=administration,
    )


# --- Company register -----------------------------------------------------------------------

# The columns of INSEE's StockEtablissement that the register reads, with some it ignores.
SIRENE_HEADER = (
    "siren",
    "nic",
    "siret",
    "etablissementSiege",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "enseigne1Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "denominationUniteLegale",
    "categorieJuridiqueUniteLegale",
)


def siren(number):
    """A valid SIREN (Luhn) made of `number`: 8 digits and its check digit."""
    from stdnum import luhn

    base = f"{number:08d}"
    return base + luhn.calc_check_digit(base)


def sirene_line(number, head="true", **cells):
    """An establishment's line of a SIRENE extract (a dict of cells): company `number` is
    siren(number), "Société <number>" (a SAS) at "<number> AV DE LA GARE, 57000 METZ"."""
    company = siren(number)
    return {
        "siren": company,
        "nic": "00012",
        "siret": company + "00012",
        "etablissementSiege": head,
        "numeroVoieEtablissement": str(number),
        "typeVoieEtablissement": "AV",
        "libelleVoieEtablissement": "DE LA GARE",
        "codePostalEtablissement": "57000",
        "libelleCommuneEtablissement": "METZ",
        "activitePrincipaleEtablissement": "69.20Z",
        "denominationUniteLegale": f"Société {number}",
        "categorieJuridiqueUniteLegale": "5710",
        **cells,
    }


def rcs_line(number, **cells):
    """A company's line of an RCS file (a dict of cells): company `number` is B<200000 +
    number>, "Entreprise <number> SA" at "<number>, rue du Commerce, L-1000 Luxembourg"."""
    return {
        "rcs": f"B{200000 + number}",
        "denomination": f"Entreprise {number} SA",
        "forme_juridique": "SA",
        "adresse": f"{number}, rue du Commerce",
        "code_postal": "L-1000",
        "localite": "Luxembourg",
        "pays": "",
        "email": f"contact{number}@exemple.lu",
        "iban": "LU280019400644750000",
        "titulaire": f"Entreprise {number} SA",
        **cells,
    }


def registered_company(identifier="B123456", **fields):
    """A company in the register: Guichet SARL at 1, rue du Commerce, L-1000 Luxembourg,
    without e-mail or bank account, unless `fields` say otherwise (the test companies are
    dicts of fields: BOULANGERIE_DUPONT…); a SIREN or an RCS number as `identifier` says."""
    from models import Company

    values = {
        "identifier_kind": "siren" if identifier.isdigit() else "rcs",
        "name": "Guichet SARL",
        "legal_form": "SARL",
        "street": "1, rue du Commerce",
        "postcode": "L-1000",
        "city": "Luxembourg",
        "country": "Luxembourg",
        "source": "demo",
        **fields,
    }
    return Company.create(identifier=identifier, **values)


# --- Impots signup --------------------------------------------------------------------------

# A French company of the register, with its e-mail: registered_company(**BOULANGERIE_MARTIN).
BOULANGERIE_MARTIN = {
    "identifier": "732829320",
    "name": "Boulangerie Martin SARL",
    "street": "12, rue des Boulangers",
    "postcode": "75005",
    "city": "Paris",
    "country": "France",
    "email": "contact@boulangerie-martin.fr",
}


# --- impots -----------------------------------------------------------------------------------

# SIRENs (Luhn-valid) of the register's test companies.
SIREN = "404833048"
OTHER_SIREN = "512163452"
THIRD_SIREN = "812345676"
# The impots tests' companies of the register (registered_company(**BOULANGERIE_DUPONT)):
# Boulangerie Dupont has an e-mail and no bank account, Garage Martin both.
BOULANGERIE_DUPONT = {
    "identifier": SIREN,
    "name": "Boulangerie Dupont SAS",
    "legal_form": "SAS",
    "street": "12, rue des Lilas",
    "postcode": "69003",
    "city": "Lyon",
    "country": "France",
    "email": "contact@boulangerie-dupont.fr",
}
GARAGE_MARTIN = {
    "identifier": OTHER_SIREN,
    "name": "Garage Martin SARL",
    "street": "3, avenue Jean Jaurès",
    "postcode": "75019",
    "city": "Paris",
    "country": "France",
    "email": "compta@garage-martin.fr",
    "iban": "FR7630006000011234567890189",
    "account_holder": "Garage Martin SARL",
}


def impots_user(email="marie.expert@example.fr", password=PASSWORD, **fields):
    """A person with an "Espace professionnel impots" account (e-mail and password)."""
    from flask import current_app

    import clock
    from models import AuthProduct, User
    from services import auth

    now = clock.now()
    defaults = {
        "first_name": "Marie",
        "last_name": "Expert",
        "email": email,
        "registered_at": now,
        "email_confirmed_at": now,
        "terms_version": current_app.config["TERMS_VERSION"],
        "terms_accepted_at": now,
    }
    person = User.create(userid=email, userid_key=email.lower(), **{**defaults, **fields})
    AuthProduct.create(
        user=person,
        kind="impots",
        password_hash=auth.hash_password(password),
        totp_secret_encrypted="",
        secret_image="",
        enrolled_at=now,
    )
    return person


def _impots_product(person):
    from models import AuthProduct

    return AuthProduct.get(AuthProduct.user == person.id, AuthProduct.kind == "impots")


def impots_catalogue():
    """The demo catalogue (the DGFiP and its four services): what adhesions choose from."""
    from services import catalogue

    catalogue.load()


def simplified_space(admin=None, company_=None, name=None):
    """A Mode simplifié space as following the company's link makes it: the company's space
    (its SIREN and registered data), `admin` its administrator, its adhesion to every DGFiP
    service pending with its code posted. Returns (the admin's Membership, the Adhesion, the
    code as the letter carries it)."""
    from models import Membership, Space
    from services import adhesions, companies, letters, spaces

    impots_catalogue()
    admin = admin or impots_user("paul.dupont@example.fr", first_name="Paul", last_name="Dupont")
    company_ = company_ or companies.find(SIREN) or registered_company(**BOULANGERIE_DUPONT)
    created = Space.create(
        kind="professional",
        name=name or company_.name,
        created_by=admin,
        created_with=_impots_product(admin),
        **companies.space_fields(company_),
    )
    Membership.create(space=created, user=admin, role="admin")
    adhesion = adhesions.open_adhesion(created, company_, adhesions.offered_services(), admin)
    return spaces.membership_for(admin, created.id), adhesion, letters.carried_code(adhesion.letter)


def expert_space(admin=None, subscriber_number="0612345678", name=None):
    """A Mode expert space (a numéro d'abonné, no company of its own) administered by `admin`:
    its Membership."""
    from models import Membership, Space
    from services import spaces

    impots_catalogue()
    admin = admin or impots_user()
    created = Space.create(
        kind="professional",
        name=name or f"Espace abonné {admin.first_name} {admin.last_name}",
        created_by=admin,
        created_with=_impots_product(admin),
        subscriber_number=subscriber_number,
    )
    Membership.create(space=created, user=admin, role="admin")
    return spaces.membership_for(admin, created.id)


def adhesion(member, company_=None, slugs=("dgfip-declarer-tva",), **given):
    """An adhesion of the expert space for the company (made here unless given) to the DGFiP
    services `slugs`, its code posted: (Adhesion, the code)."""
    from models import Service
    from services import adhesions, companies, letters

    company_ = company_ or companies.find(SIREN) or registered_company(**BOULANGERIE_DUPONT)
    services = list(Service.select().where(Service.slug.in_(slugs)).order_by(Service.id))
    made = adhesions.open_adhesion(member.space, company_, services, member.user, **given)
    return made, letters.carried_code(made.letter)


def adhesions_rows(member, count, status="pending"):
    """`count` adhesions of the expert space for companies 100000000+n (not in the register),
    inserted at once (an accountant's hundreds), each to two services."""
    from datetime import timedelta

    from peewee import chunked

    import clock
    from models import Adhesion, Service, db

    ids = [s.id for s in Service.select().where(Service.slug.in_(("dgfip-messagerie", "dgfip-declarer-tva")))]
    now = clock.now()
    first = Adhesion.select().where(Adhesion.space == member.space_id).count()
    rows = [
        {
            "space": member.space_id,
            "company_identifier": f"{100000000 + n}",
            "company_name": f"Client {n}",
            "service_ids": ids,
            "code_sent_at": now,
            "code_expires_at": now + timedelta(days=60),
            "created_at": now - timedelta(minutes=n),
            "activated_at": now if status == "active" else None,
        }
        for n in range(first, count)
    ]
    with db.atomic():
        for batch in chunked(rows, 300):
            Adhesion.insert_many(batch).execute()


# What a person types into Enregistrement (the matricule is the seed's valid one).
REGISTRATION_DETAILS = {
    "first_name": "Léa",
    "last_name": "Guichet",
    "email": "lea@example.lu",
    "matricule": "1983081974925",
    "street": "11, allée du Guichet",
    "postcode": "L-0000",
    "city": "Luxembourg",
    "country": "Luxembourg",
}
