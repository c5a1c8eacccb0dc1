"""What the data itself says about the release: coverage, publishers, event types.

Pure functions over the Arrow tables (:func:`data_facts`) and one reader of the few columns
they need from a release's Parquet files (:func:`read_facts`). datapackage.json, the data card
and CITATION.cff take coverage, ``sources`` and the data-derived keywords from here, so nothing
of it is hand-kept in ``schema/package.yaml``; what the data cannot give is left out, with a
build warning (:func:`facts_warnings`), never invented.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from factpack.shared.schemaorg import Coverage, coverage

FACT_COLUMNS: Mapping[str, Sequence[str]] = {
    "articles": ("language", "publisher"),
    "events": ("date_start", "date_end", "country", "event_type"),
}
"""The columns :func:`data_facts` reads, per table (every table is read for its row count)."""


@dataclass(frozen=True)
class DataFacts:
    """What the tables say about the release.

    Attributes:
        cover: Rows per table, languages, first/last event date, countries.
        publishers: ``(publisher, article count)``, most articles first, then by name.
        event_types: The distinct ``events.event_type`` values, sorted.
    """

    cover: Coverage
    publishers: tuple[tuple[str, int], ...] = ()
    event_types: tuple[str, ...] = ()


def data_facts(tables: Mapping[str, pa.Table]) -> DataFacts:
    """Return the :class:`DataFacts` of the tables (only :data:`FACT_COLUMNS` must be there)."""
    cover = coverage(tables)
    publishers: tuple[tuple[str, int], ...] = ()
    articles = tables.get("articles")
    if articles is not None and "publisher" in articles.column_names:
        counts = Counter(str(p) for p in articles["publisher"].to_pylist() if p)
        publishers = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    types: tuple[str, ...] = ()
    events = tables.get("events")
    if events is not None and "event_type" in events.column_names:
        types = tuple(sorted({str(t) for t in events["event_type"].to_pylist() if t}))
    return DataFacts(cover, publishers, types)


def read_facts(release_dir: Path, tables: Iterable[str]) -> DataFacts:
    """Read :func:`data_facts` from ``release_dir/data/<table>.parquet`` (a few columns only)."""
    read = {}
    for name in tables:
        path = release_dir / "data" / f"{name}.parquet"
        read[name] = pq.read_table(path, columns=list(FACT_COLUMNS.get(name, ())))
    return data_facts(read)


def keywords(package: Mapping[str, Any], facts: DataFacts) -> list[str]:
    """Return the maintainers' keywords (``schema/package.yaml``) then the event types present."""
    out = [str(k) for k in package.get("keywords") or []]
    return out + [t for t in facts.event_types if t not in out]


def sources(facts: DataFacts) -> list[dict[str, Any]]:
    """Return Data Package ``sources``: each distinct publisher with its article count."""
    return [
        {"title": name, "description": f"{n} article{'s' * (n != 1)}"}
        for name, n in facts.publishers
    ]


def coverage_properties(facts: DataFacts) -> dict[str, Any]:
    """Return the datapackage.json coverage properties the data gives (absent ones left out).

    ``temporalCoverage`` (``{start, end}``: first and last event date), ``spatialCoverage``
    (ISO 3166-1 alpha-2 codes of the events' countries), ``languages`` (of the articles) and
    ``rowCounts`` (table -> rows).
    """
    cover = facts.cover
    out: dict[str, Any] = {}
    if cover.start and cover.end:
        out["temporalCoverage"] = {"start": cover.start, "end": cover.end}
    if cover.countries:
        out["spatialCoverage"] = list(cover.countries)
    if cover.languages:
        out["languages"] = list(cover.languages)
    out["rowCounts"] = dict(cover.rows)
    return out


def coverage_sentence(facts: DataFacts) -> str:
    """Return one sentence on what the data covers, for the card and CITATION.cff's abstract."""
    cover = facts.cover
    parts = []
    if cover.start and cover.end:
        parts.append(f"events from {cover.start} to {cover.end}")
    if cover.countries:
        parts.append("in " + ", ".join(cover.countries))
    if facts.publishers:
        n = sum(c for _, c in facts.publishers)
        outlets = len(facts.publishers)
        parts.append(f"from {n} article{'s' * (n != 1)} of {outlets} outlet{'s' * (outlets != 1)}")
    if cover.languages:
        parts.append("in language " + ", ".join(cover.languages))
    return ("Covers " + ", ".join(parts) + ".") if parts else "Coverage: none in the data."


def facts_warnings(facts: DataFacts, where: str) -> list[str]:
    """Return a warning line per coverage value the data cannot give (left out of the metadata).

    Args:
        facts: What the data says.
        where: The file that would have to change (shown first on each line).
    """
    cover = facts.cover
    out = []
    if not (cover.start and cover.end):
        out.append(
            f"{where}: no event has a date; temporal coverage is left out of datapackage.json "
            "and the card; annotate event dates where the text gives them"
        )
    if not cover.countries:
        out.append(
            f"{where}: no event has a country; spatial coverage is left out of datapackage.json "
            "and the card; annotate event countries where the text gives them"
        )
    if not cover.languages:
        out.append(f"{where}: no article has a language; add `language:` to each article")
    return out
