"""Error pages: full pages for browsers, the same message as a partial for htmx requests.
A `DomainError` no view shows in its own form ends here too, with its message and status."""

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from blueprints.htmx import is_htmx, render_page_or_partial
from blueprints.request_log import request_id
from services import DomainError

TITLES = {
    400: _l("Requête invalide"),
    403: _l("Accès refusé"),
    404: _l("Page introuvable"),
    405: _l("Méthode non autorisée"),
    409: _l("Conflit"),
    413: _l("Fichier trop volumineux"),
    422: _l("Données invalides"),
    429: _l("Trop de tentatives"),
    500: _l("Erreur interne"),
    503: _l("Service momentanément indisponible"),
}
MESSAGES = {
    400: _l("La requête n'a pas pu être traitée."),
    403: _l("Vous n'avez pas les droits nécessaires pour cette action."),
    404: _l("La page demandée n'existe pas ou n'est plus disponible."),
    429: _l("Trop de tentatives. Veuillez patienter avant de réessayer."),
    500: _l(
        "Une erreur inattendue s'est produite. Aucune modification n'a été enregistrée ; veuillez réessayer."
    ),
    503: _l(
        "La base de données ne répond pas pour le moment. Aucune modification n'a été enregistrée ; "
        "réessayez dans quelques instants."
    ),
}
DATABASE_RETRY_AFTER = 30  # seconds: a restart or a failover, not an outage of hours


def render_error(status, message=None, retry_after=None):
    context = {
        "database_unavailable": status == 503,
        "title": TITLES.get(status, TITLES[400]),
        "message": message or MESSAGES.get(status, MESSAGES[400]),
        "retry_after": retry_after,
        # An agent's way back is the back-office, not the people's home page.
        "back_office": request.blueprint == "backoffice",
        "request_id": request_id(),  # what a person quotes to the helpdesk; the log has it
    }
    response = render_page_or_partial("errors/page.html", "errors/_error.html", status=status, **context)
    if is_htmx():
        # Show the message in the main area rather than inside whatever asked.
        response.headers["HX-Retarget"] = "#main"
        response.headers["HX-Reswap"] = "innerHTML"
    return retry_after_header(response, retry_after)


def retry_after_header(response, seconds):
    if seconds:
        response.headers["Retry-After"] = str(seconds)
    return response


def with_retry_after(response, error):
    """A refusal that says when to try again (`retry_after` seconds) says it in the header too."""
    return retry_after_header(response, getattr(error, "retry_after", None))


def init_app(app):
    @app.errorhandler(DomainError)
    def domain_error(error):
        # The message already says how long to wait: the header alone adds the number.
        return with_retry_after(render_error(error.status, error.message), error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            _l(
                "Le formulaire a expiré ou n'a pas été envoyé depuis ce site. Rechargez la page et réessayez."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code and error.code < 400:
            return error
        retry_after = None
        if error.code == 429 and error.response is not None:
            retry_after = error.response.headers.get("Retry-After")
        return render_error(error.code or 500, error.description if error.code == 429 else None, retry_after)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error):
        # Unreachable, restarting, or locked beyond the busy timeout: nothing was saved.
        app.logger.error("database unavailable (request %s): %s", request_id(), error)
        return render_error(503, retry_after=DATABASE_RETRY_AFTER)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("unhandled error (request %s)", request_id())
        return render_error(500)
