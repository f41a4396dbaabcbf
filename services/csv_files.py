"""The CSV files people send (the company register's imports, access-code batches), all read
the same way: at most so many bytes, UTF-8 with or without BOM, a header line naming the
columns, cells separated by `;` or `,` (whichever the header line has more of), at most so
many lines under the header. What makes the whole file unreadable is a FileRefused; what
makes one line unreadable is said with that line (Row.errors), for the caller to report
with its own checks of the line."""

import csv
import io
from typing import NamedTuple

from flask_babel import lazy_gettext as _l

from services import DomainError, files


class FileRefused(DomainError):
    """The file as a whole cannot be read (size, encoding, header, lines)."""

    status = 422


class FileTooLarge(FileRefused):
    message = _l("Le fichier dépasse %(size)s : découpez-le en plusieurs fichiers.")

    def __init__(self, max_bytes):
        super().__init__(str(self.message) % {"size": files.size_label(max_bytes)})


class NotUtf8(FileRefused):
    message = _l(
        "Le fichier n'est pas encodé en UTF-8 : enregistrez-le au format « CSV UTF-8 » et réessayez."
    )


class BadHeader(FileRefused):
    """The header line does not name the columns; the message lists them (`columns`), in its
    own words when the file's kind has them (`message`, with a %(columns)s)."""

    message = _l(
        "La première ligne du fichier doit nommer les colonnes : %(columns)s (dans n'importe quel ordre)."
    )

    def __init__(self, columns, message=None):
        super().__init__(str(message or self.message) % {"columns": ", ".join(columns)})


class NoLine(FileRefused):
    message = _l("Le fichier ne contient aucune ligne d'entreprise sous son en-tête.")


class TooManyLines(FileRefused):
    message = _l("Le fichier contient plus de %(max)d lignes : découpez-le en plusieurs fichiers.")

    def __init__(self, max_lines):
        super().__init__(str(self.message) % {"max": max_lines})


class LinesRefused(DomainError):
    """Lines of the file are wrong, and nothing is done: `lines` are (line number in the
    file, [why]) in the file's order; the message (each kind of file's) says what was not
    done."""

    status = 422

    def __init__(self, lines):
        super().__init__()
        self.lines = lines


class Row(NamedTuple):
    """A non-empty line under the header: where it starts in the file, its cells by column,
    and why it cannot be read as the header says (more cells than columns; not CSV, then
    `cells` is None: the file is read no further)."""

    number: int
    cells: dict | None
    errors: list


def any_order(columns):
    """A header of exactly `columns`, in any order and any case (read's `header`)."""

    def names(cells):
        names = [cell.lower() for cell in cells]
        if sorted(names) != sorted(columns):
            raise BadHeader(columns)
        return names

    return names


def read(data, max_bytes, max_lines, header):
    """The file's rows ([Row]), or FileRefused. `header` gives the column names for the
    header line's cells (stripped; none in a file without lines), or raises BadHeader."""
    if len(data) > max_bytes:
        raise FileTooLarge(max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotUtf8() from None
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns, rows = None, []
    try:
        for cells in reader:
            number = reader.line_num - sum(cell.count("\n") for cell in cells)  # where it starts
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = header([cell.strip() for cell in cells])
                continue
            if len(rows) == max_lines:
                raise TooManyLines(max_lines)
            errors = []
            if len(cells) > len(columns):
                errors.append(str(_l("Cette ligne a plus de cellules que l'en-tête n'a de colonnes.")))
            rows.append(Row(number, dict(zip(columns, cells, strict=False)), errors))
    except csv.Error as error:
        unreadable = str(_l("Ligne illisible en CSV (%(error)s).", error=str(error)))
        rows.append(Row(reader.line_num, None, [unreadable]))
    if columns is None:
        header([])  # a file without lines: its header names no column
    if not rows:
        raise NoLine()
    return rows
