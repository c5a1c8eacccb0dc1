"""The release's metadata files: datapackage.json, the data card, CITATION.cff, SHA256SUMS, zip.

Pure text builders plus small writers; every output is a function of its inputs only (the
``created`` time comes from ``schema/package.yaml`` or ``SOURCE_DATE_EPOCH``), so two builds of
the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from factpack.pipeline import datafacts
from factpack.shared import sums
from factpack.shared.schema import Schema, table_schema_descriptor

DATAPACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
SUMS_FILE = sums.FILE

ZIP_LEVEL = 5
"""Deflate level of the zip's entries, chosen by measurement (docs/release.md, "The zip"): on
a 10k-article release level 5 costs 25% less CPU than 6 for a zip 2.5% larger."""
ZIP_STORED_SUFFIXES: tuple[str, ...] = (".parquet",)
"""Entries stored, not deflated: Parquet is zstd-compressed already (deflate saves 0.5%)."""

PARQUET_MISSING_VALUES = ["", "nan"]
"""missingValues of the Parquet resources: frictionless reads a Parquet null in a number (or
nullable integer) column as NaN and then reports false type/constraint errors. NaN is never a
valid value here (layer 2 rejects it), so declaring it missing keeps ``frictionless validate``
exact for real nulls."""

EXAMPLE_QUERIES: Sequence[tuple[str, str]] = (
    (
        "Denials, who made them and the claim they answer",
        """SELECT c.claim_id, s.name AS source, c.cue, c.claim_text, r.claim_text AS answers
FROM 'data/claims.parquet' c
JOIN 'data/sources.parquet' s ON s.source_id = c.source_id
JOIN 'data/claims.parquet' r ON r.claim_id = c.responds_to
WHERE c.relation = 'denies'
ORDER BY c.claim_id;""",
    ),
    (
        "Events by type and how the article presents them",
        """SELECT event_type, factuality, count(*) AS events
FROM 'data/events.parquet'
GROUP BY event_type, factuality
ORDER BY events DESC, event_type, factuality;""",
    ),
    (
        "Every claim about an event, with its evidence and the event's UTC start",
        """SELECT e.event_id, e.start_utc, e.location_name, c.claim_kind, c.evidence_text
FROM 'data/events.parquet' e
JOIN 'data/claims.parquet' c ON c.event_id = e.event_id
ORDER BY e.start_utc NULLS LAST, e.event_id, c.claim_id;""",
    ),
)
"""Queries shown in the data card and the README; the test suite runs them on a release."""


def release_name(schema: Schema) -> str:
    """Return ``<name>-<version>`` of the release."""
    return f"{schema.package['name']}-{schema.package['version']}"


def created_timestamp(schema: Schema, environ: Mapping[str, str] | None = None) -> str:
    """Return the release's ``created`` time (ISO 8601 UTC, ``Z``).

    ``SOURCE_DATE_EPOCH`` (seconds) wins over ``created`` in ``schema/package.yaml``.
    """
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH")
    if epoch:
        when = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    else:
        value = schema.package.get("created")
        if isinstance(value, dt.datetime):
            when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        else:
            when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(value: Any) -> Any:
    """Drop empty strings / None from metadata (frictionless rejects an empty path)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v not in ("", None)}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def withheld_texts(release_dir: Path) -> int:
    """Return how many articles of a written release have no text (``articles.text`` null).

    Read from the row groups' statistics of ``data/articles.parquet``
    (:func:`factpack.shared.write.null_count`).
    """
    from factpack.shared.write import null_count

    return null_count(release_dir / "data" / "articles.parquet", "text")


def text_policy_property(schema: Schema, release_dir: Path) -> dict[str, Any]:
    """Return datapackage.json's ``text_policy``: the package's policy and how many texts the
    release withholds (from the data: ``articles.text`` null), e.g.
    ``{"default": "withhold", "withheld": 1}``."""
    return {"default": schema.text_policy, "withheld": withheld_texts(release_dir)}


def datapackage_descriptor(
    schema: Schema,
    release_dir: Path,
    created: str,
) -> dict[str, Any]:
    """Return the Data Package v2 descriptor of a release whose data/ files are written.

    Each table is two resources: ``<table>`` (Parquet) and ``<table>_csv`` (CSV, whose foreign
    keys point at the CSV resources). ``bytes`` only on CSV (frictionless reports a false
    error for Parquet); ``hash`` on both (frictionless checks it for CSV only; SHA256SUMS and
    ``factpack validate`` cover every file). Keywords (the maintainers' plus the event types
    present), ``sources`` (publishers with their article counts), coverage and row counts come
    from the data (:mod:`factpack.pipeline.datafacts`); ``dataBytes`` is the size of the data
    files (Parquet and CSV) together; ``text_policy`` (:func:`text_policy_property`) says
    whether and how many article texts are withheld.
    """
    pkg = schema.package
    facts = datafacts.read_facts(release_dir, schema.tables)
    resources = []
    for name, table in schema.tables.items():
        for fmt, suffix in (("parquet", ""), ("csv", "_csv")):
            rel = f"data/{name}.{fmt}"
            path = release_dir / rel
            res: dict[str, Any] = {
                "name": name + suffix,
                "type": "table",
                "title": f"{table.title} ({fmt.upper() if fmt == 'csv' else 'Parquet'})",
                "description": table.description,
                "path": rel,
                "scheme": "file",
                "format": fmt,
                "mediatype": "text/csv" if fmt == "csv" else PARQUET_MEDIATYPE,
            }
            if fmt == "csv":
                res["encoding"] = "utf-8"
                res["bytes"] = path.stat().st_size
            res["hash"] = f"sha256:{sums.sha256_file(path)}"
            res["schema"] = table_schema_descriptor(table, suffix)
            if fmt == "parquet":
                res["schema"]["missingValues"] = list(PARQUET_MISSING_VALUES)
            resources.append(res)
    descriptor: dict[str, Any] = {
        "$schema": DATAPACKAGE_PROFILE,
        "name": pkg["name"],
        "title": pkg.get("title"),
        "description": pkg.get("description"),
        "version": str(pkg["version"]),
        "created": created,
        "homepage": pkg.get("homepage"),
        "keywords": datafacts.keywords(pkg, facts),
        "licenses": pkg.get("licenses") or [],
        "contributors": pkg.get("contributors") or [],
        "sources": datafacts.sources(facts),
        **datafacts.coverage_properties(facts),
        "text_policy": text_policy_property(schema, release_dir),
    }
    descriptor["dataBytes"] = sum((release_dir / str(r["path"])).stat().st_size for r in resources)
    descriptor = _clean(descriptor)
    descriptor["resources"] = resources
    return descriptor


def json_text(data: Any) -> str:
    """Return canonical JSON text (2-space indent, UTF-8, trailing newline)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _authors(schema: Schema) -> list[str]:
    cit = schema.package.get("citation") or {}
    return [str(a.get("name")) for a in cit.get("authors") or [] if a.get("name")]


def zip_date_time(created: str) -> tuple[int, int, int, int, int, int]:
    """The zip entries' timestamp: ``created``, not before 1980 (the zip epoch)."""
    when = dt.datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(dt.UTC)
    return max(
        (when.year, when.month, when.day, when.hour, when.minute, when.second),
        (1980, 1, 1, 0, 0, 0),
    )


def zip_members(release_dir: Path) -> list[str]:
    """The files the zip holds: those SHA256SUMS lists, and SHA256SUMS itself (sorted)."""
    return sorted([*sums.listed_files(release_dir), sums.FILE])


def write_zip(release_dir: Path, zip_path: Path, created: str) -> Path:
    """Write the release's zip with :mod:`zipfile`, deterministically.

    Entries under ``<folder>/``: the data, metadata, card, citation and SHA256SUMS (not
    ``site/``, not the ``.duckdb``), sorted by path, each with the ``created`` time, Unix mode
    0644 and a fixed method: Parquet stored (it is zstd-compressed already), everything else
    deflated at :data:`ZIP_LEVEL`. Files are streamed, so memory stays small.
    """
    top = release_dir.name
    stamp = zip_date_time(created)
    with zipfile.ZipFile(zip_path, "w", allowZip64=True) as zf:
        for rel in zip_members(release_dir):
            path = release_dir / rel
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=stamp)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            stored = rel.endswith(ZIP_STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            # The level lives in ZipInfo._compresslevel up to Python 3.12 (compress_level after,
            # which keeps the old name as an alias); zipfile.open() takes it from the ZipInfo.
            setattr(info, "_compresslevel", None if stored else ZIP_LEVEL)  # noqa: B010
            info.file_size = path.stat().st_size
            with path.open("rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return zip_path
