"""Resolve W3C Web Annotation TextQuoteSelectors to code-point offsets in a verbatim text.

A selector is ``exact`` with an optional ``prefix`` / ``suffix`` (the text right before / after
it). Matching folds the text once per article (:class:`FoldedText`): straight and curly quotes
become one quote character each, and every run of white space becomes one space. Quotes are
folded the same way and found with ``str.find`` in the folded text; an index map turns folded
positions back into offsets of the original text. No regular expression is compiled per quote.

A quote found nowhere, or found more than once and not told apart by its prefix/suffix, raises
:class:`SelectorError` naming the nearest candidates with their line numbers.
"""

from __future__ import annotations

import bisect
import difflib
import re
import sys
from dataclasses import dataclass

SINGLE_QUOTES = "'‘’‛′"
DOUBLE_QUOTES = '"“”„″'

_WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
_OTHER_SPACE = re.compile("[" + re.escape(_WHITESPACE.replace(" ", "")) + "]")
_ASCII_FOLD = str.maketrans({c: " " for c in _WHITESPACE if c.isascii() and c != " "})
_QUOTE_FOLDS = tuple(
    [(c, "'") for c in SINGLE_QUOTES if c != "'"] + [(c, '"') for c in DOUBLE_QUOTES if c != '"']
)
_SPACE_RUN = re.compile(" {2,}")
_CANDIDATES = 3
_EXCERPT = 70


class SelectorError(ValueError):
    """A quote that does not resolve to exactly one place in the text.

    Attributes:
        message: What is wrong (one line).
        hint: How to fix it, with the nearest candidates quoted and their line numbers.
    """

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message}; {hint}")
        self.message = message
        self.hint = hint


def _fold_chars(s: str) -> str:
    """Replace each quote by ``'`` / ``"`` and each white-space character by a space.

    Keeps the length. ``str.translate`` with a table is fast only for ASCII strings (the
    common quote); a text with any other character (accented names) goes through one regular
    expression for white space and ``str.replace`` for each curly quote it contains, about
    10x faster than translating it character by character.
    """
    if s.isascii():
        return s.translate(_ASCII_FOLD)
    s = _OTHER_SPACE.sub(" ", s)
    for quote, plain in _QUOTE_FOLDS:
        if quote in s:
            s = s.replace(quote, plain)
    return s


def fold(s: str) -> str:
    """Fold quotes to ``'`` / ``"`` and every run of white space to one space."""
    return _SPACE_RUN.sub(" ", _fold_chars(s))


@dataclass(frozen=True)
class Selector:
    """A W3C TextQuoteSelector."""

    exact: str
    prefix: str | None = None
    suffix: str | None = None


class FoldedText:
    """A text folded once for quote matching, with the map back to original offsets.

    Quote folding keeps lengths; only runs of two or more white-space characters shrink (to one
    space). ``_run_at[k]`` is the folded position of the k-th shrunk run and ``_shift[k + 1]``
    the number of original characters removed up to and including it, so a folded position
    ``p`` maps to ``p + _shift[number of runs before p]``. That holds for starts and for
    exclusive ends alike.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        translated = _fold_chars(text)
        run_at: list[int] = []
        shift = [0]
        parts: list[str] = []
        last = 0
        removed = 0
        for m in _SPACE_RUN.finditer(translated):
            parts.append(translated[last : m.start() + 1])
            last = m.end()
            run_at.append(m.start() - removed)
            removed += m.end() - m.start() - 1
            shift.append(removed)
        parts.append(translated[last:])
        self.folded = "".join(parts)
        self._run_at = run_at
        self._shift = shift

    def original(self, pos: int) -> int:
        """Map a folded position (a start or an exclusive end) to an original offset."""
        return pos + self._shift[bisect.bisect_left(self._run_at, pos)]

    def line_of(self, offset: int) -> int:
        """Return the 1-based line of an original offset."""
        return self.text.count("\n", 0, offset) + 1

    def _occurrences(self, needle: str) -> list[int]:
        found: list[int] = []
        i = self.folded.find(needle)
        while i >= 0:
            found.append(i)
            i = self.folded.find(needle, i + 1)
        return found

    def _has_prefix(self, start: int, prefix: str) -> bool:
        # White space between prefix and exact is optional on both sides.
        want = prefix.rstrip(" ")
        end = start
        while end > 0 and self.folded[end - 1] == " ":
            end -= 1
        return self.folded.endswith(want, 0, end)

    def _has_suffix(self, end: int, suffix: str) -> bool:
        want = suffix.lstrip(" ")
        start = end
        while start < len(self.folded) and self.folded[start] == " ":
            start += 1
        return self.folded.startswith(want, start)

    def resolve(self, selector: Selector) -> tuple[int, int]:
        """Return ``(char_start, char_end)`` of the one place the selector matches.

        Raises:
            SelectorError: the quote is empty, found nowhere, or found more than once and not
                told apart by prefix/suffix (or told apart from none).
        """
        exact = fold(selector.exact)
        if not exact.strip(" "):
            raise SelectorError("the quote is empty", "give the exact text of the evidence")
        starts = self._occurrences(exact)
        if not starts:
            raise SelectorError(
                f"not found in the text: {_q(selector.exact)}",
                "copy the exact characters from the .txt; nearest: " + self._nearest_hint(exact),
            )
        prefix = fold(selector.prefix) if selector.prefix else ""
        suffix = fold(selector.suffix) if selector.suffix else ""
        kept = [
            s
            for s in starts
            if (not prefix or self._has_prefix(s, prefix))
            and (not suffix or self._has_suffix(s + len(exact), suffix))
        ]
        if len(kept) == 1:
            s = kept[0]
            return self.original(s), self.original(s + len(exact))
        where = ", ".join(self._excerpt(s, s + len(exact)) for s in starts[:5])
        if not kept:
            told = " and ".join(n for n, v in (("prefix", prefix), ("suffix", suffix)) if v)
            raise SelectorError(
                f"{_q(selector.exact)} is in the text but its {told} matches none of "
                f"its {len(starts)} occurrence(s)",
                f"copy the text right before/after it from the .txt; occurrences: {where}",
            )
        raise SelectorError(
            f"{_q(selector.exact)} occurs {len(kept)} times",
            f"add a prefix or suffix (the text right before/after it) to pick one; "
            f"occurrences: {where}",
        )

    def _excerpt(self, fstart: int, fend: int) -> str:
        start, end = self.original(fstart), self.original(fend)
        line_start = self.text.rfind("\n", 0, start) + 1
        context_start = max(line_start, start - 20)
        if context_start > line_start and not self.text[context_start - 1].isspace():
            space = self.text.find(" ", context_start, start)
            context_start = space + 1 if space >= 0 else context_start
        snippet = self.text[context_start:end]
        snippet = " ".join(snippet.split())
        if len(snippet) > _EXCERPT:
            snippet = snippet[: _EXCERPT - 1] + "…"
        lead = "…" if context_start > line_start else ""
        return f"line {self.line_of(start)} {_q(lead + snippet)}"

    def _nearest_hint(self, exact: str) -> str:
        candidates = self.nearest(exact)
        if not candidates:
            return "(the text is empty)"
        return ", ".join(
            f"line {self.line_of(self.original(s))} {_q(self._clip(s, e))}" for s, e in candidates
        )

    def _clip(self, fstart: int, fend: int) -> str:
        snippet = self.text[self.original(fstart) : self.original(fend)]
        snippet = " ".join(snippet.split())
        return snippet if len(snippet) <= _EXCERPT else snippet[: _EXCERPT - 1] + "…"

    def nearest(self, exact: str, n: int = _CANDIDATES) -> list[tuple[int, int]]:
        """Return up to ``n`` non-overlapping folded spans of the text most like ``exact``.

        Windows of ``exact``'s length start at each word of the text and end at a word
        boundary; they are ranked by difflib's similarity ratio. Only used to explain errors.
        """
        folded = self.folded
        if not folded:
            return []
        width = len(exact)
        starts = [0] + [m.end() for m in re.finditer(r"[\s\"'(\[-]+", folded)]
        windows: list[tuple[float, int, int]] = []
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(exact)
        for s in sorted(set(starts)):
            if s >= len(folded):
                continue
            e = min(len(folded), s + width)
            while e < len(folded) and folded[e - 1].isalnum() and folded[e].isalnum():
                e += 1
            matcher.set_seq1(folded[s:e])
            if matcher.real_quick_ratio() < 0.2:
                continue
            windows.append((matcher.ratio(), s, e))
        windows.sort(key=lambda w: (-w[0], w[1]))
        picked: list[tuple[int, int]] = []
        for _, s, e in windows:
            if all(e <= ps or s >= pe for ps, pe in picked):
                picked.append((s, e))
            if len(picked) == n:
                break
        return picked


def _q(s: str) -> str:
    """Quote a passage for a one-line message."""
    s = " ".join(s.split())
    return '"' + s.replace('"', '\\"') + '"'


def resolve(text: str, selector: Selector) -> tuple[int, int]:
    """Resolve one selector against ``text`` (folds the text; prefer :class:`FoldedText`)."""
    return FoldedText(text).resolve(selector)
