"""Reading tariff data files (TOML, CSV) and reporting every problem with file and line.

The generic machinery (locating TOML lines, collecting problems, typed getters) lives in
:mod:`smartcustoms.datafiles`, shared with the risk domain's rule files; this module only
binds it to the tariff's problem codes and :class:`~smartcustoms.errors.InvalidTariffFileError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from smartcustoms import datafiles
from smartcustoms.datafiles import TomlLocator, package_data_path, read_text
from smartcustoms.errors import InvalidTariffFileError

__all__ = [
    "CODE_INVALID",
    "CODE_MISSING",
    "CODE_OVERLAP",
    "CODE_SYNTAX",
    "CODE_UNKNOWN_KEY",
    "FileReader",
    "TomlLocator",
    "currency_ok",
    "data_path",
    "read_text",
]

CODE_SYNTAX: Final = "tariff.syntax"
CODE_MISSING: Final = "tariff.missing_key"
CODE_UNKNOWN_KEY: Final = "tariff.unknown_key"
CODE_INVALID: Final = "tariff.invalid_value"
CODE_OVERLAP: Final = "tariff.overlap"


def data_path(*parts: str) -> Path:
    """Filesystem path of a file shipped in ``smartcustoms/tariff/data``."""
    return package_data_path("smartcustoms.tariff", *parts)


class FileReader(datafiles.FileReader):
    """A :class:`smartcustoms.datafiles.FileReader` reporting ``tariff.*`` problem codes.

    Args:
        label: How the file is named in problem paths (``eu-demo.toml``).
        locator: Line finder for TOML files; ``None`` for CSV files.
    """

    error = InvalidTariffFileError
    code_syntax = CODE_SYNTAX
    code_missing = CODE_MISSING
    code_unknown_key = CODE_UNKNOWN_KEY
    code_invalid = CODE_INVALID
    code_unreadable = CODE_INVALID


def currency_ok(code: str | None) -> bool:
    """Whether ``code`` looks like an ISO 4217 alphabetic code."""
    return code is not None and len(code) == 3 and code.isalpha() and code.isupper()
