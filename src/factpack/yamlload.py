"""Load YAML into plain data while remembering where every value and key stands.

PyYAML's constructors lose positions, keep the last of duplicate keys silently and turn
``2023-05-04`` into a date. Here the node tree is composed with libyaml
(``yaml.compose(..., Loader=yaml.CSafeLoader)``) and plain data is built from the nodes:
mappings become dicts, sequences lists; a plain scalar becomes null, a bool, an int or a float
by the YAML 1.2 core schema rules and a string otherwise (so dates stay strings, and YAML 1.1
words like ``yes``/``no`` stay strings too); quoted scalars are always strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]
"""A path into the document: mapping keys and sequence indexes."""

_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KIND_TAGS = {
    yaml.ScalarNode: "tag:yaml.org,2002:str",
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
_PLAIN_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
    _STR_TAG,
}


@dataclass
class Loaded:
    """Plain data with positions.

    Attributes:
        data: The document as dicts, lists, str, int, float, bool and None.
        positions: Path of each value to its 1-based ``(line, col)``.
        key_positions: Path of each mapping entry to the 1-based ``(line, col)`` of its key.
        errors: ``(line, col, message, hint)`` for what could not be loaded (syntax errors,
            duplicate keys, unsupported tags); ``data`` is None after a syntax error.
    """

    data: Any = None
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    errors: list[tuple[int, int, str, str]] = field(default_factory=list)

    def where(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Return the position of ``path`` (its key when ``key``), or of its nearest ancestor."""
        if key and path in self.key_positions:
            return self.key_positions[path]
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), (1, 1))


def scalar_value(value: str, style: str | None) -> Any:
    """Return the plain value of a scalar by the YAML 1.2 core schema rules.

    Quoted and block scalars (any ``style``) are strings; plain ones are resolved here, not by
    PyYAML's YAML 1.1 resolver (which reads ``yes`` as true and ``2023-05-04`` as a date).
    """
    if style:
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


def load_yaml(text: str) -> Loaded:
    """Compose ``text`` and build plain data with the position of every key and value."""
    out = Loaded()
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(x for x in (e.context, e.problem) if x) or "invalid YAML"
        out.errors.append((line, col, f"YAML syntax error: {what}", "fix the YAML syntax here"))
        return out
    except yaml.YAMLError as e:
        out.errors.append((1, 1, f"YAML error: {e}", "fix the YAML"))
        return out
    if root is None:
        return out
    out.data = _build(root, (), out, set())
    return out


def _build(node: yaml.Node, path: Path_, out: Loaded, active: set[int]) -> Any:
    out.positions[path] = _pos(node)
    if isinstance(node, yaml.ScalarNode):
        if node.tag not in _PLAIN_TAGS:
            line, col = _pos(node)
            out.errors.append((line, col, f"unsupported YAML tag {node.tag}", "remove the tag"))
        return scalar_value(node.value, node.style)
    if id(node) in active:
        line, col = _pos(node)
        out.errors.append((line, col, "recursive YAML alias", "remove the alias"))
        return None
    active = active | {id(node)}
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), out, active) for i, item in enumerate(node.value)]
    result: dict[str, Any] = {}
    assert isinstance(node, yaml.MappingNode)
    for key_node, value_node in node.value:
        kline, kcol = _pos(key_node)
        if not isinstance(key_node, yaml.ScalarNode):
            out.errors.append(
                (kline, kcol, "a mapping key must be a plain name", "write the key as text")
            )
            continue
        key = key_node.value
        kpath = (*path, key)
        if key in result:
            first = out.key_positions[kpath]
            out.errors.append(
                (
                    kline,
                    kcol,
                    f"duplicate key '{key}' (first at line {first[0]})",
                    "keep one of them: YAML would silently keep only the last",
                )
            )
            continue
        out.key_positions[kpath] = (kline, kcol)
        result[key] = _build(value_node, kpath, out, active)
    return result
