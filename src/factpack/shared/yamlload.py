"""Load YAML into plain data while remembering where every value and key stands.

PyYAML's constructors lose positions, keep the last of duplicate keys silently and turn
``2023-05-04`` into a date. Here the node tree is composed with libyaml
(``yaml.compose(..., Loader=yaml.CSafeLoader)``) and plain data is built from the nodes:
mappings become dicts, sequences lists; a plain scalar becomes null, a bool, an int or a float
by the YAML 1.2 core schema rules and a string otherwise (so dates stay strings, and YAML 1.1
words like ``yes``/``no`` stay strings too); quoted scalars are always strings, and so is a
scalar tagged ``!!str``; every other tag is refused (data is read by how it is written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]
"""A path into the document: mapping keys and sequence indexes."""

_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_IMPLICIT = "no tag written"
"""The tag of a scalar written without one (no YAML tag contains a space, so none can be
written as this); :func:`scalar_value` reads such a scalar by the core schema rules."""
_KIND_TAGS = {
    yaml.ScalarNode: _IMPLICIT,
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
    yaml.MappingNode: "tag:yaml.org,2002:map",
}


class _Loader(_BASE):  # type: ignore[valid-type,misc]
    """libyaml's composer without PyYAML's per-scalar tag resolution (done in scalar_value)."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        return _KIND_TAGS[kind]


_LOADER = _Loader

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")

_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_SCALAR = yaml.ScalarNode
_SEQ = yaml.SequenceNode
_MAP = yaml.MappingNode
_NOT_TEXT_START = frozenset("~nNtTfF0123456789+-.")
"""First characters of every plain scalar that is not a string (null, bool, int, float)."""


@dataclass(frozen=True)
class YamlError:
    """One problem of the YAML itself, at a 1-based line and column, with its rule code."""

    line: int
    col: int
    message: str
    hint: str
    code: str


@dataclass
class Loaded:
    """Plain data, with the composed node tree kept to say where each value stands.

    Positions are computed only when asked (:meth:`where`, when a problem is reported), by
    following a path of the data through the node tree.

    Attributes:
        data: The document as dicts, lists, str, int, float, bool and None.
        root: The composed node tree (None for an empty document or after a syntax error).
        errors: What could not be loaded (syntax errors, duplicate keys, unsupported tags,
            alias bombs, too deep nesting); ``data`` is None after a syntax error or a refused
            alias expansion.
    """

    data: Any = None
    root: yaml.Node | None = None
    errors: list[YamlError] = field(default_factory=list)

    def where(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Return the 1-based position of ``path`` (of its key when ``key``).

        A path that goes further than the data (a missing key, an index past the end) gives
        the position of its nearest existing ancestor; the empty path the document's start.
        """
        node = self.root
        if node is None:
            return 1, 1
        last = len(path) - 1
        for i, part in enumerate(path):
            key_node, child = _child_at(node, part)
            if child is None:
                break
            if key and i == last and key_node is not None:
                return _pos(key_node)
            node = child
        return _pos(node)


def _child_at(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    """Return the key node and value node that the data's ``part`` of ``node`` came from.

    For a mapping, the first entry whose key is the plain text ``part`` (the data keeps the
    first of duplicate keys); for a sequence, item ``part``.
    """
    if node.__class__ is _MAP and isinstance(part, str):
        for key_node, value_node in node.value:
            if key_node.__class__ is _SCALAR and key_node.value == part:
                return key_node, value_node
    elif node.__class__ is _SEQ and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None, None


def scalar_value(value: str, style: str | None) -> Any:
    """Return the plain value of a scalar by the YAML 1.2 core schema rules.

    Quoted and block scalars (any ``style``) are strings; plain ones are resolved here, not by
    PyYAML's YAML 1.1 resolver (which reads ``yes`` as true and ``2023-05-04`` as a date).
    """
    if style or (value and value[0] not in _NOT_TEXT_START):
        return value
    if _NULL.match(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT10.match(value):
        return int(value)
    if _INT8.match(value):
        return int(value[2:], 8)
    if _INT16.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value):
        return float(value)
    if _INF.match(value):
        return float("-inf") if value.startswith("-") else float("inf")
    if _NAN.match(value):
        return float("nan")
    return value


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


_RECURSIVE = "recursive YAML alias (a value that contains itself)"

MAX_DEPTH = 40
"""Deepest nesting of mappings and sequences accepted (an annotation needs about 5)."""

MAX_EXPANSION = 10
"""Aliases may make the document at most this many times bigger than it is written
(plus :data:`EXPANSION_SLACK` values); a "billion laughs" document is refused before it is
expanded."""

EXPANSION_SLACK = 10_000

_SYNTAX_HINTS = (
    ("cannot start any token", "\t", "YAML indents with spaces: replace the tab with spaces"),
    ("tab character", "", "YAML indents with spaces: replace the tab with spaces"),
    ("found unexpected end of stream", "", "close the quote that starts here"),
    ("expected a single document", "", "one annotation per file: remove the second '---'"),
    ("found undefined alias", "", "define the &anchor before the *alias, or write the value out"),
    (
        "did not find expected key",
        "",
        "check the indentation and the quotes on this line and the lines above",
    ),
    (
        "mapping values are not allowed",
        "",
        "check the indentation, or put a value that contains ': ' in quotes",
    ),
)


def _syntax_hint(problem: str, char: str) -> str:
    for needle, at, hint in _SYNTAX_HINTS:
        if needle in problem and (not at or char == at):
            return hint
    return "fix the YAML syntax here"


def load_yaml(text: str) -> Loaded:
    """Compose ``text`` with libyaml and build plain data with the position of every value.

    Every problem (syntax, duplicate keys, tags, aliases, depth) is collected in ``errors``
    with its line and column. Nothing is expanded before :func:`measure` has checked the
    composed graph: a document whose aliases would expand it more than
    :data:`MAX_EXPANSION`-fold, or nested deeper than :data:`MAX_DEPTH`, is refused
    (``errors``, ``data`` None) in time linear in its size.
    A text without both ``&`` and ``*`` has no anchor or no alias, so every node occurs once
    in the graph and there is nothing to measure: the build is the only walk.
    """
    out = Loaded()
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(x for x in (e.context, e.problem) if x) or "invalid YAML"
        char = text[mark.index] if mark and 0 <= mark.index < len(text) else ""
        out.errors.append(
            YamlError(
                line,
                col,
                f"YAML syntax error: {what}",
                _syntax_hint(what, char),
                code="yaml-syntax",
            )
        )
        return out
    except yaml.reader.ReaderError as e:
        at = e.position
        line = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        out.errors.append(
            YamlError(
                line,
                col,
                f"annotation contains the control character U+{e.character:04X}",
                "remove it (YAML allows tabs, line ends and printable characters only)",
                code="control-character",
            )
        )
        return out
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else "invalid YAML"
        out.errors.append(
            YamlError(1, 1, f"YAML error: {first}", "fix the YAML", code="yaml-syntax")
        )
        return out
    if root is None:
        return out
    out.root = root
    if "&" not in text or "*" not in text:
        out.data = _build(root, 0, out, None)
        return out
    distinct, expanded, reused = measure(root)
    if expanded > MAX_EXPANSION * distinct + EXPANSION_SLACK:
        line, col = _pos(reused) if reused is not None else (1, 1)
        out.errors.append(
            YamlError(
                line,
                col,
                f"YAML aliases would expand this document to {expanded} values "
                f"(it is written with {distinct})",
                "write the values out instead of repeating them with &anchors and *aliases",
                code="yaml-alias",
            )
        )
        return out
    data = _build(root, 0, out, set())
    # A recursive alias is an attack shape, not a typo: refuse the document, not one value.
    out.data = None if any(e.message == _RECURSIVE for e in out.errors) else data
    return out


def measure(root: yaml.Node) -> tuple[int, int, yaml.Node | None]:
    """Return the composed node count, the count after alias expansion, and a reused node.

    Iterative and memoised (linear in the composed graph, never recursing); a recursive alias
    counts once here and is reported by the build.
    """
    size: dict[int, int] = {}
    reused: yaml.Node | None = None
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size.get(id(c), 1) for c in children)
            continue
        if key in size or key in active:
            if reused is None:
                reused = node
            continue
        if isinstance(node, yaml.ScalarNode):
            size[key] = 1
            continue
        active.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in size or id(child) in active:
                if reused is None:
                    reused = child
            else:
                stack.append((child, False))
    return len(size), size.get(id(root), 1), reused


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _error(node: yaml.Node, out: Loaded, message: str, hint: str, *, code: str) -> None:
    line, col = _pos(node)
    out.errors.append(YamlError(line, col, message, hint, code=code))


def _build(node: yaml.Node, depth: int, out: Loaded, active: set[int] | None) -> Any:
    """Build the plain data of ``node``, nested ``depth`` levels deep, reporting into ``out``.

    ``active`` holds the collections being built (to refuse a recursive alias); None when the
    document has no aliases.
    """
    cls = node.__class__
    if isinstance(node, _SCALAR):
        if node.tag == _IMPLICIT:
            return scalar_value(node.value, node.style)
        if node.tag == _STR_TAG:  # an explicit !!str: the text as written, never a number
            return node.value
        _error(
            node,
            out,
            f"unsupported YAML tag {node.tag}",
            "remove the tag (a value is read by how it is written; quote it to make it text)",
            code="yaml-tag",
        )
        return None
    if node.tag != (_SEQ_TAG if cls is _SEQ else _MAP_TAG):
        _error(node, out, f"unsupported YAML tag {node.tag}", "remove the tag", code="yaml-tag")
        return None
    if active is not None and id(node) in active:
        _error(node, out, _RECURSIVE, "remove the alias", code="yaml-alias")
        return None
    if depth >= MAX_DEPTH:
        _error(
            node,
            out,
            f"nested more than {MAX_DEPTH} levels deep",
            "an annotation is a few levels deep: flatten this value",
            code="yaml-depth",
        )
        return None
    if active is not None:
        active.add(id(node))
    depth += 1
    result: Any
    if cls is _SEQ:
        result = [
            scalar_value(item.value, item.style)
            if item.__class__ is _SCALAR and item.tag == _IMPLICIT
            else _build(item, depth, out, active)
            for item in node.value
        ]
    else:
        result = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not _SCALAR:
                _error(
                    key_node,
                    out,
                    "a mapping key must be a plain name",
                    "write the key as text",
                    code="yaml-key",
                )
                continue
            key = key_node.value
            if key in result:
                first = next(k for k, _ in node.value if k.__class__ is _SCALAR and k.value == key)
                _error(
                    key_node,
                    out,
                    f"duplicate key '{key}' (first at line {_pos(first)[0]})",
                    "keep one of them: YAML would silently keep only the last",
                    code="duplicate-key",
                )
                continue
            if value_node.__class__ is _SCALAR and value_node.tag == _IMPLICIT:
                result[key] = scalar_value(value_node.value, value_node.style)
            else:
                result[key] = _build(value_node, depth, out, active)
    if active is not None:
        active.discard(id(node))
    return result
