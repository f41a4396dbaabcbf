"""Communications: the administrations' messages and decisions to the space (searched, paged
in place, Non lu until someone in the space opens one), a communication (opening it is the
space's read receipt) and its documents (downloads). A space of the company that no
certification proves to be the company's lists the entries but opens none: 403 with the
way to get certified."""

from flask_login import current_user
from werkzeug.utils import secure_filename

from blueprints.params import page_number, search_query
from blueprints.responses import file_response
from blueprints.space_pages import space_page, space_view
from blueprints.spaces import bp
from database import PAGE_SIZE
from services import communications as space_communications


@bp.get("/espaces/<id:space_id>/communications")
@space_view
def communications(member):
    query, page = search_query(), page_number()
    entries, total, certified = space_communications.space_list(member, query, page)
    return space_page(
        member,
        "communications",
        entries=entries,
        total=total,
        certified=certified,
        query=query,
        page=page,
        per_page=PAGE_SIZE,
    )


@bp.get("/espaces/<id:space_id>/communications/<id:communication_id>")
@space_view
def communication(member, communication_id):
    try:
        opened = space_communications.open_communication(member, current_user, communication_id)
    except space_communications.NotCertifiedToRead as refused:
        return space_page(
            member,
            "communications",
            status=refused.status,
            partial="spaces/_communication.html",
            refused=refused.message,
        )
    return space_page(member, "communications", partial="spaces/_communication.html", opened=opened)


@bp.get("/espaces/<id:space_id>/communications/<id:communication_id>/documents/<id:document_id>")
@space_view
def communication_document(member, communication_id, document_id):
    document = space_communications.space_document(member, communication_id, document_id)
    name = secure_filename(document.name) or f"document-{document.id}.pdf"
    return file_response(bytes(document.content), document.content_type, name, download=True)
