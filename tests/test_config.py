"""Every setting is documented; the environment is read with the SMARTCUSTOMS_ prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartcustoms.config import Settings, load_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    for name, field in Settings.model_fields.items():
        assert f"`SMARTCUSTOMS_{name.upper()}`" in text
        assert field.description


def test_environment_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCUSTOMS_CHUNK_SIZE", "123")
    monkeypatch.setenv("SMARTCUSTOMS_DATABASE_URL", "sqlite:///x.db")
    s = load_settings(database_url=None, regime="plain-national")
    assert (s.chunk_size, s.database_url, s.regime) == (123, "sqlite:///x.db", "plain-national")
