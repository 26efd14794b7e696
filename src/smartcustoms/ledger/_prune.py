"""Remove what an interrupted append left beyond the acknowledged tree size.

An append writes its tiles before it commits the new size to the state file, so a crash can
leave tiles, entry bundles and temporary files for entries that were never acknowledged. All of
them sit at or after the first tile that is not full at the acknowledged size, so pruning walks
only the directories along that tile's path: O(depth x 1000) names per level, never the log.
Partial tiles whose full tile exists are removed too (C2SP tlog-tiles allows it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from smartcustoms.ledger._files import TEMP_SUFFIX
from smartcustoms.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, format_tile_index

__all__ = ["prune_beyond"]


def prune_beyond(root: Path, size: int, tree: str = "tile") -> None:
    """Delete tiles, bundles and temporary files that a tree of ``size`` does not use.

    Args:
        root: The log directory.
        size: The acknowledged tree size.
        tree: The subdirectory laid out as C2SP tiles: ``tile``, or ``inner`` for the
            inner-rows files kept beside full level-0 tiles.
    """
    tile_dir = root / tree
    if not tile_dir.is_dir():
        return
    for child in tile_dir.iterdir():
        if child.name == "entries":
            hashes = size
        elif child.name.isdigit():
            hashes = size >> (TILE_HEIGHT * int(child.name))
        else:
            continue
        if hashes == 0:
            shutil.rmtree(child)
            continue
        elements = format_tile_index(hashes // TILE_WIDTH).split("/")
        _prune_directory(child, elements, hashes % TILE_WIDTH)


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _prune_directory(directory: Path, elements: list[str], width: int) -> None:
    """Prune one directory on the path of the first non-full tile (named by ``elements``)."""
    target = int(elements[0].lstrip("x"))
    is_last = len(elements) == 1
    for path in list(directory.iterdir()):
        name = path.name
        if name.endswith(TEMP_SUFFIX):
            path.unlink(missing_ok=True)
        elif name.startswith("x"):  # a group of larger indices, or the path itself
            value = _number(name[1:])
            if value is None:
                continue
            if is_last or value > target:
                shutil.rmtree(path)
            elif value == target:
                _prune_directory(path, elements[1:], width)
        elif name.endswith(".p"):
            value = _number(name[:-2])
            if value is None:
                continue
            if not is_last or value != target:  # superseded by a full tile, or beyond the size
                shutil.rmtree(path)
            else:
                _prune_partials(path, width)
        elif is_last and (value := _number(name)) is not None and value >= target:
            path.unlink()


def _prune_partials(directory: Path, width: int) -> None:
    for path in list(directory.iterdir()):
        value = _number(path.name)
        if path.name.endswith(TEMP_SUFFIX) or (value is not None and value > width):
            path.unlink()
    if not any(directory.iterdir()):
        directory.rmdir()
