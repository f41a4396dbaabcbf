"""Domain operations. They take plain values, check the rules, write, queue their side
effects (mails, letters) and their audit entry; views only translate `DomainError`s."""


class DomainError(Exception):
    """A rule refused the operation; `message` is shown to the person as is."""

    status = 400

    def __init__(self, message=None):
        super().__init__(message or self.default_message())
        self.message = str(self)

    @classmethod
    def default_message(cls):
        return cls.__doc__ or "Opération refusée."
