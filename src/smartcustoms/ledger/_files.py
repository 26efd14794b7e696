"""Crash-safe file writes for the ledger: temporary file, fsync, rename, fsync directory.

A rename within one directory is atomic on POSIX file systems, so a reader (or a process
restarted after ``kill -9`` or a power cut) sees either the old file or the complete new one,
never a torn write. The data is fsynced before the rename and the directory after it, so the
new name survives a power cut once the caller's directory fsync returns.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["TEMP_SUFFIX", "fsync_directories", "make_directories", "write_file_atomically"]

TEMP_SUFFIX = ".tmp"
"""Suffix of the temporary files a crash may leave behind (removed when a log is opened)."""


def make_directories(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; return the directories whose entries changed.

    Those are the parent of each directory created (and ``directory`` itself): fsyncing them
    makes the new directories durable.
    """
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
    return [directory, *(new.parent for new in missing)]


def write_file_atomically(path: Path, data: bytes, *, durable: bool = True) -> list[Path]:
    """Replace ``path`` with ``data`` atomically, creating parent directories as needed.

    Args:
        path: The file to write.
        data: Its complete new content.
        durable: Fsync the data before the rename. The caller must still fsync the returned
            directories (see :func:`fsync_directories`) for the rename itself to be durable.

    Returns:
        The directories whose entries changed (the file's directory and the parents of any
        directory created for it).
    """
    changed = make_directories(path.parent)
    temp = path.with_name(path.name + TEMP_SUFFIX)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    return changed


def fsync_directories(directories: Iterable[Path]) -> None:
    """Fsync each directory once, deepest first, so new names and new subdirectories persist."""
    for directory in sorted(set(directories), key=lambda p: len(p.parts), reverse=True):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
