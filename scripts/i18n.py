"""Extract the portal's messages and update the French and Spanish catalogues.

    .venv/bin/python scripts/i18n.py            # update locale/*/messages.po (keeps translations)
    .venv/bin/python scripts/i18n.py --check    # exit 1 if a message is missing or untranslated

New messages appear with an empty translation; translate them in the .po files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

PORTAL = Path(__file__).resolve().parents[1] / "src" / "smartcustoms" / "portal"
TRS = PORTAL.parent / "trs"  # the study's report words, rendered in the portal too
LANGS = ("fr", "es")


def extract() -> Catalog:
    catalog = Catalog(project="smartcustoms", charset="utf-8")
    method_map = [("templates/**.html", "jinja2.ext:babel_extract"), ("*.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}, "*.py": {}}
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PORTAL), method_map, options, keywords={"_": None, "gettext": None, "N_": None}
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(TRS), [("*.py", "python")], {"*.py": {}}, keywords={"_": None, "N_": None}
    ):
        catalog.add(
            message, None, [(f"../trs/{filename}", lineno)], auto_comments=comments, context=context
        )
    return catalog


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    template = extract()
    missing: list[str] = []
    for lang in LANGS:
        path = PORTAL / "locale" / lang / "LC_MESSAGES" / "messages.po"
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="smartcustoms", charset="utf-8")
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True)
        catalog.creation_date = created  # unchanged catalogues stay byte-identical
        for message in catalog:
            if message.id and (not message.string or message.fuzzy):
                missing.append(f"{lang}: {message.id!r}")
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                write_po(fh, catalog, width=100, omit_header=False, sort_output=True)
    if missing:
        print("untranslated:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1 if args.check else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
