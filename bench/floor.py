"""The floor: the irreducible work of a build, measured on the same corpus and rows.

Parse every annotation file with PyYAML's C loader on all cores, then write the release's
rows (read from its Parquet files beforehand, not timed) with ``pyarrow.parquet`` using the
release's writer settings. Prints ``{"parse_s", "write_s", "floor_s", "files", "rows"}``.

Usage: ``python -m bench.floor CORPUS RELEASE_DIR OUT_DIR [--jobs J]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from factpack.pipeline.write import PARQUET_OPTIONS


def _parse(paths: list[str]) -> int:
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            yaml.load(fh.read(), Loader=yaml.CSafeLoader)
    return len(paths)


def parse_all(corpus: Path, jobs: int) -> tuple[int, float]:
    """Parse every ``*.yaml`` in ``corpus`` on ``jobs`` processes; return (files, seconds)."""
    start = time.perf_counter()
    paths = sorted(str(p) for p in corpus.glob("*.yaml"))
    chunks = [paths[i : i + 256] for i in range(0, len(paths), 256)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        files = sum(pool.imap_unordered(_parse, chunks))
    return files, time.perf_counter() - start


def write_all(release_dir: Path, out: Path) -> tuple[int, float]:
    """Write the release's tables again as Parquet into ``out``; return (rows, seconds)."""
    tables = {p.stem: pq.read_table(p) for p in sorted((release_dir / "data").glob("*.parquet"))}
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for name, table in tables.items():
        pq.write_table(table.combine_chunks(), out / f"{name}.parquet", **PARQUET_OPTIONS)
    return sum(t.num_rows for t in tables.values()), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Measure the floor and print it as JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("release", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)
    files, parse_s = parse_all(args.corpus, args.jobs)
    rows, write_s = write_all(args.release, args.out)
    result = {
        "files": files,
        "rows": rows,
        "parse_s": parse_s,
        "write_s": write_s,
        "floor_s": parse_s + write_s,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
