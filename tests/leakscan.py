"""Find stretches of withheld article texts in a release (issue 18's acceptance test).

A stretch is :data:`WINDOW` characters of an article's text past its title line that no single
evidence quote of the release contains. Every file is read the way a reader could see it:
Parquet and ``.duckdb`` values through DuckDB, every other file as text (raw, with HTML
entities resolved, with HTML tags removed, JSON strings parsed, CSV cells parsed), and the
zip's entries likewise.
"""

from __future__ import annotations

import csv
import html
import io
import json
import zipfile
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

import duckdb

WINDOW = 50
DATABASE_SUFFIXES = (".parquet", ".duckdb")


class HtmlData(HTMLParser):
    """Collects the character data of an HTML document (tags dropped, entities resolved)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def readings(name: str, data: bytes) -> list[str]:
    """Every way a reader may see the text of a (non-database) file."""
    raw = data.decode("utf-8", errors="replace")
    out = [raw, html.unescape(raw)]
    parser = HtmlData()
    parser.feed(raw)
    parser.close()
    # The character data joined (a text cut by <mark> tags reads whole again), without the
    # white space between elements (it would join two quotes into a stretch of neither).
    out.append("".join(part for part in parser.parts if part.strip()))
    if name.endswith((".json", ".jsonld")):
        out += _strings(json.loads(raw))  # a release's JSON files are JSON
    if name.endswith(".csv"):
        out += [cell for row in csv.reader(io.StringIO(raw)) for cell in row]
    return out


def database_values(path: Path) -> list[str]:
    """Every value of a Parquet or DuckDB file (and the DuckDB column comments), as text."""
    out: list[str] = []
    if path.suffix == ".parquet":
        with duckdb.connect() as con:
            rows = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        return [str(v) for row in rows for v in row if v is not None]
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        for (table,) in names:
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            out += [str(v) for row in rows for v in row if v is not None]
        comments = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE comment IS NOT NULL"
        ).fetchall()
        out += [str(c) for (c,) in comments]
    return out


def forbidden(text: str, quotes: Iterable[str]) -> set[str]:
    """The :data:`WINDOW`-character stretches of ``text`` past its title line that no single
    quote contains."""
    quotes = list(quotes)
    start = text.find("\n") + 1 if "\n" in text else len(text)
    out = set()
    for i in range(start, len(text) - WINDOW + 1):
        window = text[i : i + WINDOW]
        if not any(window in q for q in quotes):
            out.add(window)
    return out


def leaks(release: Path, zip_path: Path, bad: set[str], scratch: Path) -> list[str]:
    """Return ``file: stretch`` for each file of ``release`` (every file, ``site/`` too) and
    each entry of ``zip_path`` that holds a stretch of ``bad``."""
    found: list[str] = []

    def scan(name: str, texts: list[str]) -> None:
        for text in texts:
            for i in range(len(text) - WINDOW + 1):
                if text[i : i + WINDOW] in bad:
                    found.append(f"{name}: {text[i : i + WINDOW]!r}")
                    return

    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        rel = path.relative_to(release).as_posix()
        if path.suffix in DATABASE_SUFFIXES:
            scan(rel, database_values(path))
        else:
            scan(rel, readings(rel, path.read_bytes()))
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if name.endswith(DATABASE_SUFFIXES):
                copy = scratch / Path(name).name
                copy.write_bytes(data)
                scan(f"{zip_path.name}:{name}", database_values(copy))
                copy.unlink()
            else:
                scan(f"{zip_path.name}:{name}", readings(name, data))
    return found
