"""Every command block of README.md and docs/*.md marked runnable runs as written.

A fenced block's info string says what it is:

- ```` ```sh runnable ````: run by this test, in document order, one bash shell per block
  (``set -e``), in a project folder as a reader has it after the two set-up commands
  (``make dataset``, ``make test``): ``.venv/`` (the repository's), ``seeds/`` (the test
  fixture seeds) and ``dist/`` holding two releases built from them (0.1.0 and 0.2.0, one
  claim edited) and ``releases.json``. ``PATH`` does not include ``.venv/bin``: a command must
  say ``.venv/bin/factpack``. ``HOME`` and the download cache are fresh folders.
- ```` ```python runnable ````: run the same way by ``.venv/bin/python``.
- ```` ```sh runnable slow ````: NOT run. The rule: a block is slow when it builds, tests or
  benchmarks the whole repository or changes its committed files (``make dataset``, ``make
  test``, ``make bench``, ``make release``, ``make site``); the set-up commands are such blocks.
- ```` ```sh template ````: a form with placeholders (``<id>``) to fill in; never run.

Network: the index URL placeholders ``https://.../releases.json`` and
``https://example.org/releases.json`` are replaced by the URL of ``dist/releases.json`` served on
127.0.0.1, so downloads run against loopback only.

Every ``sh`` block must carry one of these marks, and an unlabelled block must not hold
commands (a line starting with ``factpack``, ``.venv/``, ``make`` or ``python``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from factpack.pipeline import release, versions
from factpack.researcher import releases
from releasefixture import serve

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "cli.md")]
FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
PLACEHOLDERS = ("https://.../releases.json", "https://example.org/releases.json")
MARKS = {"runnable", "slow", "template"}
COMMAND_STARTS = ("factpack ", ".venv/", "make ", "python")
TIMEOUT = 120


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, marks, text and first line in the document."""

    language: str
    marks: frozenset[str]
    text: str
    line: int


def blocks(doc: Path) -> list[Block]:
    """Return the fenced code blocks of a Markdown document (parsed by markdown-it-py)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(doc.read_text(encoding="utf-8"))
    out = []
    for token in tokens:
        if token.type != "fence":
            continue
        words = token.info.split()
        line = token.map[0] + 1 if token.map else 0
        out.append(Block(words[0] if words else "", frozenset(words[1:]), token.content, line))
    return out


def _rel(doc: Path) -> str:
    return doc.relative_to(ROOT).as_posix()


def test_every_command_block_is_marked() -> None:
    unmarked = []
    for doc in DOCS:
        for block in blocks(doc):
            if block.language == "sh" and not block.marks & MARKS:
                unmarked.append(f"{_rel(doc)}:{block.line}: ```sh block without a mark")
            commands = [
                ln for ln in block.text.splitlines() if ln.lstrip().startswith(COMMAND_STARTS)
            ]
            if block.language == "" and commands:
                unmarked.append(f"{_rel(doc)}:{block.line}: commands in an unlabelled block")
    assert unmarked == [], "mark them ```sh runnable, ```sh runnable slow or ```sh template"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/ with 0.1.0 and 0.2.0 of the fixture seeds (one claim edited) and releases.json."""
    root = tmp_path_factory.mktemp("docs-releases")
    schema_dir = versions.own_schema(root / "schema")  # the docs name factpack-news-events
    seeds = root / "seeds"
    shutil.copytree(FIXTURE_SEEDS, seeds)
    dist = root / "dist"
    release.build(seeds, dist, root / "build", schema_dir, jobs=1)
    beta = seeds / "002_beta.yaml"
    beta.write_text(beta.read_text().replace("Residents doubt the talks.", "Residents doubt it."))
    versions.bump("minor", dt.date(2026, 12, 1), schema_dir)
    release.build(seeds, dist, root / "build", schema_dir, jobs=1)
    releases.update_index(dist)
    return dist


def _project(tmp_path: Path, dist: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".venv").symlink_to(ROOT / ".venv")
    shutil.copytree(FIXTURE_SEEDS, project / "seeds")
    shutil.copytree(dist, project / "dist")
    (project / "home").mkdir()
    return project


def _runnable(doc: Path) -> list[Block]:
    return [b for b in blocks(doc) if "runnable" in b.marks and "slow" not in b.marks]


RUNNABLE_DOCS = [doc for doc in DOCS if _runnable(doc)]


def test_readme_and_querying_have_runnable_blocks() -> None:
    assert {"README.md", "docs/querying.md"} <= {_rel(d) for d in RUNNABLE_DOCS}


@pytest.mark.parametrize("doc", RUNNABLE_DOCS, ids=_rel)
def test_runnable_blocks_run_as_written(doc: Path, built: Path, tmp_path: Path) -> None:
    runnable = _runnable(doc)
    project = _project(tmp_path, built)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(project / "home"),
        "FACTPACK_CACHE_DIR": str(project / "home" / ".cache" / "factpack"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    with serve(project / "dist") as (base, _):
        for block in runnable:
            text = block.text
            for placeholder in PLACEHOLDERS:
                text = text.replace(placeholder, base + "releases.json")
            if block.language == "python":
                args = [str(project / ".venv" / "bin" / "python"), "-c", text]
            else:
                assert block.language == "sh", f"{_rel(doc)}:{block.line}: {block.language}?"
                args = ["bash", "-e", "-o", "pipefail", "-c", text]
            done = subprocess.run(
                args, cwd=project, env=env, capture_output=True, text=True, timeout=TIMEOUT
            )
            assert done.returncode == 0, (
                f"{_rel(doc)}:{block.line}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
