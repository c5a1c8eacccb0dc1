"""``make interop``: build a release of the fixture corpus and open it with the real clients.

Each client (frictionless, mlcroissant, Hugging Face datasets, DuckDB 1.x, cffconvert, and R's
readr when R is installed from the system's packages) runs from its own virtual environment in
``build/interop/<client>/`` (installed by the Makefile from ``interop/<client>.txt`` with
``pip --require-hashes``), offline. Every failure is printed as ``interop: <client>: <file>:
<problem>``; the exit status is 1 when any client failed.

The release is built from ``tests/fixtures/build/seeds`` with a copy of ``schema/`` whose
``package.yaml`` gains a homepage and a repository (example addresses), so the metadata that
needs them is checked too. The checks that need a file are run on the unzipped zip where a
reader of the zip would run them (frictionless, datasets, mlcroissant, load.sql) and on the
release folder for the ``.duckdb``, which only it holds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from factpack.pipeline import release
from factpack.pipeline.package import EXAMPLE_QUERIES
from factpack.shared.schema import load_schema

REPO = Path(__file__).resolve().parents[1]
CLIENTS = ("frictionless", "mlcroissant", "datasets", "duckdb1", "cffconvert", "readr")
EXAMPLE_HOMEPAGE = "https://example.org/factpack-news-events"
EXAMPLE_REPOSITORY = "https://example.org/factpack.git"


def prepare_schema(work: Path) -> Path:
    """Copy ``schema/`` into ``work`` with a homepage and a repository in package.yaml."""
    target = work / "schema"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(REPO / "schema", target)
    path = target / "package.yaml"
    package = yaml.safe_load(path.read_text(encoding="utf-8"))
    package["homepage"] = EXAMPLE_HOMEPAGE
    package["repository"] = EXAMPLE_REPOSITORY
    path.write_text(yaml.safe_dump(package, sort_keys=False, allow_unicode=True), "utf-8")
    return target


def build_release(work: Path) -> tuple[Path, Path]:
    """Build the fixture release into ``work/dist``; return it and its unzipped copy."""
    for name in ("dist", "build", "unzipped"):
        shutil.rmtree(work / name, ignore_errors=True)
    seeds = REPO / "tests" / "fixtures" / "build" / "seeds"
    result = release.build(
        seeds, work / "dist", work / "build", schema_root=prepare_schema(work), jobs=1
    )
    with zipfile.ZipFile(result.zip_path) as zf:
        zf.extractall(work / "unzipped")
    return result.release_dir, work / "unzipped" / result.release_dir.name


def expectations(release_dir: Path, schema_root: Path) -> dict[str, object]:
    """What every client must find: rows and columns per table, keys, the card's queries."""
    schema = load_schema(schema_root)
    rows, columns = {}, {}
    for name in schema.tables:
        meta = pq.read_schema(release_dir / "data" / f"{name}.parquet")
        rows[name] = pq.read_metadata(release_dir / "data" / f"{name}.parquet").num_rows
        columns[name] = list(meta.names)
    return {
        "rows": rows,
        "columns": columns,
        "keys": {n: t.primary_key[0] for n, t in schema.tables.items()},
        "queries": [list(q) for q in EXAMPLE_QUERIES],
        "duckdb": f"{schema.package['name']}.duckdb",
    }


def commands(
    client: str, venvs: Path, release_dir: Path, unzipped: Path, expected: dict[str, object]
) -> list[list[str]]:
    """The commands that check the release with ``client`` (empty: the client is missing)."""
    here = Path(__file__).resolve().parent / "clients"
    python = str(venvs / client / "bin" / "python")
    text = json.dumps(expected)
    if client in ("frictionless", "mlcroissant", "datasets"):
        return [[python, str(here / f"{client}_check.py"), str(unzipped), text]]
    if client == "duckdb1":
        cli = str(venvs / client / "bin" / "duckdb")
        work = str(venvs / "work")
        return [
            [
                python,
                str(here / "duckdb1_check.py"),
                str(release_dir),
                str(unzipped),
                cli,
                work,
                text,
            ]
        ]
    if client == "cffconvert":
        cff = str(venvs / client / "bin" / "cffconvert")
        return [
            [cff, "--validate", "-i", str(unzipped / "CITATION.cff")],
            [cff, "--validate", "-i", str(REPO / "CITATION.cff")],
            [cff, "-f", "bibtex", "-i", str(unzipped / "CITATION.cff")],
        ]
    if client == "readr":
        rscript = shutil.which("Rscript")
        if rscript is None:
            return []
        rows = expected["rows"]
        assert isinstance(rows, dict)
        pairs = [f"{t}={n}" for t, n in rows.items()]
        return [[rscript, str(here / "readr_check.R"), str(unzipped), *pairs]]
    raise ValueError(client)


FILE_NAME = re.compile(r"`([\w./-]+\.(?:parquet|csv|json|cff|sql|md))`")
OPENS_DATABASE = re.compile(r"`duckdb ([\w./-]+\.duckdb)`")


def card_files_missing(unzipped: Path) -> list[str]:
    """The files the card in the zip sends a reader to that the zip lacks: files it names in
    backticks, and databases it opens (`duckdb <file>.duckdb`, which would silently create an
    empty one). Naming the .duckdb as a file of the release folder is fine."""
    card = (unzipped / "README.md").read_text(encoding="utf-8")
    names = {m.group(1) for m in FILE_NAME.finditer(card) if "*" not in m.group(1)}
    names |= {m.group(1) for m in OPENS_DATABASE.finditer(card)}
    return [n for n in sorted(names) if not (unzipped / n).exists()]


def offline_env(venvs: Path) -> dict[str, str]:
    """The environment of the clients: offline, caches inside ``build/interop``."""
    env = dict(os.environ)
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HOME": str(venvs / "hf-home"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "MPLCONFIGDIR": str(venvs / "mpl"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("PYTHONPATH", None)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venvs", type=Path, default=REPO / "build" / "interop")
    parser.add_argument("--clients", default=" ".join(CLIENTS))
    parser.add_argument(
        "--strict-card",
        action="store_true",
        help="fail when the card in the zip names a file the zip lacks (else: a note)",
    )
    args = parser.parse_args(argv)
    venvs: Path = args.venvs.resolve()
    work = venvs / "release"
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    release_dir, unzipped = build_release(work)
    expected = expectations(release_dir, work / "schema")
    print(f"interop: built {release_dir.name} in {time.perf_counter() - start:.1f} s")
    failed = []
    for name in card_files_missing(unzipped):
        kind = "FAILED" if args.strict_card else "note"
        print(f"interop: card: {kind}: README.md in the zip names {name}, which the zip lacks")
        if args.strict_card and "card" not in failed:
            failed.append("card")
    env = offline_env(venvs)
    for client in args.clients.split():
        cmds = commands(client, venvs, release_dir, unzipped, expected)
        if not cmds:
            print(f"interop: {client}: skipped (not installed on this machine)")
            continue
        began = time.perf_counter()
        problems = []
        outputs = []
        for cmd in cmds:
            run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
            outputs.append(run.stdout.strip())
            if run.returncode != 0:
                lines = [x for x in run.stderr.splitlines() if x.strip()]
                mine = [x for x in lines if ": " in x and not x.startswith(("WARNING", "  "))]
                problems += mine[-20:] or lines[-5:] or [f"exit status {run.returncode}"]
        if client == "cffconvert" and not problems and EXAMPLE_HOMEPAGE not in outputs[-1]:
            problems.append(f"CITATION.cff: the BibTeX has no url ({EXAMPLE_HOMEPAGE})")
        took = time.perf_counter() - began
        if problems:
            failed.append(client)
            for line in problems:
                print(f"interop: {client}: {line}")
        summary = next((o.splitlines()[-1] for o in reversed(outputs) if o), "")
        if client == "cffconvert":
            summary = "validated 2 CITATION.cff files, BibTeX with url"
        print(f"interop: {client}: {'FAILED' if problems else 'ok'} ({took:.1f} s) {summary}")
    print(
        f"interop: {len(failed)} failed ({' '.join(failed) or 'none'}), "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
