"""Write the service's OpenAPI document to docs/openapi.json, or check it is current.

    .venv/bin/python scripts/openapi.py          # regenerate
    .venv/bin/python scripts/openapi.py --check  # exit 1 when the committed copy is stale

The committed copy lets client authors and reviewers read the API without running it; the
test suite fails when a route changes and the copy was not regenerated.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from smartcustoms.api import create_app
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms

TARGET = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def document() -> dict[str, Any]:
    """The OpenAPI document the service serves at /api/v1/openapi.json."""
    with tempfile.TemporaryDirectory() as tmp:
        platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp}/openapi.db"))
        try:
            schema: dict[str, Any] = create_app(platform, portal=False).openapi()
        finally:
            platform.close()
    return schema


def render(schema: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    """Regenerate or check docs/openapi.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render(document())
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is stale: run scripts/openapi.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
