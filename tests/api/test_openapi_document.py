"""docs/openapi.json is the document the service serves, and must be current."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from fastapi.testclient import TestClient

from smartcustoms.api import create_app
from smartcustoms.platform import SmartCustoms

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("openapi_doc", ROOT / "scripts" / "openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_document_is_current() -> None:
    script = _script()
    committed = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == script.render(script.document()), "run: .venv/bin/python scripts/openapi.py"


def test_served_document_is_the_committed_one(platform: SmartCustoms) -> None:
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    with TestClient(create_app(platform, portal=False)) as client:
        served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.json() == committed
    assert committed["info"]["version"]
    assert any(path.startswith("/api/v1/filings") for path in committed["paths"])
