"""peewee models. The database itself is chosen at start-up (`database.init_app`)."""

import json

from flask_login import UserMixin
from peewee import (
    SQL,
    BlobField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

import clock

db = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def clip(field, text):
    """`text` cut to what `field`'s column holds. For values composed from several inputs (a
    full name, a default space name): each input fits its own column, their sum may not."""
    return text[: field.max_length]


class JSONField(TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)

    def python_value(self, value):
        return None if value is None else json.loads(value)


# --- Catalogue -------------------------------------------------------------------------


class Administration(BaseModel):
    """A public body (ACD, ITM, ALVA, LBR...) offering online services."""

    code = CharField(max_length=16, unique=True)
    name = CharField(max_length=200)
    certification_text = TextField(default="")  # special modalities shown on its Gestion page
    active = BooleanField(default=True)  # the helpdesk deactivates, never deletes: history keeps it
    letter_language = CharField(max_length=2, default="fr")  # of its letters to companies
    # The other languages' texts, {"de": {"name": ..., ...}, "en": {...}}: French is the
    # columns themselves (services/catalogue.py `localized`).
    translations = JSONField(default=dict)

    class Meta:
        order_by = ("code",)


class Service(BaseModel):
    administration = ForeignKeyField(Administration, backref="services", on_delete="CASCADE")
    slug = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    description = TextField(default="")
    requires_certification = BooleanField(default=False)
    accepts_code = BooleanField(default=False)
    accepts_request = BooleanField(default=False)
    active = BooleanField(default=True)
    # What adhering to it asks (J'adhère, services/adhesions.py): the company's e-mail (a
    # Messagerie), a bank account when the register knows none (a Payer service).
    requires_company_email = BooleanField(default=False)
    requires_bank_account = BooleanField(default=False)
    # The other languages' texts, {"de": {"name": ..., ...}, "en": {...}}: French is the
    # columns themselves (services/catalogue.py `localized`).
    translations = JSONField(default=dict)


class NewsItem(BaseModel):
    """The "Actualités" block of the home pages."""

    title = CharField(max_length=300)
    published_on = DateTimeField(default=clock.now)
    # The other languages' texts, {"de": {"name": ..., ...}, "en": {...}}: French is the
    # columns themselves (services/catalogue.py `localized`).
    translations = JSONField(default=dict)


class Company(BaseModel):
    """The company register: what the public extracts (SIRENE, RCS) say of a company, loaded
    by seed-demo and imported by the helpdesk (services/companies.py). Posted codes go to the
    registered address, which nobody entering a SIREN can choose."""

    identifier_kind = CharField(max_length=8)  # "siren" | "rcs"
    identifier = CharField(max_length=20, unique=True)  # normalised: 9 digits, or B123456
    name = CharField(max_length=200)
    legal_form = CharField(max_length=100, default="")
    street = CharField(max_length=200, default="")
    postcode = CharField(max_length=20, default="")
    city = CharField(max_length=100, default="")
    country = CharField(max_length=100, default="")
    email = CharField(max_length=320, default="")  # when the register knows it
    iban = CharField(max_length=34, default="")  # its active bank account, when known
    account_holder = CharField(max_length=200, default="")
    source = CharField(max_length=16, default="")  # "demo" | "sirene" | "rcs" | "helpdesk"
    updated_at = DateTimeField(default=clock.now)

    class Meta:
        order_by = ("name",)

    @property
    def address_lines(self):
        return [line for line in (self.street, f"{self.postcode} {self.city}".strip(), self.country) if line]


# --- People and how they log in ---------------------------------------------------------


class User(UserMixin, BaseModel):
    """A natural person. The account is usable once the e-mail is confirmed and the current
    terms are accepted (services/accounts.py, `next_registration_step`)."""

    userid = CharField(max_length=64)
    userid_key = CharField(max_length=64, unique=True)  # case-insensitive uniqueness
    first_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100, default="")
    email = CharField(max_length=320, default="", index=True)
    matricule = CharField(max_length=13, null=True)
    street = CharField(max_length=200, default="")
    postcode = CharField(max_length=20, default="")
    city = CharField(max_length=100, default="")
    country = CharField(max_length=100, default="Luxembourg")
    registered_at = DateTimeField(null=True)  # the Enregistrement form was filled in
    # The e-mail confirmation in progress: the security code is kept only as an HMAC.
    confirmation_code_hash = CharField(max_length=64, null=True)
    confirmation_sent_at = DateTimeField(null=True)
    email_confirmed_at = DateTimeField(null=True)
    terms_version = CharField(max_length=20, null=True)
    terms_accepted_at = DateTimeField(null=True)
    # The MyGuichet terms accepted at the first "Créer un espace professionnel".
    space_terms_version = CharField(max_length=20, null=True)
    # The language chosen with FR / DE / EN ("": never chosen, French): its mails and letters
    # are written in it, whatever the language of the request that causes them.
    language = CharField(max_length=2, default="")
    created_at = DateTimeField(default=clock.now)

    session_token = None  # set when loaded from a live session (services/auth.py)

    def get_id(self):
        return self.session_token

    @property
    def display_name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.userid

    @property
    def address_lines(self):
        return [self.street, f"{self.postcode} {self.city}".strip(), self.country]


class AuthProduct(BaseModel):
    """A credential a person logs in with: "token" (password + TOTP), or "impots" (the
    e-mail, `User.userid`, and a password: services/impots_accounts.py; no TOTP secret, no
    secret image)."""

    user = ForeignKeyField(User, backref="auth_products", on_delete="CASCADE")
    kind = CharField(max_length=20, default="token")
    password_hash = CharField(max_length=200)
    totp_secret_encrypted = TextField()
    last_otp_step = IntegerField(null=True)  # a code is accepted once: only later steps pass
    secret_image = CharField(max_length=40)
    enrolled_at = DateTimeField(null=True)  # set once the first one-time code is confirmed
    space_limit = IntegerField(default=200)  # professional spaces created through it
    created_at = DateTimeField(default=clock.now)


class LoginSession(BaseModel):
    """A login. The cookie carries the token; the database only its hash. Revoking the row
    (logout, password or token change) ends the session everywhere at once. The columns of
    UserSession and AgentSession; `OWNER` names each one's foreign key to who logged in."""

    OWNER = None
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=clock.now)
    last_seen_at = DateTimeField(default=clock.now)
    revoked_at = DateTimeField(null=True)
    ip = CharField(max_length=64, null=True)


class UserSession(LoginSession):
    OWNER = "user"
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")


class Throttle(BaseModel):
    """Failure counters (wrong passwords, one-time codes, access codes) in the database so
    that every worker sees them. `key` names what is counted, e.g. "login:user:lea"."""

    key = CharField(max_length=200, unique=True)
    window_started_at = DateTimeField(null=True)
    window_failures = IntegerField(default=0)
    consecutive_failures = IntegerField(default=0)
    blocked_until = DateTimeField(null=True)
    locked_at = DateTimeField(null=True)  # too many consecutive failures: the helpdesk unlocks


class AddressFailure(BaseModel):
    """The last failure of an account (a Throttle key) from a client address, kept for 15
    minutes: an address waits when many distinct accounts failed from it (services/throttle.py)."""

    address_key = CharField(max_length=200)
    account_key = CharField(max_length=200, index=True)
    at = DateTimeField(index=True)

    class Meta:
        indexes = ((("address_key", "account_key"), True),)


class PendingTotpSecret(BaseModel):
    """A new TOTP secret shown on a token-reset page until a code from it is confirmed: kept
    encrypted here, never in the cookie. `flow_hash` is the keyed hash of the reset link."""

    flow_hash = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    secret_encrypted = TextField()
    created_at = DateTimeField(default=clock.now, index=True)


class Letter(BaseModel):
    """A postal letter to print, put in a window envelope and post, in the queue of the
    administration that sends it (`administration`), or in the portal's own queue (None:
    registration confirmations), which the helpdesk prints."""

    administration = ForeignKeyField(Administration, null=True, backref="+", on_delete="SET NULL")
    recipient_name = CharField(max_length=300)
    address = TextField()  # lines separated by "\n"
    subject = CharField(max_length=300)
    body = TextField()
    language = CharField(max_length=2, default="fr")  # its subject and body's, and so its print's
    # A code the letter carries (activation or access code), encrypted with a key derived from
    # SECRET_KEY and erased once the letter is posted: it is needed only to print the letter.
    code_encrypted = TextField(null=True)
    created_at = DateTimeField(default=clock.now, index=True)
    printed_at = DateTimeField(null=True)
    posted_at = DateTimeField(null=True, index=True)

    @property
    def address_lines(self):
        return [line for line in self.address.splitlines() if line.strip()]


# --- Spaces and their members (services/spaces.py) ------------------------------------


class Space(BaseModel):
    """A private space (one per person) or a company's collaborative professional space.

    A space is live while `deleted_at` and `merged_into` are both empty; a deleted one is
    kept 30 days for the helpdesk to restore, a merged one stays archived."""

    kind = CharField(max_length=16)  # "private" | "professional"
    name = CharField(max_length=100)
    owner = ForeignKeyField(User, null=True, backref="+", on_delete="CASCADE")  # private spaces
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    # The authentication product it was created through: 200 professional spaces each.
    created_with = ForeignKeyField(AuthProduct, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=clock.now)
    # The company (professional spaces), from step 2 of the wizard.
    company_name = CharField(max_length=200, default="")
    legal_form = CharField(max_length=20, default="")
    identifier_kind = CharField(max_length=8, default="")  # "rcs" | "siren"
    identifier = CharField(max_length=20, default="", index=True)
    vat_number = CharField(max_length=20, default="")
    street = CharField(max_length=200, default="")
    postcode = CharField(max_length=20, default="")
    city = CharField(max_length=100, default="")
    country = CharField(max_length=100, default="")
    company_email = CharField(max_length=320, default="")
    phone = CharField(max_length=40, default="")
    merged_into = ForeignKeyField("self", null=True, backref="+", on_delete="SET NULL")
    merged_at = DateTimeField(null=True)
    deleted_at = DateTimeField(null=True, index=True)
    deleted_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    # A Mode expert space (services/impots_signup.py): its numéro d'abonné. Such a space has
    # no company of its own; its companies are its adhesions.
    subscriber_number = CharField(max_length=20, null=True, unique=True)

    @property
    def is_private(self):
        return self.kind == "private"

    @property
    def is_live(self):
        return self.deleted_at is None and self.merged_at is None

    @classmethod
    def live(cls):
        # merged_at, not merged_into: an archived source stays archived even once its
        # target is purged.
        return (cls.deleted_at.is_null()) & (cls.merged_at.is_null())

    @property
    def address_lines(self):
        return [line for line in (self.street, f"{self.postcode} {self.city}".strip(), self.country) if line]


# At most one private space per person (deleted ones aside).
Space.add_index(
    Space.index(Space.owner, unique=True, name="space_one_private_per_owner").where(
        SQL("kind = 'private' AND deleted_at IS NULL")
    )
)


class Membership(BaseModel):
    """A person in a space with a role: "admin", "manager" or "reader"."""

    space = ForeignKeyField(Space, backref="memberships", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    role = CharField(max_length=16)
    joined_at = DateTimeField(default=clock.now)

    class Meta:
        indexes = ((("space", "user"), True), (("space", "role"), False))


class Invitation(BaseModel):
    """An invitation by e-mail to join a space with a role. The link carries a nonce whose
    hash is kept here: resending replaces it (the old link dies), accepting or revoking
    ends it. The link is valid 7 days from `sent_at`."""

    space = ForeignKeyField(Space, backref="invitations", on_delete="CASCADE")
    email = CharField(max_length=320)
    role = CharField(max_length=16)
    invited_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    nonce_hash = CharField(max_length=64)
    created_at = DateTimeField(default=clock.now)
    sent_at = DateTimeField(default=clock.now)
    accepted_at = DateTimeField(null=True)
    accepted_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    revoked_at = DateTimeField(null=True)

    @property
    def is_pending(self):
        return self.accepted_at is None and self.revoked_at is None


class SpaceDraft(BaseModel):
    """The "Créer un espace professionnel" wizard in progress, one per person, so that
    refresh, back and resume work; it is consumed when the space is created."""

    user = ForeignKeyField(User, unique=True, backref="+", on_delete="CASCADE")
    data = JSONField(default=dict)
    created_at = DateTimeField(default=clock.now)
    updated_at = DateTimeField(default=clock.now)


AGENT_ROLES = ("agent", "helpdesk")


class Agent(BaseModel):
    """A staff member with a login of their own to the back-office: an `agent` of one
    administration, or the portal's `helpdesk` (no administration: it serves them all)."""

    administration = ForeignKeyField(Administration, null=True, backref="agents", on_delete="CASCADE")
    role = CharField(max_length=16, default="agent")  # AGENT_ROLES
    userid = CharField(max_length=64)
    userid_key = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    email = CharField(max_length=320, default="")
    password_hash = CharField(max_length=200)
    # The second factor, as on a person's Token: the secret is made at the first login and
    # kept encrypted; `enrolled_at` is set once a code from it is confirmed.
    totp_secret_encrypted = TextField(null=True)
    last_otp_step = IntegerField(null=True)  # a code is accepted once: only later steps pass
    enrolled_at = DateTimeField(null=True)
    language = CharField(max_length=2, default="")  # as User.language
    created_at = DateTimeField(default=clock.now)

    @property
    def is_helpdesk(self):
        return self.role == "helpdesk"

    @property
    def display_name(self):
        return (
            f"{self.name} ({self.administration.code})"
            if self.administration_id
            else f"{self.name} (Helpdesk)"
        )


class AgentSession(LoginSession):
    """An agent's back-office login (services/agents.py), under the rules of people's."""

    OWNER = "agent"
    agent = ForeignKeyField(Agent, backref="sessions", on_delete="CASCADE")


class AccessCode(BaseModel):
    """A single-use code kept only as an HMAC. A holder code certifies a space of the company
    it was issued for; a proxy code gives any space access for that company. Issued by an
    administration, or by a holder space (then a Mandate extends it)."""

    code_hash = CharField(max_length=64, unique=True)
    kind = CharField(max_length=16)  # "holder" | "proxy"
    service = ForeignKeyField(Service, backref="+", on_delete="CASCADE")
    company_identifier = CharField(max_length=20, index=True)
    company_name = CharField(max_length=200, default="")
    issued_by_administration = ForeignKeyField(Administration, null=True, backref="+", on_delete="SET NULL")
    issued_by_space = ForeignKeyField(Space, null=True, backref="+", on_delete="CASCADE")
    activation_deadline = DateTimeField()  # date limite d'activation
    ends_at = DateTimeField()  # date limite d'utilisation of the certification it gives
    created_at = DateTimeField(default=clock.now)
    redeemed_at = DateTimeField(null=True)
    redeemed_in = ForeignKeyField(Space, null=True, backref="+", on_delete="SET NULL")
    redeemed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    revoked_at = DateTimeField(null=True)

    def status(self, now):
        if self.revoked_at:
            return "revoked"
        if self.ends_at <= now or (self.redeemed_at is None and self.activation_deadline < now):
            return "expired"
        return "active" if self.redeemed_at else "pending"


def _of_code(name):
    return property(lambda mandate: getattr(mandate.access_code, name), doc=f"The code's `{name}`.")


class Mandate(BaseModel):
    """A proxy right dispensed by a holder space (the mandant): the proxy AccessCode it issued,
    extended with what only a mandate has. The rest is the code's (service, company, deadlines,
    redemption by the mandatary space, revocation), read through it: select the code with the
    mandate in listings, so that reading it costs no query per row."""

    access_code = ForeignKeyField(AccessCode, unique=True, backref="+", on_delete="CASCADE")
    letter = ForeignKeyField(Letter, null=True, backref="+", on_delete="SET NULL")
    note = CharField(max_length=200, default="")  # who the mandatary is meant to be
    granted_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    revoked_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    reminded_30_at = DateTimeField(null=True)
    reminded_7_at = DateTimeField(null=True)

    service = _of_code("service")
    company_identifier = _of_code("company_identifier")
    company_name = _of_code("company_name")
    activation_deadline = _of_code("activation_deadline")
    ends_at = _of_code("ends_at")
    redeemed_at = _of_code("redeemed_at")
    revoked_at = _of_code("revoked_at")
    mandant_space_id = _of_code("issued_by_space_id")
    mandatary_space_id = _of_code("redeemed_in_id")
    mandatary = _of_code("redeemed_in")

    def status(self, now):
        return self.access_code.status(now)


class ImpotsSignup(BaseModel):
    """ "Créer mon espace professionnel" (services/impots_signup.py)
    before its account exists: the Mode simplifié waits for its link, followed from the
    company's e-mail within 72 h; the Mode expert for its code, sent to `email`, within 48 h.
    Either is kept only as an HMAC (`secret_hash`). A new signup with the same e-mail
    replaces the pending one (its link or code dies)."""

    mode = CharField(max_length=16)  # "simplified" | "expert"
    email = CharField(max_length=320)  # the person's login e-mail
    email_key = CharField(max_length=320, index=True)  # lowered
    first_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100, default="")
    password_hash = CharField(max_length=200)
    company_identifier = CharField(max_length=20, default="")  # the SIREN (Mode simplifié)
    secret_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=clock.now)
    expires_at = DateTimeField()
    completed_at = DateTimeField(null=True)
    space = ForeignKeyField(Space, null=True, backref="+", on_delete="SET NULL")  # what it created


class Adhesion(BaseModel):
    """J'adhère (services/adhesions.py): services of the impots administration chosen for one
    company in one space, activated by a code posted to the company's registered address
    within 60 days (kept only as an HMAC, erased once used). Activating creates the
    Certifications (holder in the company's own space, proxy in an expert's); withdrawing
    revokes them. A Mode simplifié space has one, for its company and every service."""

    space = ForeignKeyField(Space, backref="adhesions", on_delete="CASCADE")
    company_identifier = CharField(max_length=20)
    company_name = CharField(max_length=200, default="")
    service_ids = JSONField(default=list)  # the Service ids chosen
    company_email = CharField(max_length=320, default="")  # given for a Messagerie
    iban = CharField(max_length=34, default="")  # given for a Payer service
    account_holder = CharField(max_length=200, default="")
    code_hash = CharField(max_length=64, null=True, unique=True)
    code_sent_at = DateTimeField(default=clock.now)
    code_expires_at = DateTimeField()
    resent_at = DateTimeField(null=True)  # the code may be sent again once, by post
    letter = ForeignKeyField(Letter, null=True, backref="+", on_delete="SET NULL")
    requested_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=clock.now)
    activated_at = DateTimeField(null=True)
    activated_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    withdrawn_at = DateTimeField(null=True)
    withdrawn_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    def status(self, now):
        """ "withdrawn", "active", "expired" (the code came too late) or "pending"."""
        if self.withdrawn_at:
            return "withdrawn"
        if self.activated_at:
            return "active"
        return "expired" if self.code_expires_at < now else "pending"


# One adhesion per company per space, withdrawn ones aside.
Adhesion.add_index(
    Adhesion.index(
        Adhesion.space, Adhesion.company_identifier, unique=True, name="adhesion_one_per_company"
    ).where(SQL("withdrawn_at IS NULL"))
)


class Certification(BaseModel):
    """The right of a space to use a service for a company. Holder certifications come from
    a holder access code or an approved request (one per service per space), proxy ones from
    proxy codes (several per service). Live while not revoked and before `ends_at`."""

    space = ForeignKeyField(Space, backref="certifications", on_delete="CASCADE")
    service = ForeignKeyField(Service, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=16)  # "holder" | "proxy"
    company_identifier = CharField(max_length=20, default="")
    company_name = CharField(max_length=200, default="")
    access_code = ForeignKeyField(
        AccessCode, null=True, backref="+", on_delete="SET NULL"
    )  # a Mandate's or not
    adhesion = ForeignKeyField(Adhesion, null=True, backref="certifications", on_delete="SET NULL")
    granted_at = DateTimeField(default=clock.now)
    ends_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    def status(self, now):
        if self.revoked_at:
            return "revoked"
        if self.ends_at and self.ends_at <= now:
            return "expired"
        return "active"

    @classmethod
    def live(cls, now):
        return cls.revoked_at.is_null() & (cls.ends_at.is_null() | (cls.ends_at > now))

    class Meta:
        indexes = (
            # A space's certifications that ended, revoked or expired (the mandates whose
            # dossiers it no longer sees, services/dossiers.py `_visible_in`): the few, not all.
            (("space", "revoked_at"), False),
            (("space", "ends_at"), False),
            # Mandats obtenus in their order: a page without sorting them all.
            (("space", "kind", "granted_at", "id"), False),
        )


# One holder certification per service per space, revoked ones aside.
Certification.add_index(
    Certification.index(
        Certification.space, Certification.service, unique=True, name="certification_one_holder_per_service"
    ).where(SQL("kind = 'holder' AND revoked_at IS NULL"))
)


class CertificationRequest(BaseModel):
    """Certification by online request: an agent of the service's administration decides."""

    space = ForeignKeyField(Space, backref="certification_requests", on_delete="CASCADE")
    service = ForeignKeyField(Service, backref="+", on_delete="CASCADE")
    requested_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    reason = TextField()
    # An optional supporting document (PDF or image), for the agent.
    attachment_name = CharField(max_length=200, default="")
    attachment_type = CharField(max_length=40, default="")
    attachment = BlobField(null=True)
    created_at = DateTimeField(default=clock.now)
    status = CharField(max_length=16, default="pending", index=True)  # pending | approved | rejected
    decided_by = ForeignKeyField(Agent, null=True, backref="+", on_delete="SET NULL")
    decided_at = DateTimeField(null=True)
    decision_reason = TextField(default="")


class VaultEntry(BaseModel):
    """ "Mes données professionnelles": one saved value per key, used to prefill forms."""

    space = ForeignKeyField(Space, backref="vault_entries", on_delete="CASCADE")
    key = CharField(max_length=100)
    label = CharField(max_length=200, default="")
    value = TextField(default="")
    updated_at = DateTimeField(default=clock.now)

    class Meta:
        indexes = ((("space", "key"), True),)


# --- Procedures and dossiers (services/procedures.py, services/dossiers.py) --------------


class Procedure(BaseModel):
    """An online procedure: its definition file (data/procedures/*.json, checked against
    data/procedure.schema.json) as loaded by `seed-demo`. Runtime reads this table."""

    slug = CharField(max_length=64, unique=True)
    administration = ForeignKeyField(Administration, backref="procedures", on_delete="CASCADE")
    # The service whose certification it requires, if any.
    service = ForeignKeyField(Service, null=True, backref="procedures", on_delete="SET NULL")
    title = CharField(max_length=300)
    definition = JSONField()
    updated_at = DateTimeField(default=clock.now)
    active = BooleanField(default=True)  # a deactivated one starts no new dossier
    # Set when the helpdesk uploads its definition: from then on seed-demo leaves it alone.
    uploaded_at = DateTimeField(null=True)


# The statuses of a dossier. The database refuses any other value (CHECK); which status may
# follow which is services/dossiers.py's TRANSITIONS, applied as one UPDATE ... WHERE status
# IN (the allowed sources) whose row count is checked.
DOSSIER_STATUSES = ("draft", "submitted", "in_progress", "complement", "accepted", "rejected")
_STATUS_CHECK = SQL("CHECK (status IN (%s))" % ", ".join(f"'{status}'" for status in DOSSIER_STATUSES))


class Dossier(BaseModel):
    """One filing of a procedure, for one company, filed in one space. Filed for a mandant
    (under a proxy certification, `mandate`), it is the mandant's: it also shows in the
    mandant's holder space (`mandant_space`)."""

    procedure = ForeignKeyField(Procedure, backref="dossiers", on_delete="CASCADE")
    space = ForeignKeyField(Space, backref="dossiers", on_delete="CASCADE")  # where it is filed
    mandate = ForeignKeyField(Certification, null=True, backref="+", on_delete="SET NULL")
    mandant_space = ForeignKeyField(Space, null=True, backref="+", on_delete="SET NULL")
    company_identifier = CharField(max_length=20, default="", index=True)
    company_name = CharField(max_length=200, default="")
    status = CharField(max_length=16, default="draft", constraints=[_STATUS_CHECK])
    step = IntegerField(default=0)  # the assistant's furthest step reached
    data = JSONField(default=dict)  # field name -> value; a group: a list of {field: value}
    version = IntegerField(default=0)  # raised by every change: a stale tab's post is refused
    reference = CharField(max_length=32, null=True, unique=True)  # ACD-2026-000123, at the first signature
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=clock.now)
    updated_at = DateTimeField(default=clock.now, index=True)
    submitted_at = DateTimeField(null=True)
    purge_warned_at = DateTimeField(null=True)  # the 14-day warning before a draft is deleted

    class Meta:
        indexes = (
            (("space", "status", "updated_at"), False),
            (("procedure", "status"), False),
            # A space's list in its order, with what its visibility reads: the page's ids
            # and the total come from the index alone (services/dossiers.py `listing`).
            (("space", "updated_at", "id", "mandate", "mandant_space"), False),
        )


class DossierMessage(BaseModel):
    """The thread of a dossier between the space and the administration."""

    dossier = ForeignKeyField(Dossier, backref="messages", on_delete="CASCADE")
    author_user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    author_agent = ForeignKeyField(Agent, null=True, backref="+", on_delete="SET NULL")
    author = CharField(max_length=300)  # the name shown, kept if the account goes
    body = TextField()
    created_at = DateTimeField(default=clock.now, index=True)


class DossierFile(BaseModel):
    """A file uploaded to a dossier: at a file field of the assistant (`field`), or with a
    message of the thread (`message`). Its type was checked by content."""

    dossier = ForeignKeyField(Dossier, backref="files", on_delete="CASCADE")
    field = CharField(max_length=100, default="")
    message = ForeignKeyField(DossierMessage, null=True, backref="files", on_delete="CASCADE")
    name = CharField(max_length=200)
    content_type = CharField(max_length=40)
    size = IntegerField()
    sha256 = CharField(max_length=64)
    content = BlobField()
    uploaded_at = DateTimeField(default=clock.now)


class DossierEvent(BaseModel):
    """The history of a dossier: who did what, when (and the status it left it in)."""

    dossier = ForeignKeyField(Dossier, backref="events", on_delete="CASCADE")
    action = CharField(max_length=40)  # created, submitted, taken, complement, accepted, rejected, message...
    status = CharField(max_length=16)
    actor = CharField(max_length=300)
    actor_user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    actor_agent = ForeignKeyField(Agent, null=True, backref="+", on_delete="SET NULL")
    note = TextField(default="")
    created_at = DateTimeField(default=clock.now, index=True)


class Receipt(BaseModel):
    """A signed PDF accusé de réception, made once at a signature: the first one, and one per
    signature again after a complement (the earlier ones stay valid for what they covered)."""

    dossier = ForeignKeyField(Dossier, backref="receipts", on_delete="CASCADE")
    number = IntegerField()  # 1, 2... per dossier
    signed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    signer = CharField(max_length=300)  # name and UserID as printed
    signed_at = DateTimeField(default=clock.now)
    data_sha256 = CharField(max_length=64)  # of the canonical submitted data
    pdf = BlobField()
    pdf_sha256 = CharField(max_length=64, index=True)

    class Meta:
        indexes = ((("dossier", "number"), True),)


class ReferenceCounter(BaseModel):
    """The last dossier reference number per administration and year (locked while taken,
    so that references have no gaps and no duplicates under concurrency)."""

    administration = ForeignKeyField(Administration, backref="+", on_delete="CASCADE")
    year = IntegerField()
    last = IntegerField(default=0)

    class Meta:
        indexes = ((("administration", "year"), True),)


# --- Communications (services/communications.py) -----------------------------------------


class Communication(BaseModel):
    """What an administration sends to companies' spaces: a message with optional PDF
    documents (eDelivery), or a decision on a space's certification request or dossier
    (`kind` "decision"). Who receives it is its CommunicationRecipient rows."""

    administration = ForeignKeyField(Administration, backref="communications", on_delete="CASCADE")
    sent_by = ForeignKeyField(Agent, null=True, backref="+", on_delete="SET NULL")
    sender = CharField(max_length=300)  # the name shown, kept if the agent goes
    kind = CharField(max_length=16, default="message")  # "message" | "decision"
    subject = CharField(max_length=300)
    body = TextField()
    audience = CharField(max_length=300, default="")  # to whom, as the agent chose (the sent list)
    sent_at = DateTimeField(default=clock.now, index=True)


class CommunicationRecipient(BaseModel):
    """A communication reaches every live professional space of a company
    (`company_identifier`, present and future ones), or one space (`space`: a decision on
    what that space filed)."""

    communication = ForeignKeyField(Communication, backref="recipients", on_delete="CASCADE")
    company_identifier = CharField(max_length=20, default="", index=True)
    company_name = CharField(max_length=200, default="")
    space = ForeignKeyField(Space, null=True, backref="+", on_delete="CASCADE")


class CommunicationDocument(BaseModel):
    """A PDF sent with a communication (eDelivery); its type was checked by content."""

    communication = ForeignKeyField(Communication, backref="documents", on_delete="CASCADE")
    name = CharField(max_length=200)
    content_type = CharField(max_length=40)
    size = IntegerField()
    sha256 = CharField(max_length=64)
    content = BlobField()


class CommunicationRead(BaseModel):
    """The read receipt: the first opening of a communication in a space (who, when)."""

    communication = ForeignKeyField(Communication, backref="reads", on_delete="CASCADE")
    space = ForeignKeyField(Space, backref="+", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    reader = CharField(max_length=300)  # the name shown, kept if the account goes
    read_at = DateTimeField(default=clock.now)

    class Meta:
        indexes = ((("communication", "space"), True), (("space", "communication"), False))


class CodeBatch(BaseModel):
    """The codes of a batch an agent has just issued, as a CSV (identifier; code) the agent
    may download once for the administration's records: encrypted, erased at the download."""

    agent = ForeignKeyField(Agent, backref="+", on_delete="CASCADE")
    count = IntegerField()
    csv_encrypted = TextField(null=True)
    created_at = DateTimeField(default=clock.now)
    downloaded_at = DateTimeField(null=True)


# --- The public side of the helpdesk (services/helpdesk.py) --------------------------------


class ContactRequest(BaseModel):
    """A message sent with "Contacter le Helpdesk": the helpdesk's queue."""

    name = CharField(max_length=200)
    email = CharField(max_length=320)
    subject = CharField(max_length=300)
    message = TextField()
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")  # when logged in
    language = CharField(max_length=2, default="fr")  # of the page it was sent from: the answer's
    created_at = DateTimeField(default=clock.now, index=True)
    answered_at = DateTimeField(null=True)
    answered_by = ForeignKeyField(Agent, null=True, backref="+", on_delete="SET NULL")
    answer = TextField(default="")


class Feedback(BaseModel):
    """ "Votre avis nous intéresse": one answer from the foot of a page."""

    page = CharField(max_length=500)  # the path it was sent from
    found = BooleanField()  # Avez-vous trouvé ce que vous cherchiez ?
    rating = IntegerField(null=True)  # 1 (très mauvaise) to 5 (très bonne)
    comment = TextField(default="")
    created_at = DateTimeField(default=clock.now, index=True)


# --- Infrastructure: outbox, letters, audit ---------------------------------------------


class OutboxMail(BaseModel):
    """Every e-mail is written here first, in the transaction that causes it."""

    to = CharField(max_length=320)
    subject = CharField(max_length=300)
    body_text = TextField()
    body_html = TextField()
    created_at = DateTimeField(default=clock.now, index=True)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=clock.now)
    sent_at = DateTimeField(null=True, index=True)
    last_error = TextField(null=True)


class AppendOnlyError(RuntimeError):
    pass


class AuditEntry(BaseModel):
    """Append-only, hash-chained log of security-relevant actions (services/audit.py)."""

    created_at = DateTimeField(default=clock.now)
    actor_id = IntegerField(null=True)  # the User (or Agent) who acted, when known
    actor = CharField(max_length=200, default="")  # readable name kept even if the user goes
    action = CharField(max_length=80, index=True)
    space_id = IntegerField(null=True, index=True)
    ip = CharField(max_length=64, null=True)
    details = JSONField(default=dict)
    prev_hash = CharField(max_length=64, unique=True)  # unique: the chain can never fork
    hash = CharField(max_length=64, unique=True)

    def save(self, *args, **kwargs):
        if self._pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("audit entries cannot be changed")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")

    @classmethod
    def update(cls, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be changed")

    @classmethod
    def delete(cls):
        raise AppendOnlyError("audit entries cannot be deleted")


# Creation order (foreign keys first). Every model belongs here.
MODELS = [
    Administration,
    Service,
    NewsItem,
    Company,
    User,
    AuthProduct,
    UserSession,
    Throttle,
    AddressFailure,
    PendingTotpSecret,
    Letter,
    Space,
    Membership,
    Invitation,
    SpaceDraft,
    Agent,
    AgentSession,
    AccessCode,
    Mandate,
    ImpotsSignup,
    Adhesion,
    Certification,
    CertificationRequest,
    VaultEntry,
    Procedure,
    Dossier,
    DossierMessage,
    DossierFile,
    DossierEvent,
    Receipt,
    ReferenceCounter,
    Communication,
    CommunicationRecipient,
    CommunicationDocument,
    CommunicationRead,
    CodeBatch,
    ContactRequest,
    Feedback,
    OutboxMail,
    AuditEntry,
]
