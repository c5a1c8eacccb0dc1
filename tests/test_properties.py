"""Property-based tests (hypothesis) of the annotation checker.

Generated annotation documents, valid and mutated, never make the checker raise anything: every
outcome is an article or a list of one-line problems with a rule code. Valid documents always
build: their rows pass the table checks (pandera) and the cross-table checks (DuckDB).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factpack.pipeline.annotations import _schema_parts, fast_validator, load_article
from factpack.pipeline.checks import cross_checks, validate_tables
from factpack.pipeline.tables import article_rows, assemble
from factpack.shared.schema import load_schema
from factpack.shared.yamlload import load_yaml

SCHEMA = load_schema()
VOCAB = {name: list(v.values) for name, v in SCHEMA.vocabularies.items()}
PARENT = {k: str(v.get("parent")) for k, v in SCHEMA.vocabularies["sub_event_type"].values.items()}
ZONES = ["Europe/Kyiv", "Europe/Moscow", "America/New_York", "UTC", "Asia/Tokyo"]
PROFILE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Words of the generated text: letters of several scripts, curly quotes, but no characters
# the text forbids (CR, NUL) and nothing that could make two quotes equal.
WORD = st.text(
    alphabet=st.sampled_from(list(string.ascii_letters + "éüøłжыйΩ’“”")), min_size=1, max_size=8
)
NAME = st.text(
    alphabet=st.sampled_from(list(string.ascii_letters + " éжΩ'-:#&*!%@`|>")),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s and s.strip() != "")
DATE = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2023, 5, 4))


@st.composite
def article_pair(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """Draw a valid annotation and its text: every quote occurs exactly once."""
    n_sources = draw(st.integers(1, 4))
    n_events = draw(st.integers(0, 3))
    n_claims = draw(st.integers(0, 5))
    lines = ["Headline " + " ".join(draw(st.lists(WORD, min_size=1, max_size=4)))]

    def quote(tag: str) -> dict[str, str]:
        # A unique marker word per item keeps every quote unambiguous.
        words = draw(st.lists(WORD, min_size=0, max_size=5))
        exact = " ".join([f"Q{tag}q", *words])
        lines.append(exact + " " + " ".join(draw(st.lists(WORD, max_size=3))) + ".")
        return {"exact": exact}

    published = draw(DATE)
    sources = []
    for i in range(1, n_sources + 1):
        sources.append(
            {
                "source_id": f"S{i}",
                "name": draw(NAME),
                "source_kind": draw(st.sampled_from(VOCAB["source_kind"])),
                "role": draw(st.none() | NAME),
                "affiliation": None,
                "country": draw(st.sampled_from(["UA", "RU", "US", None])),
                "is_named": draw(st.booleans()),
                "wikidata_qid": draw(st.none() | st.integers(1, 10**6).map(lambda n: f"Q{n}")),
                "quote": quote(f"S{i}"),
            }
        )
    events = []
    for i in range(1, n_events + 1):
        sub = draw(st.sampled_from(sorted(PARENT)))
        start = draw(st.none() | st.dates(min_value=dt.date(1990, 1, 1), max_value=published))
        end = None if start is None else start + dt.timedelta(days=draw(st.integers(0, 3)))
        end = None if end is None else min(end, published)
        zone = draw(st.sampled_from(ZONES))
        events.append(
            {
                "event_id": f"E{i}",
                "event_type": PARENT[sub],
                "sub_event_type": sub,
                "summary": draw(NAME),
                "factuality": draw(st.sampled_from(VOCAB["factuality"])),
                "date_start": None if start is None else start.isoformat(),
                "date_end": None if end is None else end.isoformat(),
                "date_precision": "day" if start == end and start else "unknown",
                "date_basis": "stated" if start else "unknown",
                "date_note": None,
                "time_local": draw(st.none() | st.times().map(lambda t: t.strftime("%H:%M")))
                if start
                else None,
                "timezone": zone,
                "location_name": draw(st.none() | NAME),
                "country": None,
                "latitude": draw(st.none() | st.floats(-90, 90)),
                "longitude": draw(st.none() | st.floats(-180, 180)),
                "geo_precision": draw(st.sampled_from(VOCAB["geo_precision"])),
                "actor": None,
                "target": None,
                "quote": quote(f"E{i}"),
            }
        )
    claims = []
    for i in range(1, n_claims + 1):
        cue = draw(WORD)
        q = quote(f"C{i}")
        q["exact"] = q["exact"] + " " + cue
        lines[-1] = q["exact"] + "."
        answers = draw(st.none() | st.integers(1, i - 1)) if i > 1 else None
        claims.append(
            {
                "claim_id": f"C{i}",
                "source_id": f"S{draw(st.integers(1, n_sources))}",
                "event_id": f"E{draw(st.integers(1, n_events))}" if n_events else None,
                "claim_text": draw(NAME),
                "is_direct_quote": draw(st.booleans()),
                "cue": cue,
                "claim_kind": draw(st.sampled_from(VOCAB["claim_kind"])),
                "certainty": draw(st.sampled_from(VOCAB["certainty"])),
                "responds_to": None if answers is None else f"C{answers}",
                "relation": None if answers is None else draw(st.sampled_from(VOCAB["relation"])),
                "quote": q,
            }
        )
    text = "\n".join(lines) + "\n"
    doc = {
        "format": "factpack-annotation/1",
        "article": {
            "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "title": lines[0],
            "publisher": draw(st.none() | NAME),
            "url": None,
            "published_date": published.isoformat(),
            "published_date_basis": "stated",
            "published_date_note": None,
            "language": "en",
        },
        "sources": sources,
        "events": events,
        "claims": claims,
    }
    return doc, text


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def write(tmp: Path, stem: str, yaml_text: str | bytes, text: str | bytes) -> Path:
    path = tmp / f"{stem}.yaml"
    path.write_bytes(yaml_text.encode() if isinstance(yaml_text, str) else yaml_text)
    path.with_suffix(".txt").write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def assert_clean_outcome(article: Any, problems: list[Any]) -> None:
    assert (article is None) == bool(problems)
    for p in problems:
        line = p.format()
        assert "\n" not in line and p.code, line
        assert line.startswith(f"{p.path}:{p.line}:{p.col}: ")


_counter = iter(range(10**9))


def fresh(tmp_path_factory: Any) -> Path:
    return Path(tmp_path_factory.mktemp(f"p{next(_counter)}"))


@PROFILE
@given(pair=article_pair())
def test_valid_documents_always_build(
    pair: tuple[dict[str, Any], str], tmp_path_factory: Any
) -> None:
    doc, text = pair
    path = write(fresh(tmp_path_factory), "a1", dump(doc), text)
    article, problems = load_article(path)
    assert problems == [], [p.format() for p in problems]
    assert article is not None
    tables = assemble([article_rows(article, SCHEMA)], SCHEMA)
    failures = validate_tables(tables, SCHEMA) + cross_checks(tables, SCHEMA)
    assert failures == [], [f.format() for f in failures]
    assert tables["claims"].num_rows == len(doc["claims"])


# Mutations: each turns a valid document into a (probably) invalid one.
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str | bytes, str | bytes]:
    doc, text = draw(article_pair())
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        kind = draw(st.sampled_from(["replace", "delete", "rename", "swap-id"]))
        if kind == "replace":
            parent[path[-1]] = draw(JUNK)
        elif kind == "delete":
            del parent[path[-1]]
        elif kind == "rename" and isinstance(parent, dict):
            parent[str(path[-1]) + draw(st.sampled_from(["_", "s", "x"]))] = parent.pop(path[-1])
        elif kind == "swap-id" and isinstance(parent, dict):
            parent[path[-1]] = draw(st.sampled_from(["S1", "E1", "C1", "S99", "", "C1 "]))
        if not doc:
            break
    source = dump(doc)
    yaml_text: str | bytes = source
    text_out: str | bytes = text
    how = draw(st.sampled_from(["as-is", "truncate", "bytes", "text-bytes", "dup-key"]))
    if how == "truncate":
        assert isinstance(yaml_text, str)
        yaml_text = yaml_text[: draw(st.integers(0, len(yaml_text)))]
    elif how == "bytes":
        raw = bytearray(source.encode())
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        yaml_text = bytes(raw)
    elif how == "text-bytes":
        raw = bytearray(text.encode())
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        text_out = bytes(raw)
    elif how == "dup-key":
        assert isinstance(yaml_text, str)
        yaml_text = yaml_text.replace("\n  title:", "\n  title: again\n  title:", 1)
    return yaml_text, text_out


@settings(PROFILE, max_examples=200)
@given(case=mutated())
def test_mutated_documents_never_raise(
    case: tuple[str | bytes, str | bytes], tmp_path_factory: Any
) -> None:
    yaml_text, text = case
    article, problems = load_article(write(fresh(tmp_path_factory), "a1", yaml_text, text))
    assert_clean_outcome(article, problems)


@settings(PROFILE, max_examples=200)
@given(case=mutated())
def test_fast_schema_path_agrees_with_jsonschema(case: tuple[str | bytes, str | bytes]) -> None:
    """The compiled schema says valid exactly when jsonschema finds no error."""
    yaml_text, _ = case
    if isinstance(yaml_text, bytes):
        return
    data = load_yaml(yaml_text).data
    validator, _ = _schema_parts()
    assert fast_validator()(data) == (not any(validator.iter_errors(data)))


@settings(PROFILE, max_examples=300)
@given(source=st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@`, \n\tab1?~")), max_size=60))
def test_arbitrary_yaml_never_raises(source: str) -> None:
    loaded = load_yaml(source)
    assert all(e.code and "\n" not in e.message for e in loaded.errors)
