"""Parse, normalise and hash ONE filing row-wise, exactly as the batch path would.

Mirrors, for a single decoded JSON filing (``fmt`` ``json`` or ``postal``), what
:class:`~smartcustoms.clearance.batcher.DecisionBatcher` does with it before clearance:

1. :func:`smartcustoms.intake._json.parse_json_lines` on ``orjson.dumps(doc)`` (Arrow's JSON
   reader, then :func:`smartcustoms.intake._nested.normalise_nested`);
2. :func:`smartcustoms.intake.validate.normalise_codes`;
3. :func:`smartcustoms.clearance.identity.content_hashes`.

:func:`parse_single` returns plain dicts equal, value for value and type for type, to the
batch frames' ``.to_dicts()`` (including ``_record`` and ``_path``), or ``None``. It is pure
Python: no Polars or Arrow call per filing.

``None`` ("clear it the batch way") is returned for every filing whose batch parse would
report a problem (error or warning), and also, conservatively, whenever exactness is in doubt:

* the document is not an object; a container (consignments, items, contents) is missing,
  empty, not a list, or holds anything but non-empty objects; a party is not a non-empty
  object (or null);
* any JSON boolean, any integer beyond 2**53, any nested value where a single value belongs,
  any string containing NUL;
* a field whose values clash in JSON type across consignments or items (text in one,
  a number in another: Arrow would fail the line and the batch path would re-read it with
  every number as text);
* an unknown key with a value (a ``field.unknown`` warning), or an unknown key, even null,
  whose name could collide with an internal column (``_`` prefix, a ``.``, a canonical
  column name or a source key of the layout);
* a text value outside a date-time field that starts like ``YYYY-`` (Arrow would infer a
  timestamp from it);
* numbers and dates in forms this module does not reproduce exactly: money with more than
  four decimals as a JSON number or in exponent form, non-integral numbers in text fields,
  floats that Polars would print in exponent form (below 1e-4 or from 1e16), date-times
  other than ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM`` and ``YYYY-MM-DD[T ]HH:MM:SS[.f][Z|±HH:MM]``,
  years before 1000, leap seconds;
* non-ASCII characters in code columns (upper-casing rules could differ);
* a null or repeated consignment id within the filing (the batch hash joins items on it).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

import polars as pl

from smartcustoms.intake._nested import NestedLayout
from smartcustoms.intake.batch import PATH, FieldLabel
from smartcustoms.intake.layouts import POSTAL_LAYOUT, WCO_JSON_LAYOUT
from smartcustoms.model import columns as c
from smartcustoms.model.columns import CONSIGNMENT_SCHEMA, ITEM_SCHEMA, MONEY, RECORD, TIMESTAMP

__all__ = ["PARSERS", "ParsedFiling", "SingleParser", "content_hash", "parse_single"]

_UTC: Final = ZoneInfo("UTC")
_QUANTUM: Final = Decimal("0.0001")
_ZERO: Final = Decimal("0.0000")
_MONEY_LIMIT: Final = Decimal(10) ** 14
_EXACT_INT: Final = 2**53
# Unicode White_Space: what Polars' strip_chars() and the regex ``\s`` remove (Python's
# str.strip() would also remove U+001C..U+001F).
_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_HS_DROP: Final = {ord(ch): None for ch in "." + _WHITESPACE}
_DECIMAL_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_FLOAT_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_DATETIME_TEXT: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:([T ])([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?"
)
_NESTED_TYPES: Final = (dict, list)
_CODE_COLUMNS: Final = (
    c.COUNTRY_OF_DISPATCH,
    c.COUNTRY_OF_DESTINATION,
    *(f"{role}_country" for role in c.PARTY_ROLES),
    c.CURRENCY,
    c.POSTAL_ITEM_ID,
)
_CONS_NAMES: Final = (*CONSIGNMENT_SCHEMA.names(), RECORD, PATH)
_ITEM_NAMES: Final = (*ITEM_SCHEMA.names(), RECORD, PATH)


class _DeclineError(Exception):
    """Internal: the filing is not covered (or would have parse problems)."""


@dataclass(frozen=True, slots=True)
class ParsedFiling:
    """One filing parsed, normalised and hashed exactly as the batch path would.

    Attributes:
        record: The batch's ``records`` row: ``{"_record": 0, "line": None}``.
        consignments: Normalised consignments rows (``.to_dicts()`` of the batch frame,
            every column of :data:`~smartcustoms.model.columns.CONSIGNMENT_SCHEMA` plus
            ``_record`` and ``_path``), in the filer's order.
        items: Normalised goods-item rows, likewise (:data:`ITEM_SCHEMA` plus ``_record``
            and ``_path``).
        content_hash: The record's content hash (:func:`~smartcustoms.clearance.identity.\
content_hashes`).
        filing_id: The record's filing id (that of its first consignment).
        labels: Canonical column -> label in the source format (``ParsedBatch.labels``).
    """

    record: dict[str, Any]
    consignments: list[dict[str, Any]]
    items: list[dict[str, Any]]
    content_hash: str
    filing_id: str | None
    labels: Mapping[str, FieldLabel]


# --- conversions of one JSON value to its canonical type (mirrors convert_column)


def _stripped(text: str, *, arrow_hinted: bool) -> str | None:
    """Stripped text, ``None`` when blank; declines text Arrow would read another way."""
    if "\x00" in text:
        raise _DeclineError
    if not arrow_hinted and len(text) > 4 and text[4] == "-" and text[:4].isdigit():
        raise _DeclineError  # Arrow infers timestamp[s] from ISO-looking text
    return text.strip(_WHITESPACE) or None


def _to_text(value: Any) -> str | None:
    if type(value) is str:
        return _stripped(value, arrow_hinted=False)
    if type(value) is int:
        return str(value)
    if type(value) is float and value.is_integer() and abs(value) < _EXACT_INT:
        return str(int(value))
    raise _DeclineError


def _money(number: Decimal) -> Decimal:
    out = number.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    if abs(out) >= _MONEY_LIMIT:
        raise _DeclineError
    return _ZERO if out == 0 else out


def _to_money(value: Any) -> Decimal | None:
    if type(value) is str:
        text = _stripped(value, arrow_hinted=False)
        if text is None:
            return None
        if len(text) > 40 or not _DECIMAL_TEXT.fullmatch(text):
            raise _DeclineError
        return _money(Decimal(text))
    if type(value) is int:
        return _money(Decimal(value))
    if type(value) is float:
        shown = repr(value)
        if "e" in shown or "n" in shown or abs(value) >= 1e13:
            raise _DeclineError
        if "." in shown and len(shown.split(".", 1)[1]) > 4:
            raise _DeclineError
        return _money(Decimal(shown))
    raise _DeclineError


def _to_float(value: Any) -> float | None:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if type(value) is str:
        text = _stripped(value, arrow_hinted=False)
        if text is None:
            return None
        if len(text) > 40 or not _FLOAT_TEXT.fullmatch(text):
            raise _DeclineError
        number = float(text)
        if not math.isfinite(number):
            raise _DeclineError
        return number
    raise _DeclineError


def _to_int(value: Any) -> int | None:
    if type(value) is int:
        return value
    number = _to_float(value)
    if number is None:
        return None
    if not number.is_integer() or abs(number) >= _EXACT_INT:
        raise _DeclineError
    return int(number)


def _to_timestamp(value: Any) -> datetime | None:
    if type(value) is not str:
        raise _DeclineError  # the Arrow hint reads these as text: a number fails the line
    text = _stripped(value, arrow_hinted=True)
    if text is None:
        return None
    m = _DATETIME_TEXT.fullmatch(text)
    if m is None:
        raise _DeclineError
    year, month, day, sep, hour, minute, second, fraction, offset = m.groups()
    if int(year) < 1000:
        raise _DeclineError
    if sep is not None and second is None and sep != "T":
        raise _DeclineError  # "YYYY-MM-DD HH:MM" is not an accepted layout
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    moment = datetime(  # raises ValueError (caught) on impossible dates and times
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
    )
    if offset is not None and offset != "Z":
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise _DeclineError
        shift = timedelta(hours=hours, minutes=minutes)
        moment = moment - shift if offset[0] == "+" else moment + shift
        if moment.year < 1000:
            raise _DeclineError
    return moment.replace(tzinfo=_UTC)


_Converter = Callable[[Any], Any]


def _converter(dtype: pl.DataType) -> _Converter:
    if dtype == pl.String:
        return _to_text
    if dtype == MONEY:
        return _to_money
    if dtype == pl.Float64:
        return _to_float
    if dtype == pl.Int64:
        return _to_int
    if dtype == TIMESTAMP:
        return _to_timestamp
    raise TypeError(f"no row-wise conversion to {dtype}")  # pragma: no cover


# --- rendering for the content hash (mirrors ``cast(pl.String)``)


def _render(value: Any) -> str:
    kind = type(value)
    if value is None:
        return "\x00"
    if kind is str:
        return str(value)
    if kind is int or kind is Decimal:
        return str(value)
    if kind is float:
        if value != 0 and not 1e-4 <= abs(value) < 1e16:
            raise _DeclineError  # Polars and Python print these differently
        return repr(value)
    if kind is datetime:
        return str(value.strftime("%Y-%m-%d %H:%M:%S.%f+00:00"))
    raise _DeclineError  # pragma: no cover - no other canonical type


def _rendered(row: Mapping[str, Any], names: tuple[str, ...]) -> str:
    return "\x1f".join([_render(row[name]) for name in names])


def content_hash(consignments: list[dict[str, Any]], items: list[dict[str, Any]]) -> str:
    """The record's content hash, as :func:`~smartcustoms.clearance.identity.content_hashes`.

    Assumes consignment ids are present and distinct within the filing (the parser checks).
    """
    by_consignment: dict[str, list[str]] = {}
    for item in items:
        by_consignment.setdefault(item[c.CONSIGNMENT_ID], []).append(_rendered(item, _ITEM_COLUMNS))
    parts = [
        _rendered(row, _CONS_COLUMNS)
        + "\x1d"
        + "\x1e".join(by_consignment.get(row[c.CONSIGNMENT_ID], ()))
        for row in consignments
    ]
    return hashlib.sha256("\x1c".join(parts).encode()).hexdigest()


_CONS_COLUMNS: Final = tuple(CONSIGNMENT_SCHEMA.names())
_ITEM_COLUMNS: Final = tuple(ITEM_SCHEMA.names())


# --- the parser


def _objects(value: Any) -> list[dict[str, Any]]:
    """A non-empty list of non-empty objects, or decline."""
    if type(value) is not list or not value:
        raise _DeclineError
    for element in value:
        if type(element) is not dict or not element:
            raise _DeclineError
    return value


class SingleParser:
    """Row-wise parser of one filing in one nested layout (built once, used per filing).

    Args:
        layout: The layout the batch path uses for the format (``WCO_JSON_LAYOUT``,
            ``POSTAL_LAYOUT``).
    """

    def __init__(self, layout: NestedLayout) -> None:
        self.layout = layout
        self.labels: Mapping[str, FieldLabel] = MappingProxyType(layout.labels())
        """Canonical column -> label in the source format, as ``ParsedBatch.labels``."""
        self._filing = [
            (col, key, _converter(CONSIGNMENT_SCHEMA[col])) for col, key in layout.filing.items()
        ]
        self._consignment = [
            (col, key, _converter(CONSIGNMENT_SCHEMA[col]))
            for col, key in layout.consignment.items()
        ]
        self._item = [(col, key, _converter(ITEM_SCHEMA[col])) for col, key in layout.item.items()]
        self._party = tuple((f"_{pf}", pk) for pf, pk in layout.party.items())
        self._party_keys = frozenset(layout.party.values())
        self._static = {col: v for col, v in layout.static.items() if col in CONSIGNMENT_SCHEMA}
        top = set(layout.filing.values()) | set(layout.filing_parties.values())
        cons = set(layout.consignment.values()) | set(layout.consignment_parties.values())
        cons.add(layout.items_key)
        if layout.consignments_key is None:
            top |= cons
        else:
            top.add(layout.consignments_key)
        self._known_top = frozenset(top)
        self._known_cons = frozenset(cons)
        self._known_item = frozenset(layout.item.values())
        self._reserved = frozenset(
            {*CONSIGNMENT_SCHEMA.names(), *ITEM_SCHEMA.names(), *top, *cons, *self._known_item}
            | set(layout.party.values())
        )
        self._number_items = c.ITEM_NO not in layout.item

    def parse(self, doc: Any) -> ParsedFiling | None:
        """The filing parsed, normalised and hashed, or ``None`` when not covered."""
        try:
            return self._parse(doc)
        except Exception:  # _DeclineError, or any surprise in the input: the batch path decides
            return None

    # -- internals

    def _check_keys(self, obj: dict[str, Any], known: frozenset[str]) -> None:
        """Decline unknown keys with a value, or whose name could shadow a column."""
        for key, value in obj.items():
            if key in known:
                continue
            if value is not None or not key or key[0] == "_" or "." in key:
                raise _DeclineError
            if key in self._reserved:
                raise _DeclineError

    @staticmethod
    def _value(kinds: dict[Any, str], slot: Any, value: Any, convert: _Converter) -> Any:
        """Convert one value, checking its JSON type agrees with the rest of its column."""
        if value is None:
            return None
        kind = type(value)
        if kind is str:
            tag = "s"
        elif kind is int:
            if not -_EXACT_INT <= value <= _EXACT_INT:
                raise _DeclineError
            tag = "n"
        elif kind is float:
            tag = "n"
        else:
            raise _DeclineError  # booleans, objects, lists
        seen = kinds.setdefault(slot, tag)
        if seen != tag:
            raise _DeclineError
        return convert(value)

    def _party_into(
        self, out: dict[str, Any], role: str, party: Any, kinds: dict[Any, str], slot: Any
    ) -> None:
        if party is None:
            for suffix, _ in self._party:
                out[role + suffix] = None
            return
        if type(party) is not dict or not party:
            raise _DeclineError
        for key, value in party.items():
            if key not in self._party_keys and (value is not None or key[:1] == "_"):
                raise _DeclineError
        for suffix, key in self._party:
            out[role + suffix] = self._value(kinds, (slot, key), party.get(key), _to_text)

    def _parse(self, doc: Any) -> ParsedFiling:
        layout = self.layout
        if type(doc) is not dict:
            raise _DeclineError
        self._check_keys(doc, self._known_top)
        kinds: dict[Any, str] = {}
        head: dict[str, Any] = {}
        for col, key, convert in self._filing:
            head[col] = self._value(kinds, ("t", key), doc.get(key), convert)
        for role, key in layout.filing_parties.items():
            self._party_into(head, role, doc.get(key), kinds, ("t", key))
        if layout.consignments_key is None:
            sources: list[tuple[str, dict[str, Any]]] = [("", doc)]
        else:
            key = layout.consignments_key
            sources = [(f"{key}[{i}]", obj) for i, obj in enumerate(_objects(doc.get(key)))]
        consignments: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        for path, obj in sources:
            if obj is not doc:
                self._check_keys(obj, self._known_cons)
            row = self._consignment_row(obj, head, path, kinds)
            consignments.append(row)
            items.extend(self._item_rows(obj, row, path, kinds))
        ids = [row[c.CONSIGNMENT_ID] for row in consignments]
        if None in ids or len(set(ids)) != len(ids):
            raise _DeclineError
        _normalise_codes(consignments, items)
        return ParsedFiling(
            record={RECORD: 0, "line": None},
            consignments=consignments,
            items=items,
            content_hash=content_hash(consignments, items),
            filing_id=consignments[0][c.FILING_ID],
            labels=self.labels,
        )

    def _consignment_row(
        self, obj: dict[str, Any], head: dict[str, Any], path: str, kinds: dict[Any, str]
    ) -> dict[str, Any]:
        row: dict[str, Any] = dict.fromkeys(_CONS_NAMES)
        row.update(head)
        for col, key, convert in self._consignment:
            row[col] = self._value(kinds, ("c", key), obj.get(key), convert)
        for role, key in self.layout.consignment_parties.items():
            self._party_into(row, role, obj.get(key), kinds, ("c", key))
        row.update(self._static)
        row[RECORD] = 0
        row[PATH] = path
        return row

    def _item_rows(
        self, obj: dict[str, Any], row: dict[str, Any], path: str, kinds: dict[Any, str]
    ) -> list[dict[str, Any]]:
        ikey = self.layout.items_key
        prefix = f"{path}.{ikey}" if path else ikey
        out = []
        for i, element in enumerate(_objects(obj.get(ikey))):
            self._check_keys(element, self._known_item)
            item: dict[str, Any] = dict.fromkeys(_ITEM_NAMES)
            item[c.CONSIGNMENT_ID] = row[c.CONSIGNMENT_ID]
            for col, key, convert in self._item:
                item[col] = self._value(kinds, ("i", key), element.get(key), convert)
            if self._number_items:
                item[c.ITEM_NO] = i + 1
            item[RECORD] = 0
            item[PATH] = f"{prefix}[{i}]"
            out.append(item)
        return out


def _upper(value: Any) -> Any:
    if value is None:
        return None
    if not value.isascii():
        raise _DeclineError
    return value.upper()


def _normalise_codes(consignments: list[dict[str, Any]], items: list[dict[str, Any]]) -> None:
    """In place, as :func:`~smartcustoms.intake.validate.normalise_codes`."""
    for row in consignments:
        for col in _CODE_COLUMNS:
            row[col] = _upper(row[col])
    for item in items:
        hs = item[c.HS_CODE]
        if hs is not None:
            item[c.HS_CODE] = hs.translate(_HS_DROP)
        item[c.ORIGIN_COUNTRY] = _upper(item[c.ORIGIN_COUNTRY])


PARSERS: Final = MappingProxyType(
    {"json": SingleParser(WCO_JSON_LAYOUT), "postal": SingleParser(POSTAL_LAYOUT)}
)
"""The parser of each single-filing format, keyed like the batcher's ``fmt``."""


def parse_single(doc: Any, fmt: str) -> ParsedFiling | None:
    """Parse one decoded filing (``fmt`` ``json`` or ``postal``); ``None`` when not covered."""
    parser = PARSERS.get(fmt)
    return None if parser is None else parser.parse(doc)
