"""`load-scale`: the large demo dataset of the benchmarks and demos (SPEC §11), written as the
product stores it, in bulk: a fiduciary's professional space with its mandates obtained
(proxy codes of its client companies' holder spaces, redeemed in it), mandates dispensés,
its own certifications, thousands of dossiers filed with an administration (history
included), its members and the communications addressed to it; one demo person who is an
administrator of as many professional spaces as a Token may create; and a back-office agent
of the administration that receives the dossiers, enrolled.

Rows go in with `insert_many`, in batches, in one transaction: no service is called per
row, and the password's argon2 hash is computed once for every generated person. Receipts
are not made (signing a PDF per dossier would take minutes), but for the one dossier the
benchmark opens: a dossier page lists its receipts when it has some, the others have none.
"""

import secrets
from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l, to_user_timezone
from peewee import PostgresqlDatabase, chunked, fn
from stdnum import luhn, verhoeff

import clock
from models import (
    AccessCode,
    Administration,
    Agent,
    AuthProduct,
    Certification,
    Communication,
    CommunicationRead,
    CommunicationRecipient,
    Dossier,
    DossierEvent,
    Mandate,
    Membership,
    Procedure,
    ReferenceCounter,
    Service,
    Space,
    User,
    db,
)
from services import DomainError, audit, auth, crypto, receipts

# SPEC §11's numbers, the command's defaults.
MANDATES, DOSSIERS, MEMBERS, COMMUNICATIONS = 2000, 10_000, 2000, 500
SPACES = AuthProduct.space_limit.default  # a Token's limit of professional spaces
GRANTED = 300  # mandates dispensés by the fiduciary
BATCH = 500  # rows per INSERT: under SQLite's limit of bound values at every table's width

DEMO_USERID = "demo.fiduciaire"
AGENT_USERID = "agent.scale"
ADMINISTRATION = "ACD"  # receives most dossiers: its agent's queue holds thousands
AGENT_NAME = f"Agent Démo ({ADMINISTRATION})"  # as Agent.display_name shows it
FIDUCIARY_IDENTIFIER = "B690000"
# The mandants' services, and the procedure filed for each; the fiduciary's own dossiers.
MANDATE_SERVICES = ("fiches-retenue", "fiches-retenue", "fiches-retenue", "securite-alimentaire")
PROCEDURE_OF = {
    "fiches-retenue": "acd-fiches-retenue",
    "securite-alimentaire": "alva-etablissement-alimentaire",
}
OWN_PROCEDURES = ("acd-fiches-retenue", "lbr-changement-adresse")
OWN_SERVICES = ("fiches-retenue", "securite-alimentaire", "elections-sociales", "sources-authentiques")
# The statuses in turn: mostly with the administration, a tenth drafts.
STATUS_CYCLE = (
    "submitted",
    "in_progress",
    "submitted",
    "accepted",
    "draft",
    "submitted",
    "in_progress",
    "complement",
    "submitted",
    "rejected",
)
ROLE_CYCLE = (
    "reader",
    "reader",
    "manager",
    "reader",
    "manager",
    "reader",
    "reader",
    "manager",
    "reader",
    "admin",
)


class AlreadyLoaded(DomainError):
    status = 409
    message = _l(
        "Le jeu de données à grande échelle est déjà chargé dans cette base (la personne %(userid)s "
        "ou l'agent %(agent)s existe) : utilisez une base neuve pour le recharger."
    )

    def __init__(self):
        super().__init__(str(self.message) % {"userid": DEMO_USERID, "agent": AGENT_USERID})


class CatalogueMissing(DomainError):
    status = 409
    message = _l("Le catalogue de démonstration manque (%(missing)s) : lancez d'abord seed-demo.")

    def __init__(self, missing):
        super().__init__(str(self.message) % {"missing": ", ".join(missing)})


class Loaded(NamedTuple):
    """What load() made, and how to log in: the counts for the report, the fiduciary space
    and one of its transmitted dossiers (for the benchmark's URLs), the credentials."""

    counts: dict
    space_id: int
    dossier_id: int
    userid: str
    password: str
    totp_secret: str
    agent_administration: str
    agent_userid: str
    agent_totp_secret: str


def load(mandates=MANDATES, dossiers=DOSSIERS, members=MEMBERS, communications=COMMUNICATIONS, spaces=SPACES):
    """Write the dataset in one transaction and return Loaded. Refused (AlreadyLoaded) when
    the database has it already; needs seed-demo's catalogue and procedures."""
    if not 1 <= spaces <= SPACES or members < 2 or min(mandates, dossiers, communications) < 0:
        raise ValueError("out of range")
    if (
        User.select().where(User.userid_key == auth.userid_key(DEMO_USERID)).exists()
        or Agent.select().where(Agent.userid_key == auth.userid_key(AGENT_USERID)).exists()
    ):
        raise AlreadyLoaded()
    catalogue = _catalogue()
    password = secrets.token_urlsafe(15)  # 20 characters
    with db.atomic():
        writer = _Writer(catalogue, auth.hash_password(password))
        people = writer.people(members)
        fiduciary, own_spaces = writer.spaces(people, spaces)
        obtained = writer.mandates_obtained(people, fiduciary, mandates)
        granted = writer.certifications_and_mandates_granted(
            people, fiduciary, own_spaces + obtained.mandants
        )
        agent, agent_secret = writer.agent()
        dossier_id = writer.dossiers(people, fiduciary, obtained.certifications, dossiers, agent)
        writer.communications(people, fiduciary, communications)
        counts = {
            "spaces": spaces,
            "mandates": mandates,
            "granted": granted,
            "dossiers": dossiers,
            "members": members,
            "communications": communications,
        }
        audit.record("scale.loaded", space_id=fiduciary, **counts)
    if isinstance(db.obj, PostgresqlDatabase):
        # The planner's statistics and the visibility map now, not at autovacuum's next pass:
        # the benchmark that follows would otherwise measure plans made for nearly empty
        # tables, and index-only scans (a space's dossiers counted from their index) reading
        # every row's page as on a database that autovacuum never reached.
        db.execute_sql("VACUUM ANALYZE")
    return Loaded(
        counts,
        fiduciary,
        dossier_id,
        DEMO_USERID,
        password,
        people.totp_secret,
        ADMINISTRATION,
        AGENT_USERID,
        agent_secret,
    )


def _catalogue():
    """The administrations, services and procedures the dataset refers to, by code and slug."""
    slugs = set(MANDATE_SERVICES) | set(OWN_SERVICES)
    procedure_slugs = set(PROCEDURE_OF.values()) | set(OWN_PROCEDURES)
    services = {service.slug: service for service in Service.select().where(Service.slug.in_(slugs))}
    procedures = {
        procedure.slug: procedure
        for procedure in Procedure.select(Procedure, Administration)
        .join(Administration)
        .where(Procedure.slug.in_(procedure_slugs))
    }
    administration = Administration.get_or_none(Administration.code == ADMINISTRATION)
    missing = sorted((slugs - set(services)) | (procedure_slugs - set(procedures)))
    if administration is None or missing:
        raise CatalogueMissing(missing or [ADMINISTRATION])
    return {"services": services, "procedures": procedures, "administration": administration}


def _insert(model, rows):
    """Insert `rows` (dicts with the same keys) in batches; their ids, in the rows' order."""
    before = model.select(fn.MAX(model.id)).scalar() or 0
    for batch in chunked(rows, BATCH):
        model.insert_many(batch).execute()
    ids = [
        row_id for (row_id,) in model.select(model.id).where(model.id > before).order_by(model.id).tuples()
    ]
    assert len(ids) == len(rows), f"{model.__name__}: {len(ids)} rows for {len(rows)}"
    return ids


class People(NamedTuple):
    demo: int  # the demo person's User id
    demo_product: int
    users: list  # every member's User id, the demo person's first
    products: list  # their AuthProduct ids
    names: list  # their display names
    totp_secret: str  # the demo person's


class Obtained(NamedTuple):
    certifications: list  # (Certification id, service slug, mandant space id, identifier, name)
    mandants: list  # the client companies' holder space ids


class _Writer:
    def __init__(self, catalogue, password_hash):
        self.catalogue = catalogue
        self.password_hash = password_hash
        self.now = clock.now().replace(microsecond=0)
        self.version = current_app.config["TERMS_VERSION"]

    # --- People -------------------------------------------------------------------------------

    def people(self, count):
        """The demo person and the other members of the fiduciary, registered, their Token
        enrolled. Only the demo person's TOTP secret is told; the others share one."""
        demo_secret = auth.new_totp_secret()
        shared = crypto.encrypt("totp", auth.new_totp_secret())
        images = [image["slug"] for image in auth.secret_images()]
        users, names = [], []
        for n in range(count):
            first, last = (
                ("Dominique", "Démo") if n == 0 else (FIRST_NAMES[n % len(FIRST_NAMES)], f"Membre {n:04d}")
            )
            userid = DEMO_USERID if n == 0 else f"fidu.membre{n:04d}"
            names.append(f"{first} {last}")
            users.append(
                {
                    "userid": userid,
                    "userid_key": auth.userid_key(userid),
                    "first_name": first,
                    "last_name": last,
                    "email": f"{userid}@fiduciaire.example",
                    "street": f"{n % 200 + 1}, avenue de la Liberté",
                    "postcode": "L-1930",
                    "city": "Luxembourg",
                    "country": "Luxembourg",
                    "registered_at": self.now - timedelta(days=400),
                    "email_confirmed_at": self.now - timedelta(days=400),
                    "terms_version": self.version,
                    "terms_accepted_at": self.now - timedelta(days=400),
                    "space_terms_version": self.version,
                    "created_at": self.now - timedelta(days=400),
                }
            )
        user_ids = _insert(User, users)
        product_ids = _insert(
            AuthProduct,
            [
                {
                    "user": user_id,
                    "kind": "token",
                    "password_hash": self.password_hash,
                    "totp_secret_encrypted": crypto.encrypt("totp", demo_secret) if n == 0 else shared,
                    "secret_image": images[n % len(images)],
                    "enrolled_at": self.now - timedelta(days=400),
                    "created_at": self.now - timedelta(days=400),
                }
                for n, user_id in enumerate(user_ids)
            ],
        )
        return People(user_ids[0], product_ids[0], user_ids, product_ids, names, demo_secret)

    # --- Spaces -------------------------------------------------------------------------------

    @staticmethod
    def _company(identifier, name, n):
        return {
            "company_name": name,
            "legal_form": ("SARL", "SA", "SCS", "SARL-S")[n % 4],
            "identifier_kind": "rcs",
            "identifier": identifier,
            "street": f"{n % 90 + 1}, rue du Marché-aux-Herbes",
            "postcode": f"L-{1100 + n % 800}",
            "city": "Luxembourg",
            "country": "Luxembourg",
            "company_email": f"contact@{identifier.lower()}.example",
        }

    def _space(self, name, creator, product, created_at, company):
        return {
            "kind": "professional",
            "name": name,
            "created_by": creator,
            "created_with": product,
            "created_at": created_at,
            **company,
        }

    def spaces(self, people, count):
        """The fiduciary space (every person of `people` a member, the demo person admin) and
        the demo person's other professional spaces: `count` in all, created with its Token."""
        rows = [
            self._space(
                "Fiduciaire Lux Conseil",
                people.demo,
                people.demo_product,
                self.now - timedelta(days=720),
                self._company(FIDUCIARY_IDENTIFIER, "Fiduciaire Lux Conseil SA", 0),
            )
        ]
        for n in range(1, count):
            name = f"Société Démo {n:03d}"
            rows.append(
                self._space(
                    name,
                    people.demo,
                    people.demo_product,
                    self.now - timedelta(days=700 - n),
                    self._company(f"B{800000 + n}", f"{name} SARL", n),
                )
            )
        space_ids = _insert(Space, rows)
        fiduciary, own = space_ids[0], space_ids[1:]
        members = [
            {
                "space": fiduciary,
                "user": user_id,
                "role": "admin" if n == 0 else ROLE_CYCLE[n % len(ROLE_CYCLE)],
            }
            for n, user_id in enumerate(people.users)
        ]
        members += [{"space": space_id, "user": people.demo, "role": "admin"} for space_id in own]
        for row in members:
            row["joined_at"] = self.now - timedelta(days=365)
        _insert(Membership, members)
        return fiduciary, own

    # --- Certifications and mandates -------------------------------------------------------

    def _proxy_code(
        self, service, identifier, name, issued_by, granted_at, ends_at, redeemed_in, redeemed_by
    ):
        return {
            "code_hash": secrets.token_hex(32),  # the HMAC of a code nobody knows
            "kind": "proxy",
            "service": service,
            "company_identifier": identifier,
            "company_name": name,
            "issued_by_space": issued_by,
            "activation_deadline": granted_at + timedelta(days=30),
            "ends_at": ends_at,
            "created_at": granted_at - timedelta(days=2),
            "redeemed_at": granted_at if redeemed_in else None,
            "redeemed_in": redeemed_in,
            "redeemed_by": redeemed_by,
        }

    def mandates_obtained(self, people, fiduciary, count):
        """`count` client companies, each with its holder space (its admin a member of the
        fiduciary, as an accountant's clients often are) certified for a service, which
        dispensed the fiduciary a mandate the fiduciary redeemed: Mandats obtenus."""
        services = self.catalogue["services"]
        clients = []
        for n in range(count):
            admin = 1 + n % (len(people.users) - 1)  # never the demo person: its spaces are counted
            identifier, name = f"B{700000 + n}", f"{CLIENT_NAMES[n % len(CLIENT_NAMES)]} {n:04d}"
            clients.append(
                (n, admin, identifier, f"{name} SARL", MANDATE_SERVICES[n % len(MANDATE_SERVICES)])
            )
        mandant_ids = _insert(
            Space,
            [
                self._space(
                    f"Espace {name}",
                    people.users[admin],
                    people.products[admin],
                    self.now - timedelta(days=600 - n % 300),
                    self._company(identifier, name, n),
                )
                for n, admin, identifier, name, _slug in clients
            ],
        )
        _insert(
            Membership,
            [
                {"space": space_id, "user": people.users[admin], "role": "admin", "joined_at": self.now}
                for space_id, (_n, admin, *_rest) in zip(mandant_ids, clients, strict=True)
            ],
        )
        holder_rows, code_rows = [], []
        for space_id, (n, _admin, identifier, name, slug) in zip(mandant_ids, clients, strict=True):
            granted_at = self.now - timedelta(days=400 - n % 300, hours=n % 24)
            holder_rows.append(
                self._certification(space_id, services[slug].id, "holder", identifier, name, None, granted_at)
            )
            code_rows.append(
                self._proxy_code(
                    services[slug].id,
                    identifier,
                    name,
                    space_id,
                    granted_at + timedelta(days=20),
                    self.now + timedelta(days=200 + n % 365),
                    fiduciary,
                    people.demo,
                )
            )
        _insert(Certification, holder_rows)
        code_ids = _insert(AccessCode, code_rows)
        _insert(
            Mandate,
            [
                {
                    "access_code": code_id,
                    "note": "Fiduciaire Lux Conseil",
                    "granted_by": people.users[admin],
                }
                for code_id, (_n, admin, *_rest) in zip(code_ids, clients, strict=True)
            ],
        )
        certification_ids = _insert(
            Certification,
            [
                self._certification(
                    fiduciary,
                    code["service"],
                    "proxy",
                    code["company_identifier"],
                    code["company_name"],
                    code_id,
                    code["redeemed_at"],
                    code["ends_at"],
                )
                for code_id, code in zip(code_ids, code_rows, strict=True)
            ],
        )
        certifications = [
            (certification_id, slug, space_id, identifier, name)
            for certification_id, space_id, (_n, _admin, identifier, name, slug) in zip(
                certification_ids, mandant_ids, clients, strict=True
            )
        ]
        return Obtained(certifications, mandant_ids)

    def _certification(self, space, service, kind, identifier, name, code, granted_at, ends_at=None):
        return {
            "space": space,
            "service": service,
            "kind": kind,
            "company_identifier": identifier,
            "company_name": name,
            "access_code": code,
            "granted_at": granted_at,
            "ends_at": ends_at or granted_at + timedelta(days=3 * 365),
            "revoked_at": None,
        }

    def certifications_and_mandates_granted(self, people, fiduciary, mandataries):
        """The fiduciary's own holder certifications (from its administrations' holder codes)
        and the mandates it dispensed for the fiches de retenue to other spaces: GRANTED, or
        one per mandatary space when there are fewer, a tenth revoked since. Returns how
        many it dispensed."""
        services = self.catalogue["services"]
        name = "Fiduciaire Lux Conseil SA"
        granted_at = self.now - timedelta(days=500)
        holder_codes = [
            {
                **self._proxy_code(
                    services[slug].id,
                    FIDUCIARY_IDENTIFIER,
                    name,
                    None,
                    granted_at,
                    granted_at + timedelta(days=3 * 365),
                    fiduciary,
                    people.demo,
                ),
                "kind": "holder",
                "issued_by_administration": services[slug].administration_id,
            }
            for slug in OWN_SERVICES
        ]
        code_ids = _insert(AccessCode, holder_codes)
        _insert(
            Certification,
            [
                self._certification(
                    fiduciary,
                    code["service"],
                    "holder",
                    FIDUCIARY_IDENTIFIER,
                    name,
                    code_id,
                    granted_at,
                    code["ends_at"],
                )
                for code_id, code in zip(code_ids, holder_codes, strict=True)
            ],
        )
        count = min(GRANTED, len(mandataries))
        service = services["fiches-retenue"].id
        codes = []
        for n in range(count):
            at = self.now - timedelta(days=300 - n % 280, hours=n % 24)
            codes.append(
                self._proxy_code(
                    service,
                    FIDUCIARY_IDENTIFIER,
                    name,
                    fiduciary,
                    at,
                    self.now + timedelta(days=100 + n % 300),
                    mandataries[n],
                    people.users[n % len(people.users)],
                )
            )
            codes[-1]["revoked_at"] = at + timedelta(days=30) if n % 10 == 9 else None
        code_ids = _insert(AccessCode, codes)
        _insert(
            Mandate,
            [
                {
                    "access_code": code_id,
                    "note": f"Mandataire {n + 1:03d}",
                    "granted_by": people.demo,
                    "revoked_by": people.demo if codes[n]["revoked_at"] else None,
                }
                for n, code_id in enumerate(code_ids)
            ],
        )
        certifications = [
            {
                **self._certification(
                    code["redeemed_in"],
                    service,
                    "proxy",
                    FIDUCIARY_IDENTIFIER,
                    name,
                    code_id,
                    code["redeemed_at"],
                    code["ends_at"],
                ),
                "revoked_at": code["revoked_at"],
            }
            for code_id, code in zip(code_ids, codes, strict=True)
        ]
        _insert(Certification, certifications)
        return count

    # --- Dossiers -----------------------------------------------------------------------------

    def dossiers(self, people, fiduciary, certifications, count, agent_id):
        """`count` dossiers filed in the fiduciary space, nine in ten for a mandant under its
        mandate, the others for the fiduciary's own company; of every status (STATUS_CYCLE),
        with their reference once transmitted and their history. Returns the id of the
        newest transmitted one (the benchmark's dossier page)."""
        procedures = self.catalogue["procedures"]
        own = (FIDUCIARY_IDENTIFIER, "Fiduciaire Lux Conseil SA")
        rows, plans = [], []
        for n in range(count):
            status = STATUS_CYCLE[n % len(STATUS_CYCLE)]
            if n % 10 == 9 or not certifications:
                slug = OWN_PROCEDURES[(n // 10) % len(OWN_PROCEDURES)]
                mandate = mandant = None
                identifier, name = own
            else:
                mandate, service_slug, mandant, identifier, name = certifications[n % len(certifications)]
                slug = PROCEDURE_OF[service_slug]
            procedure = procedures[slug]
            updated_at = self.now - timedelta(minutes=7 * n + 5)
            created_at = updated_at - timedelta(days=3, hours=n % 11)
            submitted_at = None if status == "draft" else created_at + timedelta(days=1)
            creator = n % min(len(people.users), 25)  # the demo person and a few colleagues
            rows.append(
                {
                    "procedure": procedure.id,
                    "space": fiduciary,
                    "mandate": mandate,
                    "mandant_space": mandant,
                    "company_identifier": identifier,
                    "company_name": name,
                    "status": status,
                    "step": 3,
                    "data": dossier_values(slug, identifier, name, n),
                    "version": 3 if status == "draft" else 5,
                    "reference": None,
                    "created_by": people.users[creator],
                    "created_at": created_at,
                    "updated_at": updated_at,
                    "submitted_at": submitted_at,
                }
            )
            plans.append((procedure, status, creator, created_at, submitted_at, updated_at))
        self._references(rows, plans)
        dossier_ids = _insert(Dossier, rows)
        events = []
        for dossier_id, (_procedure, status, creator, created_at, submitted_at, updated_at) in zip(
            dossier_ids, plans, strict=True
        ):
            person = {
                "actor": people.names[creator],
                "actor_user": people.users[creator],
                "actor_agent": None,
            }
            agent = {"actor": AGENT_NAME, "actor_user": None, "actor_agent": agent_id}
            events.append(_event(dossier_id, "created", "draft", created_at, person))
            if status == "draft":
                continue
            events.append(_event(dossier_id, "submitted", "submitted", submitted_at, person))
            if status != "submitted":
                events.append(
                    _event(dossier_id, "taken", "in_progress", submitted_at + timedelta(hours=5), agent)
                )
            if status in ("complement", "accepted", "rejected"):
                events.append(_event(dossier_id, status, status, updated_at, agent, NOTES.get(status, "")))
        _insert(DossierEvent, events)
        transmitted = [i for i, row in zip(dossier_ids, rows, strict=True) if row["reference"]]
        if not transmitted:
            return dossier_ids[0] if dossier_ids else 0
        # The benchmark's dossier has its signed receipt, as a signature leaves it (one PDF
        # signed in a fraction of a second; ten thousand would take minutes).
        shown = (
            Dossier.select(Dossier, Procedure, Administration)
            .join(Procedure)
            .join(Administration)
            .where(Dossier.id == transmitted[0])
            .get()
        )
        receipts.issue(shown, 1, User.get_by_id(shown.created_by_id), shown.submitted_at)
        return shown.id

    def _references(self, rows, plans):
        """Each transmitted dossier's reference, in the order they were filed, after what the
        administration's counter of the year holds; the counters raised to the last given, so
        that the next signature follows without a duplicate."""
        counters = {}
        for row, (procedure, status, *_rest) in sorted(
            zip(rows, plans, strict=True), key=lambda pair: pair[0]["submitted_at"] or self.now
        ):
            if status == "draft":
                continue
            administration = procedure.administration
            year = to_user_timezone(row["submitted_at"]).year
            key = (administration.id, year)
            if key not in counters:
                counters[key] = (
                    ReferenceCounter.select(ReferenceCounter.last)
                    .where(
                        ReferenceCounter.administration == administration.id, ReferenceCounter.year == year
                    )
                    .scalar()
                    or 0
                )
            counters[key] += 1
            row["reference"] = f"{administration.code}-{year}-{counters[key]:06d}"
        for (administration_id, year), last in counters.items():
            ReferenceCounter.insert(administration=administration_id, year=year, last=last).on_conflict(
                conflict_target=(ReferenceCounter.administration, ReferenceCounter.year),
                update={ReferenceCounter.last: last},
            ).execute()

    # --- Communications and the agent ----------------------------------------------------------

    def communications(self, people, fiduciary, count):
        """`count` communications of the administrations to the fiduciary's company, the
        older half read."""
        administrations = list(
            Administration.select()
            .where(Administration.code.in_(("ACD", "ALVA", "ITM", "LBR")))
            .order_by(Administration.code)
        )
        rows = []
        for n in range(count):
            administration = administrations[n % len(administrations)]
            rows.append(
                {
                    "administration": administration.id,
                    "sender": administration.name,
                    "kind": "message",
                    "subject": f"{SUBJECTS[n % len(SUBJECTS)]} (n° {count - n})",
                    "body": BODY,
                    "audience": FIDUCIARY_IDENTIFIER,
                    "sent_at": self.now - timedelta(hours=9 * n + 1),
                }
            )
        ids = _insert(Communication, rows)
        _insert(
            CommunicationRecipient,
            [
                {
                    "communication": communication_id,
                    "company_identifier": FIDUCIARY_IDENTIFIER,
                    "company_name": "Fiduciaire Lux Conseil SA",
                    "space": None,
                }
                for communication_id in ids
            ],
        )
        _insert(
            CommunicationRead,
            [
                {
                    "communication": communication_id,
                    "space": fiduciary,
                    "user": people.demo,
                    "reader": people.names[0],
                    "read_at": row["sent_at"] + timedelta(hours=2),
                }
                for n, (communication_id, row) in enumerate(zip(ids, rows, strict=True))
                if 2 * n >= count
            ],
        )

    def agent(self):
        """The back-office agent of ADMINISTRATION, its authenticator enrolled: (id, secret)."""
        secret = auth.new_totp_secret()
        (agent_id,) = _insert(
            Agent,
            [
                {
                    "administration": self.catalogue["administration"].id,
                    "role": "agent",
                    "userid": AGENT_USERID,
                    "userid_key": auth.userid_key(AGENT_USERID),
                    "name": AGENT_NAME.removesuffix(f" ({ADMINISTRATION})"),
                    "email": f"{AGENT_USERID}@administration.example",
                    "password_hash": self.password_hash,
                    "totp_secret_encrypted": crypto.encrypt("totp", secret),
                    "enrolled_at": self.now,
                    "created_at": self.now,
                }
            ],
        )
        return agent_id, secret


def _event(dossier_id, action, status, at, actor, note=""):
    return {
        "dossier": dossier_id,
        "action": action,
        "status": status,
        "created_at": at,
        "note": note,
        **actor,
    }


def _matricule(n, row):
    """A valid matricule of its own for each row of a dossier (born 1980-1999, the row's month):
    the procedure refuses two rows with the same one."""
    base = f"19{80 + n % 20}{1 + row:02d}{10 + n % 18:02d}{n % 1000:03d}"
    return base + luhn.calc_check_digit(base) + verhoeff.calc_check_digit(base)


def dossier_values(slug, identifier, name, n):
    """The `n`th dossier's data for a procedure of `seed-demo`, as the assistant stores it
    (text; dates ISO), complete: it passes the procedure's checks (tests/test_scale.py)."""
    address = {"street": f"{n % 90 + 1}, rue du Marché-aux-Herbes", "postcode": f"L-{1100 + n % 800}"}
    contact = f"contact@{identifier.lower()}.example"
    if slug == "acd-fiches-retenue":
        return {
            "company_name": name,
            "company_identifier": identifier,
            "employer_number": "",
            **address,
            "city": "Luxembourg",
            "country": "Luxembourg",
            "employees": [
                {
                    "matricule": _matricule(n, row),
                    "last_name": LAST_NAMES[(n + row) % len(LAST_NAMES)],
                    "first_name": FIRST_NAMES[(n + row) % len(FIRST_NAMES)],
                    "entry_date": f"2026-0{1 + row}-0{1 + n % 9}",
                }
                for row in range(1 + n % 3)
            ],
            "tax_year": "2026",
            "contact_person": "Dominique Démo",
            "contact_email": contact,
            "contact_phone": "+352 26 12 34 56",
            "remarks": "",
        }
    if slug == "alva-etablissement-alimentaire":
        return {
            "company_name": name,
            "company_identifier": identifier,
            "vat_number": "",
            "contact_email": contact,
            "contact_phone": "+352 26 12 34 56",
            "trade_name": name.removesuffix(" SARL"),
            **address,
            "city": "Luxembourg",
            "activity": ("restaurant", "bakery", "retail", "catering")[n % 4],
            "animal_products": "1" if n % 2 else "",
            "opening_date": f"2026-0{1 + n % 9}-15",
            "staff": str(2 + n % 40),
            "turnover": "",
            "description": "",
            "manager_name": "Dominique Démo",
            "manager_email": contact,
            "iban": "",
            "haccp": "1",
        }
    return {  # lbr-changement-adresse
        "company_name": name,
        "company_identifier": identifier,
        "old_street": "3, boulevard Royal",
        "old_postcode": "L-2449",
        "old_city": "Luxembourg",
        "old_country": "Luxembourg",
        "new_street": address["street"],
        "new_postcode": address["postcode"],
        "new_city": "Luxembourg",
        "new_country": "Luxembourg",
        "effective_date": f"2026-0{1 + n % 9}-01",
        "decision": "",
        "contact_email": contact,
    }


FIRST_NAMES = ("Camille", "Luc", "Anne", "Marc", "Sophie", "Paul", "Claire", "Jean", "Laura", "Tom")
LAST_NAMES = (
    "Weber",
    "Schmit",
    "Muller",
    "Wagner",
    "Hoffmann",
    "Thill",
    "Klein",
    "Schroeder",
    "Reuter",
    "Kieffer",
)
CLIENT_NAMES = (
    "Boulangerie",
    "Garage",
    "Menuiserie",
    "Pharmacie",
    "Restaurant",
    "Imprimerie",
    "Librairie",
    "Cabinet",
)
SUBJECTS = (
    "Fiches de retenue d'impôt : rappel des échéances",
    "Contrôle sanitaire : nouvelle réglementation",
    "Élections sociales : calendrier",
    "Mise à jour du registre de commerce",
    "Avis de paiement",
)
BODY = (
    "Madame, Monsieur,\n\nVeuillez trouver ci-dessous les informations relatives à votre dossier. "
    "Nous vous remercions de votre attention.\n\nL'administration"
)
NOTES = {
    "complement": "Merci de joindre la liste complète des salariés concernés.",
    "rejected": "Le demandeur n'est pas l'employeur des salariés indiqués.",
}
