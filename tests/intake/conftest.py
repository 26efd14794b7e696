"""Fixtures for the intake tests: the public datasets in ``<repo>/../shared/data``.

The datasets are never copied into the repository (the DATE samples are non-commercial, the
Jeong files benchmark-only). The ``shared_data`` fixture of ``tests/conftest.py`` skips when
the folder is absent, and fails instead under ``SMARTCUSTOMS_REQUIRE_SHARED_DATA=1`` (CI).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _folder(shared_data: Path, name: str) -> Path:
    folder = shared_data / name
    if not folder.is_dir():
        # the shared folder is there, so a missing dataset is a broken checkout, not a skip
        pytest.fail(f"dataset folder missing from the shared data: {folder}")
    return folder


@pytest.fixture
def jeong_dir(shared_data: Path) -> Path:
    """Customs Import Declaration Datasets (Jeong et al. 2022), HS6 files at the top."""
    return _folder(shared_data, "customs-import-declarations-jeong2022")


@pytest.fixture
def date_dir(shared_data: Path) -> Path:
    """DATE / WCO BACUDA sample extracts (schema reference only)."""
    return _folder(shared_data, "date-bacuda-samples")
