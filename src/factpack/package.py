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
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from factpack import __version__
from factpack.releases import sha256_file
from factpack.schema import Schema, data_dictionary, table_schema_descriptor

DATAPACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
SUMS_FILE = "SHA256SUMS"

ZIP_LEVEL = 6
"""Deflate level of the zip: level 9 takes ~2x as long for a file <1% smaller."""

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


def datapackage_descriptor(
    schema: Schema,
    release_dir: Path,
    created: str,
    digests: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return the Data Package v2 descriptor of a release whose data/ files are written.

    Each table is two resources: ``<table>`` (Parquet) and ``<table>_csv`` (CSV, whose foreign
    keys point at the CSV resources). ``bytes`` only on CSV (frictionless reports a false
    error for Parquet); ``hash`` on both (frictionless checks it for CSV only; SHA256SUMS and
    ``factpack validate`` cover every file). ``digests`` (relative path -> sha256) is used and
    filled, so :func:`sha256sums_text` need not read the data files again.
    """
    known = {} if digests is None else digests
    pkg = schema.package
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
            if rel not in known:
                known[rel] = sha256_file(path)
            res["hash"] = f"sha256:{known[rel]}"
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
        "keywords": list(pkg.get("keywords") or []),
        "licenses": pkg.get("licenses") or [],
        "contributors": pkg.get("contributors") or [],
        "sources": pkg.get("sources") or [],
    }
    descriptor = _clean(descriptor)
    descriptor["resources"] = resources
    return descriptor


def json_text(data: Any) -> str:
    """Return canonical JSON text (2-space indent, UTF-8, trailing newline)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _authors(schema: Schema) -> list[str]:
    cit = schema.package.get("citation") or {}
    return [str(a.get("name")) for a in cit.get("authors") or [] if a.get("name")]


def citation_cff(schema: Schema, created: str) -> str:
    """Return the release's CITATION.cff (Citation File Format 1.2.0, type dataset)."""
    pkg = schema.package
    cit = pkg.get("citation") or {}
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite it as below."',
        "type: dataset",
        f"title: {json.dumps(cit.get('title') or pkg.get('title'), ensure_ascii=False)}",
        f"version: {json.dumps(str(pkg['version']))}",
        f"date-released: {json.dumps(created[:10])}",
        "authors:",
    ]
    lines += [f"  - name: {json.dumps(a, ensure_ascii=False)}" for a in _authors(schema)]
    licenses = pkg.get("licenses") or []
    if licenses:
        lines.append(f"license: {json.dumps(licenses[0]['name'])}")
    if pkg.get("description"):
        lines.append(f"abstract: {json.dumps(pkg['description'], ensure_ascii=False)}")
    keywords = pkg.get("keywords") or []
    if keywords:
        lines.append("keywords:")
        lines += [f"  - {json.dumps(k, ensure_ascii=False)}" for k in keywords]
    if pkg.get("homepage"):
        lines.append(f"url: {json.dumps(pkg['homepage'])}")
    return "\n".join(lines) + "\n"


def data_card(
    schema: Schema,
    counts: Mapping[str, int],
    created: str,
    versions: Mapping[str, str],
    formulas: Sequence[tuple[str, str, str, str]] = (),
    sampled: bool = False,
) -> str:
    """Return the release's README.md: what, how built, counts, dictionary, query, cite.

    ``formulas`` (:func:`factpack.formulas.formula_cells`) adds a spreadsheet warning;
    ``sampled`` says the build checked the package (layer 4) on a sample, not in full.
    """
    pkg = schema.package
    name = release_name(schema)
    authors = ", ".join(_authors(schema)) or "the contributors"
    lic = (pkg.get("licenses") or [{}])[0]
    lines = [
        f"# {pkg.get('title', pkg['name'])} — version {pkg['version']}",
        "",
        str(pkg.get("description", "")).strip(),
        "",
        "## What is in it",
        "",
        "| table | rows | file (Parquet) | file (CSV) |",
        "| --- | ---: | --- | --- |",
    ]
    for table in schema.tables:
        lines.append(
            f"| `{table}` | {counts.get(table, 0)} | `data/{table}.parquet` | `data/{table}.csv` |"
        )
    lines += [
        "",
        f"Also: `datapackage.json` (Frictionless Data Package v2: every column's type, "
        f"description, constraints, primary and foreign keys), `{pkg['name']}.duckdb` (the same "
        "tables in one DuckDB database with column comments; not in the zip, not in "
        "SHA256SUMS, as DuckDB never writes the same bytes twice), `CITATION.cff`, and "
        "`SHA256SUMS` (check with `sha256sum -c SHA256SUMS`).",
        "",
        "CSV files: UTF-8 without BOM, a header row, LF line ends, an empty cell is a null, "
        "dates `YYYY-MM-DD`, datetimes in UTC as `YYYY-MM-DDTHH:MM:SSZ`.",
        "",
        *_formula_warning(formulas),
        "## How it was built",
        "",
        "Each article is kept verbatim (`articles.text`) with a hand-written annotation that "
        "points at the exact characters supporting every source, event and claim (W3C "
        "TextQuoteSelector, resolved to code-point offsets `char_start`/`char_end`; "
        "`evidence_text` is that slice of the text). Ids are `<article_id>:<local id>`. "
        "`factpack build` checked the annotations (JSON Schema and text), every table against "
        "its schema (pandera), the tables against each other in DuckDB (foreign keys, "
        "evidence equals the text, dates not after publication unless a note says why) and "
        f"the finished package ({_layer4_text(sampled)}). Facts the text "
        "does not state are recorded with their basis (`stated`/`inferred`/`unknown`) and a "
        "note; identifiers that cannot be verified offline are empty, never guessed.",
        "",
        f"Created {created} by factpack {__version__} ("
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + "). Rebuilding the same inputs gives byte-identical files (except the `.duckdb`).",
        "",
        "## How to query",
        "",
        "With DuckDB, from this folder (`duckdb` CLI or `python -c 'import duckdb; ...'`):",
        "",
    ]
    for title, sql in EXAMPLE_QUERIES:
        lines += [f"{title}:", "", "```sql", sql, "```", ""]
    lines += [
        f"Or open the database: `duckdb {pkg['name']}.duckdb` and `SELECT * FROM claims;`.",
        "",
        "With pandas:",
        "",
        "```python",
        "import pandas as pd",
        'claims = pd.read_parquet("data/claims.parquet")',
        'sources = pd.read_parquet("data/sources.parquet")',
        'by_source = claims.merge(sources, on=["source_id", "article_id"])',
        "```",
        "",
        "## Data dictionary",
        "",
        data_dictionary(schema),
        "## How to cite",
        "",
        f"{authors} ({created[:4]}). *{pkg.get('title', pkg['name'])}*, version "
        f"{pkg['version']} [dataset]. See `CITATION.cff`.",
        "",
        f"License: {lic.get('name', 'see datapackage.json')}"
        + (f" — {lic['title']}" if lic.get("title") else "")
        + ".",
        "",
        f"Release: `{name}`.",
        "",
    ]
    return "\n".join(lines)


def _layer4_text(sampled: bool) -> str:
    """How the build checked the finished package, for the data card."""
    if sampled:
        return (
            "a routine build: `frictionless validate` on a sample of every table's rows, the "
            "Parquet files equal to the CSV files row for row, sha256 of every file; not yet "
            "the full check, which `factpack validate` and `make release` run"
        )
    return (
        "in full: `frictionless validate` of every CSV row, primary and foreign keys "
        "included, the Parquet files equal to the CSV files row for row and read by "
        "frictionless on a sample, sha256 of every file"
    )


def _formula_warning(formulas: Sequence[tuple[str, str, str, str]]) -> list[str]:
    """The data card's warning about CSV cells a spreadsheet would run as formulas."""
    if not formulas:
        return []
    where: dict[str, int] = {}
    for table, _, column, _ in formulas:
        where[f"`{table}.{column}`"] = where.get(f"`{table}.{column}`", 0) + 1
    listed = ", ".join(f"{k} ({v})" for k, v in where.items())
    return [
        f"**Spreadsheet warning:** {len(formulas)} CSV cell{'s' * (len(formulas) != 1)} "
        f"start{'s' * (len(formulas) == 1)} with `=`, `+`, `-`, `@`, a tab or a carriage "
        f"return: {listed}. They are kept verbatim, as the articles have them; a spreadsheet "
        "program may run such a cell as a formula. Import the CSV files with every column as "
        "text, or use the Parquet files or DuckDB.",
        "",
    ]


def release_files(release_dir: Path, exclude_suffixes: Sequence[str] = (".duckdb",)) -> list[str]:
    """Return every file of a release (POSIX relative paths, sorted) but SHA256SUMS and .duckdb."""
    out = []
    for path in release_dir.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(release_dir).as_posix()
        if rel == SUMS_FILE or path.name.endswith(tuple(exclude_suffixes)):
            continue
        out.append(rel)
    return sorted(out)


def sha256sums_text(release_dir: Path, digests: Mapping[str, str] | None = None) -> str:
    """Return SHA256SUMS (``sha256sum`` format, sorted by path) of a release.

    ``digests`` holds sha256s already computed (relative path -> hex) for files written once.
    """
    known = digests or {}
    return "".join(
        f"{known.get(rel) or sha256_file(release_dir / rel)}  {rel}\n"
        for rel in release_files(release_dir)
    )


def write_zip(release_dir: Path, zip_path: Path, created: str) -> None:
    """Write the release as a zip: entries under ``<folder>/``, fixed order, time and mode.

    The ``.duckdb`` file stays out. Every entry gets the ``created`` time (not before 1980, the
    zip epoch) and mode 0644, deflate level :data:`ZIP_LEVEL`; files are streamed, never read
    whole.
    """
    when = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    stamp = max(
        (when.year, when.month, when.day, when.hour, when.minute, when.second),
        (1980, 1, 1, 0, 0, 0),
    )
    top = release_dir.name
    files = [*release_files(release_dir), SUMS_FILE]
    files = sorted(set(files))
    with zipfile.ZipFile(zip_path, "w") as zf:
        for rel in files:
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            if sys.version_info >= (3, 13):
                info.compress_level = ZIP_LEVEL
            else:
                info._compresslevel = ZIP_LEVEL  # type: ignore[attr-defined]
            info.file_size = (release_dir / rel).stat().st_size
            with (release_dir / rel).open("rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
