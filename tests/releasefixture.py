"""Small fixture releases for the researcher-side tests, and a loopback HTTP server.

``write_release`` writes ``<root>/<name>-<version>/`` (data/<table>.parquet and .csv,
datapackage.json, README.md, SHA256SUMS) and ``<root>/<name>-<version>.zip`` in the layout the
build produces, from rows given per table. ``serve`` serves a directory on 127.0.0.1.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

NAME = "factpack-news-events"

ROWS: dict[str, list[dict[str, Any]]] = {
    "articles": [{"article_id": "a1", "title": "Drone attack", "char_count": 120}],
    "sources": [
        {"source_id": "a1:S1", "article_id": "a1", "name": "Kremlin", "source_kind": "government"},
        {"source_id": "a1:S2", "article_id": "a1", "name": "Witness", "source_kind": "person"},
    ],
    "events": [{"event_id": "a1:E1", "article_id": "a1", "summary": "Drones over the Kremlin"}],
    "claims": [
        {"claim_id": "a1:C1", "source_id": "a1:S1", "event_id": "a1:E1", "claim_text": "US did it"},
        {"claim_id": "a1:C2", "source_id": "a1:S2", "event_id": None, "claim_text": "I saw it"},
    ],
}
KEYS = {
    "articles": "article_id",
    "sources": "source_id",
    "events": "event_id",
    "claims": "claim_id",
}


def rows(**changes: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Return a deep copy of the default rows with some tables replaced."""
    out = copy.deepcopy(ROWS)
    out.update(copy.deepcopy(changes))
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_sums(release: Path) -> None:
    """(Re)write SHA256SUMS over every file but itself and the .duckdb, sorted by path."""
    files = sorted(
        p.relative_to(release).as_posix()
        for p in release.rglob("*")
        if p.is_file() and p.name != "SHA256SUMS" and p.suffix != ".duckdb"
    )
    text = "".join(f"{sha256(release / f)}  {f}\n" for f in files)
    (release / "SHA256SUMS").write_text(text, encoding="utf-8")


def write_zip(release: Path, zip_path: Path | None = None) -> Path:
    """Zip the release under its top folder, without the .duckdb."""
    zip_path = zip_path or release.with_name(release.name + ".zip")
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(release.rglob("*")):
            if p.is_file() and p.suffix != ".duckdb":
                zf.write(p, f"{release.name}/{p.relative_to(release).as_posix()}")
    return zip_path


def write_release(
    root: Path,
    tables: dict[str, list[dict[str, Any]]] | None = None,
    version: str = "0.1.0",
    created: str = "2026-11-24T00:00:00Z",
) -> Path:
    """Write a release directory and its zip under ``root``; return the directory."""
    release = root / f"{NAME}-{version}"
    (release / "data").mkdir(parents=True)
    resources = []
    for table, table_rows in (tables or ROWS).items():
        arrow = pa.Table.from_pylist(table_rows)
        if not table_rows and table in ROWS:  # keep the columns of an emptied table
            arrow = pa.Table.from_pylist([], schema=pa.Table.from_pylist(ROWS[table]).schema)
        pq.write_table(arrow, release / "data" / f"{table}.parquet")
        pcsv.write_csv(arrow, release / "data" / f"{table}.csv")
        schema = {
            "fields": [{"name": n, "type": "any"} for n in arrow.column_names],
            "primaryKey": [KEYS.get(table, arrow.column_names[0])],
        }
        for suffix, fmt in ((".parquet", "parquet"), (".csv", "csv")):
            resources.append(
                {
                    "name": table if fmt == "parquet" else f"{table}_csv",
                    "path": f"data/{table}{suffix}",
                    "format": fmt,
                    "schema": schema,
                }
            )
    package = {"name": NAME, "version": version, "created": created, "resources": resources}
    (release / "datapackage.json").write_text(json.dumps(package, indent=2), encoding="utf-8")
    (release / "README.md").write_text(f"# {NAME} {version}\n", encoding="utf-8")
    (release / f"{NAME}.duckdb").write_bytes(b"not hashed, not zipped")
    write_sums(release)
    write_zip(release)
    return release


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``directory`` on 127.0.0.1 (port 0) in a thread.

    Yields:
        The base URL (ending in ``/``) and the list of request paths received so far.
    """
    requests: list[str] = []

    class Handler(_Handler):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

    handler = functools.partial(Handler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
