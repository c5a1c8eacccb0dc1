"""What a release covers, read from its data, and its schema.org ``Dataset`` (JSON-LD).

Used by both sides: the build (the Hugging Face card header, :mod:`factpack.pipeline.extras`)
and the review site (researcher side), which embeds :func:`dataset_jsonld` in its index.html as
``<script type="application/ld+json">``. Pure but :func:`read_coverage`, which reads a few
columns of the release's Parquet files. Nothing is guessed: what the data does not hold is
left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Coverage:
    """What the data covers, read from the tables.

    Attributes:
        rows: Rows per table.
        languages: The distinct ``articles.language`` codes, sorted.
        start: The earliest ``events.date_start`` (ISO date), or None.
        end: The latest ``events.date_end`` (else ``date_start``), or None.
        countries: The distinct ``events.country`` codes (ISO 3166-1 alpha-2), sorted.
    """

    rows: Mapping[str, int]
    languages: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    countries: tuple[str, ...] = ()


def _distinct(column: pa.ChunkedArray) -> tuple[str, ...]:
    return tuple(sorted(str(v) for v in pc.unique(column.drop_null()).to_pylist() if v))


def coverage(tables: Mapping[str, pa.Table]) -> Coverage:
    """Return the :class:`Coverage` of the tables (only the columns it reads must be there:
    ``articles.language``, ``events.date_start``, ``date_end``, ``country``)."""
    rows = {name: t.num_rows for name, t in tables.items()}
    articles, events = tables.get("articles"), tables.get("events")
    languages = _distinct(articles["language"]) if articles is not None else ()
    start = end = None
    countries: tuple[str, ...] = ()
    if events is not None and events.num_rows:
        first = pc.min(events["date_start"]).as_py()
        last = pc.max(pc.coalesce(events["date_end"], events["date_start"])).as_py()
        start = first.isoformat() if first else None
        end = last.isoformat() if last else None
        countries = _distinct(events["country"])
    return Coverage(rows, languages, start, end, countries)


COVERAGE_COLUMNS: Mapping[str, Sequence[str]] = {
    "articles": ("language",),
    "events": ("date_start", "date_end", "country"),
}


def read_coverage(release_dir: Path, tables: Iterable[str]) -> Coverage:
    """Read :func:`coverage` from ``release_dir/data/<table>.parquet`` (a few columns only)."""
    read = {}
    for name in tables:
        path = release_dir / "data" / f"{name}.parquet"
        read[name] = pq.read_table(path, columns=list(COVERAGE_COLUMNS.get(name, ())))
    return coverage(read)


MEDIA_TYPES: Mapping[str, str] = {
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv",
    ".json": "application/json",
    ".sql": "application/sql",
    ".cff": "application/x-yaml",
    ".md": "text/markdown",
}
"""``encodingFormat`` of the release's files by suffix."""


def _creators(descriptor: Mapping[str, Any]) -> list[dict[str, str]]:
    """The contributors with the role ``author`` (all of them when none has it)."""
    people = [c for c in descriptor.get("contributors") or [] if c.get("title")]
    authors = [c for c in people if "author" in (c.get("roles") or [])] or people
    # A contributor given by one ``title`` is an organisation in CFF's sense (an entity).
    return [{"@type": "Organization", "name": str(c["title"])} for c in authors]


def dataset_jsonld(
    descriptor: Mapping[str, Any], cover: Coverage, files: Sequence[str]
) -> dict[str, Any]:
    """Return the schema.org ``Dataset`` of a release.

    Args:
        descriptor: The release's ``datapackage.json``.
        cover: What the data covers (:func:`read_coverage`).
        files: Release files (relative paths) listed as ``distribution``, each with its
            ``encodingFormat`` and a ``contentUrl`` relative to the release folder.

    Returns:
        name, description, version, dateCreated, license, creator, keywords, url (homepage)
        when given, temporalCoverage and spatialCoverage when the data has them, inLanguage,
        distribution.
    """
    doc: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": str(descriptor.get("title") or descriptor["name"]),
        "alternateName": str(descriptor["name"]),
        "description": str(descriptor.get("description") or "").strip(),
        "version": str(descriptor.get("version", "")),
    }
    if descriptor.get("created"):
        doc["dateCreated"] = str(descriptor["created"])
    licenses = descriptor.get("licenses") or []
    if licenses:
        doc["license"] = str(licenses[0].get("path") or licenses[0].get("name"))
    doc["creator"] = _creators(descriptor)
    doc["keywords"] = [str(k) for k in descriptor.get("keywords") or []]
    if descriptor.get("homepage"):
        doc["url"] = str(descriptor["homepage"])
    if cover.start and cover.end:
        doc["temporalCoverage"] = f"{cover.start}/{cover.end}"
    if cover.countries:
        doc["spatialCoverage"] = [
            {"@type": "Place", "address": {"@type": "PostalAddress", "addressCountry": c}}
            for c in cover.countries
        ]
    if cover.languages:
        doc["inLanguage"] = list(cover.languages)
    doc["distribution"] = [
        {
            "@type": "DataDownload",
            "name": rel,
            "contentUrl": rel,
            "encodingFormat": MEDIA_TYPES.get(Path(rel).suffix, "application/octet-stream"),
        }
        for rel in files
    ]
    return doc
