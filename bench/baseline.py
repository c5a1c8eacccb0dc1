"""A straightforward baseline build: pandas, pandera on pandas, ``to_csv``, frictionless.

What a careful first version would do: parse the annotation files with PyYAML's C loader on
all cores (the same parse as the floor), find each quote with ``str.find`` after folding
quotes, make one pandas DataFrame per table, validate it with the pandera schemas derived
from ``schema/``, write CSV with ``DataFrame.to_csv``, describe the CSV files in a
datapackage.json and run ``frictionless validate`` on it. Prints the seconds of each step as
JSON (``baseline_s`` is their sum).

Usage: ``python -m bench.baseline CORPUS OUT_DIR [--jobs J]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from factpack.shared.schema import (
    Schema,
    arrow_type,
    load_schema,
    pandera_schema,
    table_schema_descriptor,
)

_FOLD = str.maketrans({**dict.fromkeys("‘’‛′", "'"), **dict.fromkeys("“”„″", '"')})
_SECTIONS = {"sources": "source_id", "events": "event_id", "claims": "claim_id"}
_REFS = ("source_id", "event_id", "claim_id", "responds_to")


def _span(folded: str, quote: dict[str, str]) -> tuple[int, int]:
    exact = quote["exact"].translate(_FOLD)
    if quote.get("suffix"):
        at = folded.find(exact + quote["suffix"].translate(_FOLD))
    elif quote.get("prefix"):
        prefix = quote["prefix"].translate(_FOLD)
        at = folded.find(prefix + exact) + len(prefix)
    else:
        at = folded.find(exact)
    if at < 0:
        raise ValueError(f"quote not found: {quote['exact']!r}")
    return at, at + len(exact)


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def article_rows(yaml_path: str, columns: dict[str, list[str]]) -> dict[str, list[dict]]:
    """Return the rows of one article pair, found the straightforward way."""
    with open(yaml_path, encoding="utf-8") as fh:
        doc = yaml.load(fh.read(), Loader=yaml.CSafeLoader)
    with open(yaml_path[:-5] + ".txt", encoding="utf-8") as fh:
        text = fh.read()
    folded = text.translate(_FOLD)
    stem = Path(yaml_path).stem
    aid = stem.split("_", 1)[1] if "_" in stem else stem
    art = doc["article"]
    row = {c: art.get(c) for c in columns["articles"]}
    row.update(
        article_id=aid,
        text=text,
        char_count=len(text),
        published_date=_date(art.get("published_date")),
    )
    out: dict[str, list[dict]] = {"articles": [row]}
    for section in _SECTIONS:
        rows = []
        for item in doc.get(section) or []:
            row = {c: item.get(c) for c in columns[section]}
            row["article_id"] = aid
            for ref in _REFS:
                if row.get(ref):
                    row[ref] = f"{aid}:{row[ref]}"
            start, end = _span(folded, item["quote"])
            row.update(evidence_text=text[start:end], char_start=start, char_end=end)
            if section == "events":
                row["date_start"], row["date_end"] = (
                    _date(row["date_start"]),
                    _date(row["date_end"]),
                )
                if row["date_start"] and row["time_local"] and row["timezone"]:
                    local = dt.datetime.combine(
                        row["date_start"], dt.time.fromisoformat(row["time_local"])
                    )
                    row["start_utc"] = local.replace(tzinfo=ZoneInfo(row["timezone"])).astimezone(
                        dt.UTC
                    )
            rows.append(row)
        out[section] = rows
    return out


def _load_chunk(job: tuple[list[str], dict[str, list[str]]]) -> dict[str, list[dict]]:
    paths, columns = job
    out: dict[str, list[dict]] = {t: [] for t in columns}
    for p in paths:
        for table, rows in article_rows(p, columns).items():
            out[table].extend(rows)
    return out


def run(corpus: Path, out: Path, jobs: int, schema: Schema) -> dict[str, Any]:
    """Run the baseline; return the seconds of each step and the row counts."""
    import frictionless
    import pandas as pd

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    columns = {name: [f.name for f in t.fields] for name, t in schema.tables.items()}
    paths = sorted(str(p) for p in corpus.glob("*.yaml"))
    jobs_list = [(paths[i : i + 256], columns) for i in range(0, len(paths), 256)]
    rows: dict[str, list[dict]] = {t: [] for t in columns}
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for part in pool.imap(_load_chunk, jobs_list):
            for table_name, r in part.items():
                rows[table_name].extend(r)
    times["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    frames = {}
    for name, table in schema.tables.items():
        df = pd.DataFrame.from_records(rows[name], columns=columns[name])
        frames[name] = df.astype({f.name: pd.ArrowDtype(arrow_type(f)) for f in table.fields})
    times["dataframes"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    for name, table in schema.tables.items():
        pandera_schema(table).validate(frames[name], lazy=True)
    times["pandera"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        df.to_csv(out / f"{name}.csv", index=False)
    times["to_csv"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    descriptor = {
        "name": "baseline",
        "resources": [
            {
                "name": name,
                "path": f"{name}.csv",
                "format": "csv",
                "schema": table_schema_descriptor(table),
            }
            for name, table in schema.tables.items()
        ],
    }
    (out / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    report = frictionless.validate(str(out / "datapackage.json"))
    errors = sum(len(t.errors) for t in report.tasks) + len(report.errors)
    times["frictionless"] = time.perf_counter() - t0
    return {
        **{f"{k}_s": v for k, v in times.items()},
        "baseline_s": sum(times.values()),
        "rows": sum(len(r) for r in rows.values()),
        "frictionless_errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure the baseline and print it as JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)
    print(json.dumps(run(args.corpus, args.out, args.jobs, load_schema())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
