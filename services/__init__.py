"""Domain operations. They take plain values, check the rules, write, queue their side
effects (mails, letters) and their audit entry; views only translate `DomainError`s."""

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A rule refused the operation. A refusal is a subclass named for what it is, with its
    `message` (lazily translated, shown to the person as is) and the HTTP `status` of the
    answer as class attributes; a message given when raising replaces the class's."""

    status = 400
    message = _l("Opération refusée.")
    retry_after = None  # seconds to wait before trying again, when there is a wait

    def __init__(self, message=None):
        text = str(message if message is not None else type(self).message)
        super().__init__(text)
        self.message = text


class InvalidInput(DomainError):
    """What the person typed or chose is refused: said in the form, beside the field
    `field` names when there is one, and nothing changed."""

    status = 422
    field = None
