"""The message catalogues seen by the tests: the messages of the source tree extracted as
`make messages` does (babel.cfg, the Makefile's keywords and ignored directories), the German
and English catalogues, what is wrong in one, and their compiled .mo kept current."""

import io
import re
import shlex
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("de", "en")


def po_path(language):
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def read_catalogue(path):
    with open(path, "rb") as po:
        return read_po(po)


def _makefile_extract_options():
    """The KEYWORDS and --ignore-dirs of the Makefile's `messages` target, so both stay one."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    keywords = re.search(r"^KEYWORDS := (.*)$", makefile, re.M).group(1)
    ignore_dirs = re.search(r"--ignore-dirs='([^']*)'", makefile).group(1)
    return [*shlex.split(keywords), f"--ignore-dirs={ignore_dirs}"]


def extract_messages(tmp_dir):
    """The catalogue `make messages` would write to translations/messages.pot, made in `tmp_dir`."""
    pot = Path(tmp_dir) / "messages.pot"
    arguments = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), *_makefile_extract_options()]
    arguments += ["--no-wrap", "-o", str(pot), str(ROOT)]
    CommandLineInterface().run(arguments)
    return read_catalogue(pot)


def _forms(message):
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]


def problems(template, catalogue):
    """What keeps `catalogue` from translating every message of `template`: one line per
    message id missing, empty, fuzzy, with a plural form missing or with other placeholders."""
    found = []
    for message in template:
        if not message.id:
            continue
        key = message.id[0] if message.pluralizable else message.id
        translated = catalogue.get(message.id[0] if message.pluralizable else message.id, message.context)
        if translated is None:
            found.append(f"missing: {key!r}")
        elif translated.fuzzy:
            found.append(f"fuzzy: {key!r}")
        elif not all(_forms(translated)):
            empty = "empty" if not any(_forms(translated)) else "a plural form empty"
            found.append(f"{empty}: {key!r}")
        else:
            found += [f"{error}: {key!r}" for error in translated.check(catalogue)]
    return found


def compiled(catalogue):
    mo = io.BytesIO()
    write_mo(mo, catalogue)  # as `pybabel compile`: the fuzzy entries left out
    return mo.getvalue()


def compile_stale_catalogues():
    """Writes each language's .mo whose content is not its .po's (as `make translations`);
    returns the languages it compiled."""
    written = []
    for language in LANGUAGES:
        po = po_path(language)
        mo = po.with_suffix(".mo")
        content = compiled(read_catalogue(po))
        if not mo.exists() or mo.read_bytes() != content:
            mo.write_bytes(content)
            written.append(language)
    return written


def translated_french(language):
    """The French message ids (singular and plural) that `language`'s catalogue translates
    into something else: the ones a page in that language must not show."""
    ids = set()
    for message in read_catalogue(po_path(language)):
        if not message.id:
            continue
        msgids = message.id if message.pluralizable else (message.id,)
        strings = _forms(message)
        ids.update(msgid for msgid in msgids if msgid not in strings)
    return ids
