"""The catalogue of bad inputs: each gives its exact one-line errors, exit 1 or 2, no traceback.

A case is a folder ``tests/fixtures/catalogue/<case>/``: the input files as they would lie in
``seeds/``, ``ABOUT`` (what is wrong with them) and ``expected.txt`` (``exit <code>`` and then
exactly the lines ``factpack check .`` prints there). The one-rule fixtures of
``tests/fixtures/check/`` (tests/test_check.py) are part of the catalogue too and run here
through the CLI; inputs too big to commit are generated below. Run with ``-s`` to see the
counts (inputs tried, clear errors, crashes).
"""

# ruff: noqa: E501 (the expected messages are kept whole)

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from factpack.cli import cli
from factpack.pipeline.annotations import _SCHEMA_CODES, MAX_ANNOTATION_BYTES, MAX_TEXT_BYTES
from test_check import EXPECTED as CHECK_EXPECTED
from test_check import FIXTURES as CHECK_FIXTURES

CATALOGUE = Path(__file__).parent / "fixtures" / "catalogue"
CASES = sorted(p.name for p in CATALOGUE.iterdir() if p.is_dir())
VALID = (CHECK_FIXTURES / "valid.yaml").read_text(encoding="utf-8")
TEXT = (CHECK_FIXTURES / "article.txt").read_bytes()
NAME_VERSION = "factpack-news-events-0.1.0"
ONE_LINE = re.compile(r"^[^\n:]+(:\d+(:\d+)?)?: [^\n]+; [^\n]+$")
TALLY: dict[str, int] = {"inputs tried": 0, "clear errors": 0, "passed clean": 0, "crashes": 0}


def run(args: list[str]) -> Result:
    """Invoke the CLI in-process; a crash (any exception but SystemExit) fails the test."""
    TALLY["inputs tried"] += 1
    result = CliRunner().invoke(cli, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        TALLY["crashes"] += 1
        raise AssertionError(f"crash: {result.exception!r}") from result.exception
    assert "Traceback" not in result.output
    if result.exit_code in (1, 2):
        TALLY["clear errors"] += 1
    elif result.exit_code == 0:
        TALLY["passed clean"] += 1
    return result


def expect(case_dir: Path) -> tuple[int, list[str]]:
    head, *lines = (case_dir / "expected.txt").read_text(encoding="utf-8").splitlines()
    return int(head.removeprefix("exit ")), [line for line in lines if line]


def test_every_case_is_described() -> None:
    assert len(CASES) >= 30
    for case in CASES:
        assert (CATALOGUE / case / "ABOUT").read_text(encoding="utf-8").strip(), case
        code, lines = expect(CATALOGUE / case)
        assert code == 1 and lines, case


@pytest.mark.parametrize("case", CASES)
def test_catalogue_case(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "seeds"
    shutil.copytree(CATALOGUE / case, work, ignore=shutil.ignore_patterns("ABOUT", "expected.txt"))
    monkeypatch.chdir(work)
    code, lines = expect(CATALOGUE / case)
    result = run(["check", "."])
    assert result.exit_code == code
    assert result.stdout.splitlines() == lines
    assert all(ONE_LINE.match(line) for line in lines), lines
    n = len(lines)
    assert result.stderr == f"{n} problem{'s' * (n != 1)}\n"


@pytest.mark.parametrize("name", sorted(CHECK_EXPECTED))
def test_rule_fixture_via_cli(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-rule fixtures of tests/fixtures/check, through the CLI this time."""
    shutil.copy(CHECK_FIXTURES / "article.txt", tmp_path / f"{name}.txt")
    shutil.copy(CHECK_FIXTURES / f"{name}.yaml", tmp_path / f"{name}.yaml")
    monkeypatch.chdir(tmp_path)
    result = run(["check", f"{name}.yaml"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == CHECK_EXPECTED[name]


# --------------------------------------------------------------------- too big to commit


def _big_yaml(d: Path) -> None:
    (d / "a.txt").write_bytes(TEXT)
    pad = "# " + "x" * 78 + "\n"
    (d / "a.yaml").write_text(VALID + pad * (MAX_ANNOTATION_BYTES // len(pad) + 1))


def _big_text(d: Path) -> None:
    (d / "a.yaml").write_text(VALID)
    (d / "a.txt").write_bytes(TEXT * (MAX_TEXT_BYTES // len(TEXT) + 1))


def _many_aliases(d: Path) -> None:
    """Many plain aliases of one big list: small on disk, 50k values per alias."""
    (d / "a.txt").write_bytes(TEXT)
    big = "big: &big [" + ", ".join(["x"] * 50_000) + "]\n"
    (d / "a.yaml").write_text(big + "".join(f"k{i}: *big\n" for i in range(2_000)))


GENERATED: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "yaml_several_mb": (
        _big_yaml,
        [
            "a.yaml: the annotation is larger than 2 MB; one article per pair: split it, or check it is the right file"
        ],
    ),
    "text_several_mb": (
        _big_text,
        [
            "a.txt: the text is larger than 4 MB; one article per pair: split it, or check it is the right file"
        ],
    ),
    "yaml_many_aliases": (
        _many_aliases,
        [
            "a.yaml:1:6: YAML aliases would expand this document to 100054003 values (it is written with 52003); write the values out instead of repeating them with &anchors and *aliases"
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_generated_case(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make, lines = GENERATED[case]
    make(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = run(["check", "."])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == lines


def test_just_under_the_size_limit_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_bytes(TEXT)
    pad = "# " + "x" * 78 + "\n"
    body = VALID + pad * ((MAX_ANNOTATION_BYTES - len(VALID.encode())) // len(pad) - 1)
    (tmp_path / "a.yaml").write_text(body)
    monkeypatch.chdir(tmp_path)
    result = run(["check", "."])
    assert result.exit_code == 0, result.stdout


# --------------------------------------------------------------------- bad usage: exit 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["check", "nowhere"], "Path 'nowhere' does not exist"),
        (
            ["check", "notes.md"],
            "notes.md: expected a directory, a .yaml annotation or a .txt text",
        ),
        (["build", "--jobs", "0"], "0 is not in the range x>=1"),
        (["download"], "no index: pass --index https://.../releases.json"),
        (
            ["query", "select 1", "--output", "out.txt"],
            "out.txt: --output must end in .parquet or .csv",
        ),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_bad_usage_exits_2(
    args: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FACTPACK_INDEX_URL", raising=False)
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    result = run(args)
    assert result.exit_code == 2
    assert expected in result.stderr


# --------------------------------------------------------------------- billion laughs, for real


def _child(yaml_text: str, tmp_path: Path, name: str) -> tuple[float, int, str]:
    """Run `factpack check` in a fresh process; return (seconds, max RSS in kB, stdout)."""
    d = tmp_path / name
    d.mkdir()
    (d / "a.txt").write_bytes(TEXT)
    (d / "a.yaml").write_text(yaml_text, encoding="utf-8")
    code = (
        "import resource, sys, time\n"
        "from factpack.pipeline.annotations import check_paths\n"
        "t = time.perf_counter()\n"
        "problems = check_paths([sys.argv[1]])\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(f'{dt} {rss}')\n"
        "print('\\n'.join(p.format() for p in problems))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(d)],
        capture_output=True,
        text=True,
        check=True,
        cwd=d,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    ).stdout
    head, _, rest = out.partition("\n")
    seconds, rss = head.split()
    return float(seconds), int(rss), rest


def test_billion_laughs_is_refused_quickly_with_bounded_memory(tmp_path: Path) -> None:
    """The refusal happens before any expansion: measured against a clean file's run."""
    laughs = (CATALOGUE / "yaml_billion_laughs" / "a.yaml").read_text(encoding="utf-8")
    base_s, base_kb, base_out = _child(VALID, tmp_path, "valid")
    bomb_s, bomb_kb, bomb_out = _child(laughs, tmp_path, "bomb")
    assert base_out.strip() == ""
    assert "YAML aliases would expand this document to 23456790133 values" in bomb_out
    extra_mb = (bomb_kb - base_kb) / 1024
    print(
        f"\nbillion laughs: refused in {bomb_s * 1000:.1f} ms, {extra_mb:+.1f} MB max RSS "
        f"vs. a clean file ({base_s * 1000:.1f} ms)"
    )
    assert extra_mb < 100
    assert bomb_s < 5  # a loose sanity bound; the refusal itself never expands anything


def test_alias_refusal_never_expands(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism: the expansion is measured on the composed graph, never built."""
    from factpack.shared import yamlload

    built: list[int] = []
    real = yamlload._build

    def counting(*args: object, **kwargs: object) -> object:
        built.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(yamlload, "_build", counting)
    loaded = yamlload.load_yaml(
        (CATALOGUE / "yaml_billion_laughs" / "a.yaml").read_text(encoding="utf-8")
    )
    assert loaded.data is None and built == []
    assert [e.code for e in loaded.errors] == ["yaml-alias"]
    ok = yamlload.load_yaml("a: &a [1, 2]\nb: *a\n")  # a modest alias is fine
    assert ok.errors == [] and ok.data == {"a": [1, 2], "b": [1, 2]}


def test_only_documents_with_aliases_are_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without both '&' and '*' nothing can be an alias: the build is the only walk."""
    from factpack.shared import yamlload

    measured: list[int] = []
    real = yamlload.measure

    def counting(root: Any) -> tuple[int, int, Any]:
        measured.append(1)
        return real(root)

    monkeypatch.setattr(yamlload, "measure", counting)
    assert yamlload.load_yaml("a: [1, 2]\nb: 'AT&T'\n").data == {"a": [1, 2], "b": "AT&T"}
    assert yamlload.load_yaml("a: '*'\n").data == {"a": "*"}
    assert measured == []
    assert yamlload.load_yaml("a: &x [1]\nb: *x\n").data == {"a": [1], "b": [1]}
    assert measured == [1]


def test_zz_report_counts() -> None:
    """Printed with -s: the catalogue's counts (crashes must be 0)."""
    print(f"\ncatalogue: {TALLY}")
    assert TALLY["crashes"] == 0


# --------------------------------------------------------------------- docs/errors.md

SRC = Path(__file__).resolve().parents[1] / "src" / "factpack"
ERRORS_DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
OWN_MODULES = (
    "pipeline/annotations.py",
    "shared/yamlload.py",
    "pipeline/selectors.py",
    "pipeline/scaffold.py",
    "pipeline/formulas.py",
)


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _codes_in_source() -> dict[str, str]:
    """Every rule code given as ``code="..."`` anywhere in src/factpack (code -> file)."""
    codes: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for call in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            for kw in call.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                    codes[str(kw.value.value)] = path.name
        codes.update({c: "annotations.py" for c in _SCHEMA_CODES.values()})
    return codes


def test_every_error_code_is_documented() -> None:
    codes = _codes_in_source()
    assert len(codes) >= 35, sorted(codes)
    doc = ERRORS_DOC.read_text(encoding="utf-8")
    missing = sorted(c for c in codes if f"| `{c}` |" not in doc)
    assert missing == [], f"add these codes to docs/errors.md: {missing}"
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", doc, flags=re.M))
    assert documented - set(codes) == set(), "docs/errors.md documents codes nobody uses"


def test_every_problem_in_the_checker_has_a_code() -> None:
    """Each Problem(...) / YamlError(...) / checker.add(...) call in the checker's modules
    names its rule code."""
    for name in OWN_MODULES:
        tree = ast.parse((SRC / name).read_text(encoding="utf-8"))
        for call in _calls(tree):
            func = call.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called not in ("Problem", "YamlError", "add") or (
                called == "add"
                and not (
                    isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "self"
                )
            ):
                continue
            has_code = any(kw.arg == "code" for kw in call.keywords) or len(call.args) >= 6
            assert has_code, f"{name}:{call.lineno}: {called}(...) without code="


# --------------------------------------------------------------------- the build's side


def test_build_refuses_colliding_article_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build refuses them first, with the checker's message; nothing is published."""
    from factpack.pipeline.release import BuildFailed, build

    seeds = tmp_path / "seeds"
    shutil.copytree(CATALOGUE / "content_ids_collide", seeds)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildFailed, match=r"is also the id of"):
        build(seeds, tmp_path / "dist", tmp_path / "build", jobs=1)
    assert not (tmp_path / "dist" / NAME_VERSION).exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [(-3, 10), (20, 10), (5, 5), (0, 10_000)],
    ids=["negative", "reversed", "empty", "past-the-end"],
)
def test_offsets_that_do_not_cut_the_evidence_fail_layer_3(
    start: int, end: int, tmp_path: Path
) -> None:
    """Offsets are never written by hand (quotes are resolved to them), but the tables are
    checked anyway: negative, reversed, empty or out-of-range spans are refused."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from factpack.pipeline.annotations import load_article
    from factpack.pipeline.checks import cross_checks
    from factpack.pipeline.tables import article_rows, assemble
    from factpack.shared.schema import load_schema

    shutil.copy(CHECK_FIXTURES / "valid.yaml", tmp_path / "a1.yaml")
    shutil.copy(CHECK_FIXTURES / "article.txt", tmp_path / "a1.txt")
    article, problems = load_article(tmp_path / "a1.yaml")
    assert article is not None, problems
    schema = load_schema()
    tables = assemble([article_rows(article, schema)], schema)
    claims = tables["claims"]
    first = pc.equal(claims.column("claim_id"), "a1:C1")
    for name, value in (("char_start", start), ("char_end", end)):
        i = claims.schema.get_field_index(name)
        column = pc.if_else(
            first, pa.scalar(value, claims.schema.field(name).type), claims.column(name)
        )
        claims = claims.set_column(i, name, column)
    tables["claims"] = claims
    lines = [f.format() for f in cross_checks(tables, schema)]
    assert any(
        line.startswith("claims.evidence_text (a1:C1): value")
        and "evidence_text = articles.text[char_start:char_end]" in line
        for line in lines
    ), lines
