r"""Translate a Polars (Rust ``regex`` crate) pattern into an equivalent Python ``re`` pattern.

Rule conditions ``matches`` run ``str.contains`` in Polars, i.e. the Rust ``regex`` crate. The
row-wise fast path needs the same answer from Python's :mod:`re`. The two dialects agree on a
common core when the searched text is plain ASCII; :func:`translate` accepts only that core
and returns ``None`` for anything else (the caller then declines the filing):

* literals: printable ASCII; escapes ``\d \D \w \W \s \S \b \B \A \z \t \n \r`` and
  escaped punctuation;
* ``\B`` (which Rust, unlike Python, also finds in an empty text);
* ``.``, ``^``, ``$`` (``$`` is end of text in Rust, so it becomes ``\Z``), alternation;
* groups ``(...)``, ``(?:...)``, named groups (made non-capturing), scoped flags ``(?i:...)``
  and ``(?s:...)``, and a leading ``(?i)`` / ``(?s)`` / ``(?is)`` at the very start;
* simple character classes (ranges, escapes, negation; no nesting, set operations or POSIX
  classes);
* quantifiers ``* + ? {n} {n,} {n,m}``, greedy or lazy.

:func:`text_ok` tells whether a text is in the alphabet where the translation is exact
(tab, line feed, vertical tab, form feed, carriage return and printable ASCII): Unicode
classes (``\w``, ``\s``, case folding) differ between the engines beyond it.
"""

from __future__ import annotations

import re
import string
from typing import Final

__all__ = ["text_ok", "translate"]

_OUTSIDE: Final = re.compile(r"[^\t-\r -~]")
_CLASS_ESCAPES: Final = frozenset("dDwWsS")
_ESCAPES: Final = {
    **{ch: "\\" + ch for ch in "dDwWsSbAtnr"},
    # Python's \B never matches in an empty text; Rust's does
    "B": r"(?:\B|\A\Z)",
    "z": r"\Z",
}
_PUNCT_ESCAPABLE: Final = frozenset(string.punctuation) - {"<", ">"}
_LITERAL_PUNCT: Final = frozenset("!\"#%&',-/:;<=>@]_`~ ")
_SCOPED_FLAGS: Final = frozenset({"i", "s", "is", "si"})


def text_ok(text: str) -> bool:
    """Whether ``text`` lies in the alphabet where translated patterns match exactly."""
    return _OUTSIDE.search(text) is None


class _UnsupportedError(Exception):
    """The pattern uses syntax outside the translated core."""


def translate(pattern: str) -> re.Pattern[str] | None:
    """The compiled Python equivalent of a Rust ``regex`` pattern, or ``None``.

    Only patterns Polars accepted should be given (rule files are validated on loading);
    anything outside the core described in the module docstring gives ``None``.
    """
    if not pattern.isascii():
        return None
    try:
        out = _Translator(pattern).run()
        return re.compile(out)
    except (_UnsupportedError, re.error, IndexError):
        return None


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.out: list[str] = []
        # per open group: does it need an extra ")" for a leading flag group
        self.extra: list[int] = [0]
        self.group_start = True
        self.can_repeat = False

    def run(self) -> str:
        while self.i < len(self.p):
            self.step()
        if len(self.extra) != 1:
            raise _UnsupportedError("unbalanced")
        self.out.append(")" * self.extra[0])
        return "".join(self.out)

    def emit(self, text: str, *, repeatable: bool) -> None:
        self.out.append(text)
        self.group_start = False
        self.can_repeat = repeatable

    def step(self) -> None:
        ch = self.p[self.i]
        self.i += 1
        if ch == "\\":
            self.escape()
        elif ch == "[":
            self.char_class()
        elif ch == "(":
            self.open_group()
        elif ch == ")":
            if len(self.extra) == 1:
                raise _UnsupportedError("unbalanced")
            self.out.append(")" * self.extra.pop() + ")")
            self.group_start = False
            self.can_repeat = True
        elif ch == "|":
            self.out.append("|")
            self.can_repeat = False
        elif ch in "*+?":
            self.quantifier(ch)
        elif ch == "{":
            self.counted()
        elif ch == "$":
            self.emit(r"\Z", repeatable=False)
        elif ch == "^":
            self.emit("^", repeatable=False)
        elif ch == ".":
            self.emit(".", repeatable=True)
        elif ch.isalnum() or ch in _LITERAL_PUNCT:
            self.emit(re.escape(ch), repeatable=True)
        else:
            raise _UnsupportedError(ch)

    def escape(self) -> None:
        ch = self.p[self.i]
        self.i += 1
        if ch in _ESCAPES:
            self.emit(_ESCAPES[ch], repeatable=ch not in "bBAz")
        elif ch in _PUNCT_ESCAPABLE:
            self.emit(re.escape(ch), repeatable=True)
        else:
            raise _UnsupportedError("\\" + ch)

    def quantifier(self, ch: str) -> None:
        if not self.can_repeat:
            raise _UnsupportedError("nothing to repeat")
        self.out.append(ch)
        self.lazy()

    def lazy(self) -> None:
        if self.i < len(self.p) and self.p[self.i] == "?":
            self.out.append("?")
            self.i += 1
        if self.i < len(self.p) and self.p[self.i] in "*+?{":
            raise _UnsupportedError("stacked quantifiers")
        self.can_repeat = False

    def counted(self) -> None:
        end = self.p.find("}", self.i)
        if end < 0 or not self.can_repeat:
            raise _UnsupportedError("{")
        body = self.p[self.i : end]
        if not re.fullmatch(r"\d{1,3}(,\d{0,3})?", body):
            raise _UnsupportedError("{" + body)
        low, _, high = body.partition(",")
        if high and int(high) < int(low):
            raise _UnsupportedError("bad range")
        self.out.append("{" + body + "}")
        self.i = end + 1
        self.lazy()

    def open_group(self) -> None:
        rest = self.p[self.i :]
        if not rest.startswith("?"):
            self.out.append("(")
        elif rest.startswith("?:"):
            self.out.append("(?:")
            self.i += 2
        elif named := re.match(r"\?P?<[A-Za-z_][A-Za-z0-9_]*>", rest):
            self.out.append("(?:")
            self.i += named.end()
        elif scoped := re.match(r"\?([a-z]+):", rest):
            if scoped.group(1) not in _SCOPED_FLAGS:
                raise _UnsupportedError("flags")
            self.out.append(f"(?{scoped.group(1)}:")
            self.i += scoped.end()
        elif leading := re.match(r"\?([a-z]+)\)", rest):
            # flags for the rest of the enclosing group: only at its very start
            if leading.group(1) not in _SCOPED_FLAGS or not self.group_start:
                raise _UnsupportedError("flags")
            self.out.append(f"(?{leading.group(1)}:")
            self.extra[-1] += 1
            self.i += leading.end()
            self.group_start = True
            self.can_repeat = False
            return
        else:
            raise _UnsupportedError("group")
        self.extra.append(0)
        self.group_start = True
        self.can_repeat = False

    def char_class(self) -> None:
        parts = ["["]
        if self.p[self.i] == "^":
            parts.append("^")
            self.i += 1
        first = True
        members: list[str] = []
        while True:
            ch = self.p[self.i]
            self.i += 1
            if ch == "]" and not first:
                break
            first = False
            if ch == "\\":
                esc = self.p[self.i]
                self.i += 1
                if esc in _CLASS_ESCAPES or esc in "tnr" or esc in _PUNCT_ESCAPABLE:
                    members.append("\\" + esc)
                else:
                    raise _UnsupportedError("class escape")
            elif ch in "[&~":
                raise _UnsupportedError("class syntax")
            elif ch == "-":
                members.append("-")
            elif ch.isalnum() or ch in string.punctuation or ch == " ":
                members.append(re.escape(ch) if ch in "]^\\" else ch)
            else:
                raise _UnsupportedError("class member")
        if "".join(members).count("-") and not _simple_ranges(members):
            raise _UnsupportedError("class range")
        parts.extend(members)
        parts.append("]")
        self.emit("".join(parts), repeatable=True)


def _simple_ranges(members: list[str]) -> bool:
    """Hyphens only as ``a-z`` between two plain characters, or first / last."""
    for k, m in enumerate(members):
        if m != "-" or k in (0, len(members) - 1):
            continue
        left, right = members[k - 1], members[k + 1]
        if len(left) != 1 or len(right) != 1 or left == "-" or right == "-":
            return False
        if not left.isalnum() or not right.isalnum() or left > right:
            return False
        if k >= 2 and members[k - 2] == "-":
            return False
    return True
