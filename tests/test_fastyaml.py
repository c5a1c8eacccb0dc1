"""fastyaml: the line parser gives exactly the libyaml path's data, or declines.

Differential: whenever :func:`factpack.pipeline.fastyaml.parse` accepts a text, its data must equal
(with the same Python types and key order) what :func:`factpack.pipeline.yamlload.load_composed`
builds. The canonical shapes (the seed, generated articles, ``factpack new`` output, the test
fixtures' seeds) must be accepted, so the fast path cannot silently stop working.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factpack.pipeline import yamlload
from factpack.pipeline.fastyaml import parse
from factpack.pipeline.scaffold import annotation_skeleton
from factpack.pipeline.yamlload import load_composed, load_yaml

ROOT = Path(__file__).resolve().parents[1]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_generate_fy", ROOT / "bench" / "generate.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate_fy"] = module
    spec.loader.exec_module(module)
    return module


def _slow(text: str) -> Any:
    loaded = load_composed(text)
    return None if loaded.errors else loaded.data


def _agrees(text: str) -> bool:
    """Assert fast == slow when fast accepts; return whether it accepted."""
    fast = parse(text)
    if fast is None:
        return False
    slow = load_composed(text)
    assert not slow.errors, (text, slow.errors)
    # repr tells True from 1 from 1.0 and str from numbers, and shows the key order.
    assert repr(fast) == repr(slow.data), text
    return True


# --- the canonical shapes are accepted -----------------------------------------------------


def test_seed_is_accepted() -> None:
    for path in sorted((ROOT / "seeds").glob("*.yaml")):
        assert _agrees(path.read_text(encoding="utf-8")), path


def test_build_fixture_seeds_are_accepted() -> None:
    for path in sorted((ROOT / "tests" / "fixtures" / "build" / "seeds").glob("*.yaml")):
        assert _agrees(path.read_text(encoding="utf-8")), path


def test_every_fixture_agrees_or_declines() -> None:
    paths = sorted((ROOT / "tests" / "fixtures").rglob("*.yaml"))
    assert paths
    for path in paths:
        _agrees(path.read_bytes().decode("utf-8", errors="replace"))


def test_generated_articles_are_accepted(tmp_path: Path) -> None:
    gen = _load_generator()
    gen.generate(300, tmp_path, jobs=1)
    paths = sorted(tmp_path.glob("*.yaml"))
    assert len(paths) == 300
    for path in paths:
        assert _agrees(path.read_text(encoding="utf-8")), path


@pytest.mark.parametrize("title", ["Drone hits depot: 3 hurt", ""])
def test_scaffold_is_accepted(title: str) -> None:
    raw = f"{title}\n\nBody.\n".encode()
    text = annotation_skeleton(raw.decode(), raw)
    assert _agrees(text)
    data = parse(text)
    assert data is not None
    assert data["article"]["furniture"] == []
    assert data["sources"] == []


# --- load_yaml uses the fast path and composes lazily --------------------------------------


def test_load_yaml_does_not_compose_until_where(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a: 1\nb:\n  - c: x\n    d: 'y'\n"
    calls: list[str] = []
    compose = yaml.compose

    def counting(stream: str, Loader: Any) -> Any:
        calls.append(stream)
        return compose(stream, Loader=Loader)

    monkeypatch.setattr(yamlload.yaml, "compose", counting)
    loaded = load_yaml(text)
    assert loaded.data == {"a": 1, "b": [{"c": "x", "d": "y"}]}
    assert calls == [] and loaded.root is None
    assert loaded.where(("b", 0, "d")) == (4, 8)
    assert loaded.where(("b", 0, "d"), key=True) == (4, 5)
    assert loaded.where(("b", 5)) == (3, 3)
    assert calls == [text]
    loaded.where(("a",))
    assert len(calls) == 1


def test_positions_are_those_of_the_composed_path() -> None:
    text = (ROOT / "seeds" / "000_a4c96cb10ee97359.yaml").read_text(encoding="utf-8")
    fast, slow = load_yaml(text), load_composed(text)
    assert fast.root is None and slow.root is not None
    paths: list[tuple[str | int, ...]] = [(), ("article", "title"), ("sources", 2, "quote")]
    paths += [("claims", 1, "quote", "exact"), ("events", 0, "nope"), ("sources", 99)]
    for path in paths:
        assert fast.where(path) == slow.where(path)
        assert fast.where(path, key=True) == slow.where(path, key=True)


def test_errors_still_come_from_libyaml() -> None:
    loaded = load_yaml("a: 1\na: 2\n")
    assert [e.code for e in loaded.errors] == ["duplicate-key"]
    assert loaded.data == {"a": 1}
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    assert parse(bomb) is None


# --- hand-written edge cases ----------------------------------------------------------------

ACCEPTED = {
    "k: no\n": {"k": "no"},
    "k: yes\n": {"k": "yes"},
    "k: 0o17\n": {"k": 15},
    "k: 0x1F\n": {"k": 31},
    "k: 1e3\n": {"k": 1000.0},
    "k: .5\n": {"k": 0.5},
    "k: -.inf\n": {"k": float("-inf")},
    "k: +12\n": {"k": 12},
    "k: 2023-05-04\n": {"k": "2023-05-04"},
    "k: True\n": {"k": True},
    "k: ~\n": {"k": None},
    "k:\n": {"k": None},
    "k:   # nothing\n": {"k": None},
    'k: "a # b"\n': {"k": "a # b"},
    "k: a #b\n": {"k": "a"},
    "k: a#b\n": {"k": "a#b"},
    "k: 'it''s'\n": {"k": "it's"},
    "k: ''\n": {"k": ""},
    'k: ""\n': {"k": ""},
    'k: "1"\n': {"k": "1"},
    'k: "tab\\there \\"q\\" \\u00e9 \\/ \\\\"\n': {"k": 'tab\there "q" é / \\'},
    "k: value   \n": {"k": "value"},
    'k: "v"   \n': {"k": "v"},
    "k: a:b\n": {"k": "a:b"},
    "k: 21:30\n": {"k": "21:30"},
    "k: -5\n": {"k": -5},
    "k: -x\n": {"k": "-x"},
    "1: a\nnull: b\ntrue: c\n1.5: d\n": {"1": "a", "null": "b", "true": "c", "1.5": "d"},
    "\"quoted key\": 1\n'single': 2\n": {"quoted key": 1, "single": 2},
    "k: {exact: \"x\", suffix: ' y', n: 3, z: null}\n": {
        "k": {"exact": "x", "suffix": " y", "n": 3, "z": None}
    },
    "k: {a: 21:30, b: x y}  # c\n": {"k": {"a": "21:30", "b": "x y"}},
    "k: [a, 'b', \"c\", 1, 1.5, true, null]\n": {"k": ["a", "b", "c", 1, 1.5, True, None]},
    "k: []\nj: {}\n": {"k": [], "j": {}},
    "k: [a:b, -1, -x, ' a ' , b c]\n": {"k": ["a:b", -1, "-x", " a ", "b c"]},
    'k: {"a": http://x/y, b: 1:2}\n': {"k": {"a": "http://x/y", "b": "1:2"}},
    "a,b: 1\nc[d]: {e: f}\né ü: 2\na 'b\" c: 3\n": {
        "a,b": 1,
        "c[d]": {"e": "f"},
        "é ü": 2,
        "a 'b\" c": 3,
    },
    "k: >-\n  a\n  b\n\n  c\n": {"k": "a b\nc"},
    "k: >-\n  a\n\n\n  b\n": {"k": "a\n\nb"},
    "k: >\n  a\n    more\n  b\n": {"k": "a\n  more\nb\n"},
    "k: >-\n  a\n\n    more\n\n  b\n": {"k": "a\n\n  more\n\nb"},
    "k: >-\n\n  a\n": {"k": "\na"},
    "k: >-\nj: 1\n": {"k": "", "j": 1},
    "k: >\nj: 1\n": {"k": "", "j": 1},
    "k: |\n  a\n   b\n\n  c\n\n\nj: 1\n": {"k": "a\n b\n\nc\n", "j": 1},
    "k: |-\n  a\n  # not a comment\n": {"k": "a\n# not a comment"},
    "k: |  # comment\n  a\n# comment\nj: 2\n": {"k": "a\n", "j": 2},
    "k: >-\n    deep\n    lines\n": {"k": "deep lines"},
    "k: >-\n  trailing  \n  spaces \n": {"k": "trailing   spaces "},
    "a:\n- 1\n- x\nb:\n  - c: 1\n    d:\n    - 2\n": {"a": [1, "x"], "b": [{"c": 1, "d": [2]}]},
    "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n": {"a": {"b": {"c": 1}, "d": 2}, "e": 3},
    "a:\n  - x: 1\n\n    # comment\n    y: 2\n  -   z: 3\n      w: 4\n": {
        "a": [{"x": 1, "y": 2}, {"z": 3, "w": 4}]
    },
    "# yaml-language-server: $schema=x.json\n# c\n\na: 1\n  # indented comment\nb: 2\n": {
        "a": 1,
        "b": 2,
    },
    "a: ---\nb: ...\n": {"a": "---", "b": "..."},
    "k: x]\n": {"k": "x]"},
}


@pytest.mark.parametrize("text", list(ACCEPTED))
def test_edge_cases_accepted_and_equal(text: str) -> None:
    assert _agrees(text)
    assert repr(parse(text)) == repr(ACCEPTED[text])


DECLINED = [
    "",
    "# only a comment\n",
    "~\n",
    "- a\n- b\n",
    "just text\n",
    "k: value: x\n",
    "k: a:\n",
    "k: &a x\nj: *a\n",
    "k: !!str x\n",
    "k: !x y\n",
    "---\nk: 1\n",
    "k: 1\n...\n",
    "%YAML 1.2\n---\nk: 1\n",
    "? k\n: v\n",
    "k: 1\nk: 2\n",
    "a:\n  k: 1\n  k: 2\n",
    "k: {a: 1, a: 2}\n",
    "k: multi\n  line\n",
    "k: 'multi\n  line'\n",
    'k: "multi\n  line"\n',
    "k: [a,\n  b]\n",
    "'multi\n  line': 1\n",
    '"multi\n  line": 1\n',
    'k:\n- "multi\n  line"\n',
    "k: {a: 'multi\n  line'}\n",
    "k: {a: [1]}\n",
    "k: [a, {b: c}]\n",
    "k: {a: 1}#c\n",
    "k: {a: b}x\n",
    "k: {a: b, }\n",
    "k: {a,b: c}\n",
    "k: {a}\n",
    "k: [x:, y]\n",
    "k: >2\n   a\n",
    "k: |+\n  a\n\n",
    "k: >+\n  a\n",
    "\ta: 1\n",
    "a:\n\tb: 1\n",
    "k: a\tb\n",
    "\ufeffk: 1\n",
    "k: a\x07\n",
    "k: 1\r\nj: 2\r\n",
    'k: "\\x41"\n',
    'k: "\\e"\n',
    'k: "\\ud83d\\ude80"\n',
    "k: @x\n",
    "k: `x`\n",
    "k: %x\n",
    "k: - a\n",
    "- - a\n",
    "a:\n  - - b\n",
    "a: 1\n b: 2\n",
    "a:\n    b: 1\n  c: 2\n",
    "k: |\n  a\n    \n  b\n",
    "k: |\n      \n  a\n",
    "k: |\n  a",
    '"": 1\n',
    "a:b: c\n",
]


@pytest.mark.parametrize("text", DECLINED)
def test_edge_cases_declined(text: str) -> None:
    assert parse(text) is None


def test_deep_nesting_declined() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(45)) + "  " * 45 + "v: 1\n"
    assert parse(text) is None
    shallow = "".join("  " * i + f"k{i}:\n" for i in range(10)) + "  " * 10 + "v: 1\n"
    assert _agrees(shallow)


def test_long_key_declined() -> None:
    assert parse("k" * 1100 + ": 1\n") is None
    assert parse('"' + "k" * 1100 + '": 1\n') is None
    assert parse("'" + "k" * 1100 + "': 1\n") is None
    assert parse("- " + "k" * 1100 + ": 1\n") is None
    assert _agrees("k" * 900 + ": 1\n")


# --- generated documents ---------------------------------------------------------------------

_WORDS = [
    "a",
    "b c",
    "no",
    "yes",
    "null",
    "Null",
    "~",
    "true",
    "False",
    "0",
    "-1",
    "+2",
    "0o17",
    "0x1f",
    "1e3",
    ".5",
    "1.",
    "-.inf",
    ".NaN",
    "2023-05-04",
    "12:30",
    "a # b",
    "a#b",
    "it's",
    'say "hi"',
    "x: y",
    "- x",
    "[x]",
    "{x}",
    "&a",
    "*a",
    "!t",
    "%x",
    "@x",
    "`x`",
    "?x",
    ":x",
    "#x",
    "|",
    ">",
    "é ‘q’ 𝕏",
    " lead",
    "trail ",
    "",
    "back\\slash",
    "tab\there",
    "line\nbreak",
    "two\n\nbreaks",
    "\n",
    "x\n",
    "  indented\nline",
]
_CHARS = st.characters(codec="utf-8")
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False),
    st.sampled_from(_WORDS),
    st.text(_CHARS, max_size=12),
)
_keys = st.one_of(
    st.sampled_from(["k", "key_1", "null", "1", "yes", "a b", "$schema", "a.b", "x-y"]),
    st.text(_CHARS, min_size=1, max_size=6),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=12,
)
_documents = st.dictionaries(_keys, _values, min_size=1, max_size=5)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=_documents,
    style=st.sampled_from([None, None, '"', "'", "|", ">"]),
    width=st.sampled_from([80, 20, 10**9]),
    flow=st.sampled_from([False, None]),
    unicode=st.booleans(),
    indent=st.sampled_from([2, 4]),
)
def test_dumped_documents_agree(
    doc: dict[str, Any],
    style: str | None,
    width: int,
    flow: bool | None,
    unicode: bool,
    indent: int,
) -> None:
    text = yaml.safe_dump(
        doc,
        default_style=style,
        width=width,
        default_flow_style=flow,
        allow_unicode=unicode,
        sort_keys=False,
        indent=indent,
    )
    _agrees(text)


def test_dumped_plain_documents_are_accepted() -> None:
    doc = {
        "format": "x/1",
        "article": {"title": "A title", "n": 3, "ok": True, "url": None, "tags": ["a", "b"]},
        "sources": [{"source_id": "S1", "quote": {"exact": "x"}}, {"source_id": "S2"}],
    }
    for indent in (2, 4):
        assert _agrees(yaml.safe_dump(doc, sort_keys=False, indent=indent))
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=10**9)
    assert "{exact: x}" in text
    assert _agrees(text)


_BLOCK_LINES = ["a", "b c", " more", "  deeper", "#x", "x: y", "- z", "", "", " ", "end  "]


@settings(max_examples=800, deadline=None)
@given(
    header=st.sampled_from(["|", "|-", ">", ">-", ">  # c", "|-  # c"]),
    lines=st.lists(st.sampled_from(_BLOCK_LINES), max_size=8),
    indent=st.integers(min_value=1, max_value=4),
    nested=st.sampled_from(["", "  ", "  - "]),
    after=st.sampled_from(["", "next: 1\n", "# comment\nnext: 1\n", "\n\nnext: 2\n"]),
)
def test_block_scalars_agree(
    header: str, lines: list[str], indent: int, nested: str, after: str
) -> None:
    if nested == "  ":
        head, base = "outer:\n  key: ", 2
    elif nested:
        head, base = "outer:\n  - key: ", 4
    else:
        head, base = "key: ", 0
    pad = " " * (base + indent)
    body = "".join((pad + line if line.strip() else line) + "\n" for line in lines)
    _agrees(head + header + "\n" + body + after)


_LINE_PIECES = [
    "k: v",
    "k2: 1",
    "k3: 'q'",
    'k4: "d"',
    "k5:",
    "- a",
    "- k: v",
    "- k2: 2",
    "-   k3: x",
    "- {a: b}",
    "- [1, 2]",
    "k6: [x, y]",
    "k7: {p: q}",
    "# c",
    "",
    "   ",
    "k8: >-",
    "k9: |",
    "text line",
    "k10: a: b",
    "k11: x #c",
    "k12: no",
    "k13: 0o17",
    "k14: 'a''b'",
    "k15: 1e3",
    "- ",
    "-",
    "k16: &a x",
    "k17: *a",
    '"k18": "v"',
    "k19: ~",
    "a,b: 1",
    "k20: {a,b: c}",
    "é ü: 1",
    "a 'b: x",
    "x[y]: {z: 1:2}",
    "k21: [a:b, c]",
]


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0, 0, 0, 1, 2, 2, 4, 6]), st.sampled_from(_LINE_PIECES)),
        min_size=1,
        max_size=10,
    ),
    st.booleans(),
)
def test_random_line_soups_agree(pieces: list[tuple[int, str]], final_newline: bool) -> None:
    text = "\n".join(" " * n + piece for n, piece in pieces) + ("\n" if final_newline else "")
    _agrees(text)


def test_random_line_soups_sometimes_accepted() -> None:
    """The soup generator above reaches the accepting paths (it is not all declines)."""
    rng = random.Random(5)
    accepted = 0
    for _ in range(3000):
        lines = [" " * rng.choice([0, 0, 0, 2]) + rng.choice(_LINE_PIECES) for _ in range(4)]
        accepted += _agrees("\n".join(lines) + "\n")
    assert accepted > 50
