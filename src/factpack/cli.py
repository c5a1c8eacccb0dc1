"""Command line interface: parses arguments and prints. Holds no logic; nothing imports it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from factpack import __version__
from factpack.shared.problems import FactpackError, UsageError, display_path

_SCHEMA_DIR_OPTION = click.option(
    "--schema-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The schema/ directory (default: the repository's).",
)


_SEEDS_OPTION = click.option(
    "--seeds",
    type=click.Path(file_okay=False, path_type=Path),
    default="seeds",
    show_default=True,
    help="Folder of <stem>.txt + <stem>.yaml pairs.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="factpack")
def cli() -> None:
    """Publish and use research datasets built from annotated news articles."""


@cli.command("schema")
@click.option("--write", is_flag=True, help="Write schema/annotation.schema.json.")
@click.option("--check", is_flag=True, help="Exit 1 when the committed file is out of date.")
@_SCHEMA_DIR_OPTION
def schema_cmd(write: bool, check: bool, schema_dir: Path | None) -> None:
    """Derive the annotation JSON Schema from schema/ (print it, --write or --check it)."""
    from factpack.shared import schema as schema_mod

    try:
        if write:
            path, changed = schema_mod.write_annotation_schema(schema_dir)
            click.echo(f"{'wrote' if changed else 'unchanged'}: {display_path(path)}")
        elif check:
            path = schema_mod.check_annotation_schema(schema_dir)
            click.echo(f"up to date: {display_path(path)}")
        else:
            click.echo(
                schema_mod.annotation_json_text(schema_mod.load_schema(schema_dir)), nl=False
            )
    except FactpackError as exc:
        _fail(exc)


def _fail(exc: FactpackError) -> None:
    click.echo(str(exc), err=True)
    sys.exit(exc.exit_code)


_RELEASE_HELP = "A release directory or version (default: newest in dist/, else in the cache)."


@cli.command("query")
@click.argument("sql")
@click.option("--release", default=None, metavar="PATH|VERSION", help=_RELEASE_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "markdown"]),
    default="table",
    show_default=True,
    help="How to print the result.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the result to FILE.parquet or FILE.csv instead of printing it.",
)
def query_cmd(sql: str, release: str | None, fmt: str, output: Path | None) -> None:
    """Run SQL over a release; tables: articles, sources, events, claims."""
    from factpack.researcher import query
    from factpack.researcher.releases import resolve_release

    try:
        if output is not None and output.suffix.lower() not in query.OUTPUT_SUFFIXES:
            raise UsageError(f"{output}: --output must end in .parquet or .csv")
        con = query.connect(resolve_release(release))
        result = query.run(con, sql)
        if output is not None:
            query.write(result, output)
            click.echo(f"wrote {result.num_rows} rows to {display_path(output)}", err=True)
        else:
            click.echo(query.render(result, fmt))
    except FactpackError as exc:
        _fail(exc)


@cli.command("download")
@click.argument("version", required=False)
@click.option(
    "--index",
    "index_url",
    envvar="FACTPACK_INDEX_URL",
    default=None,
    metavar="URL",
    help="The releases.json URL, http(s) only (env FACTPACK_INDEX_URL).",
)
@click.option(
    "--to",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Unpack into this directory (default: the download cache).",
)
def download_cmd(version: str | None, index_url: str | None, to: Path | None) -> None:
    """Download a release (default: the newest), verify every file and unpack it."""
    from factpack.researcher import download

    try:
        if not index_url:
            raise UsageError("no index: pass --index https://.../releases.json")
        got = download.download(index_url, version, to, progress=sys.stderr.isatty())
        source = "cached archive" if got.archive_reused else "downloaded archive"
        state = "already unpacked, verified" if got.reused else "unpacked, every file verified"
        click.echo(f"{got.entry.name} {got.entry.version}: {source} (sha256 ok), {state}")
        click.echo(str(got.path))
    except FactpackError as exc:
        _fail(exc)


@cli.command("releases")
@click.option(
    "--index",
    "index_url",
    default=None,
    metavar="URL|PATH",
    help="The releases index (default: dist/releases.json).",
)
def releases_cmd(index_url: str | None) -> None:
    """List the released versions with dates and row counts."""
    from factpack.researcher import download, query, releases

    try:
        entries = download.load_index(index_url)
        click.echo(query.render_table(releases.index_table(entries)))
    except FactpackError as exc:
        _fail(exc)


@cli.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def diff_cmd(old: str, new: str, fmt: str) -> None:
    """Rows added, removed and changed (by primary key) between two releases."""
    import json

    from factpack.researcher import diff
    from factpack.researcher.releases import resolve_release

    try:
        result = diff.diff_releases(resolve_release(old), resolve_release(new))
        if fmt == "json":
            click.echo(json.dumps(diff.to_json(result), indent=2, ensure_ascii=False))
        else:
            click.echo(diff.render_text(result))
    except FactpackError as exc:
        _fail(exc)


@cli.command("release-index")
@click.argument("dist", type=click.Path(file_okay=False, path_type=Path), default="dist")
def release_index_cmd(dist: Path) -> None:
    """Write or update DIST/releases.json from the release archives in DIST."""
    from factpack.researcher import releases

    try:
        path = releases.update_index(dist)
        count = len(releases.read_index_file(path))
        click.echo(f"wrote {display_path(path)} ({count} release{'s' * (count != 1)})")
    except FactpackError as exc:
        _fail(exc)


@cli.command("site")
@click.argument("release", required=False, metavar="[RELEASE_DIR]")
def site_cmd(release: str | None) -> None:
    """(Re)generate the review site RELEASE_DIR/site/ (default: the newest release in dist/)."""
    from factpack.researcher import site
    from factpack.researcher.releases import resolve_release

    try:
        written = site.build_site(resolve_release(release).path)
    except FactpackError as exc:
        _fail(exc)
    index = next(p for p in written if p.name == "index.html" and p.parent.name == "site")
    click.echo(f"wrote {len(written)} files; open {display_path(index)}")


@cli.command("hydrate")
@click.argument("release", metavar="RELEASE")
@click.option(
    "--texts",
    "texts_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of the article texts: <article_id>.txt or <stem>.txt, UTF-8 as published.",
)
@click.option(
    "--require-all",
    is_flag=True,
    help="Refuse unless every withheld text is in --texts (default: the others stay withheld).",
)
def hydrate_cmd(release: str, texts_dir: Path, require_all: bool) -> None:
    """Re-attach withheld article texts: write RELEASE's copy <name>-<version>+text/ beside it.

    Each text must have the article's text_sha256 (a differing one is refused and nothing is
    written). The copy holds the data files with articles.text filled (byte-identical to a
    release that includes the texts), its own datapackage.json and SHA256SUMS, a card note and
    the review site with the highlighted texts; no zip. RELEASE is a release directory or a
    version.
    """
    from factpack.researcher.hydrate import hydrate, id_list
    from factpack.researcher.releases import resolve_release

    try:
        done = hydrate(resolve_release(release).path, texts_dir, require_all=require_all)
    except FactpackError as exc:
        _fail(exc)
    click.echo(
        f"hydrated {len(done.hydrated)} of {done.articles} article"
        f"{'s' * (done.articles != 1)}: wrote {display_path(done.path)} "
        f"(site: {display_path(done.path / 'site' / 'index.html')})"
    )
    if done.withheld:
        n = len(done.withheld)
        click.echo(
            f"{n} article{'s' * (n != 1)} stay withheld (no text in {display_path(texts_dir)}): "
            f"{id_list(list(done.withheld))}"
        )
    if done.ignored:
        n = len(done.ignored)
        click.echo(
            f"ignored {n} file{'s' * (n != 1)} naming no withheld article: "
            f"{id_list(list(done.ignored))}"
        )


@cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    show_default=True,
    help="Where the results of unchanged articles are kept (build/cache/check).",
)
def check_cmd(paths: tuple[Path, ...], build_dir: Path) -> None:
    """Lint annotation files (files or directories; default seeds/); report every problem."""
    from factpack.pipeline.annotations import check_paths
    from factpack.pipeline.cache import CACHE_DIR, CHECK_DIR

    counts: dict[str, int] = {}
    try:
        problems = check_paths(paths or (Path("seeds"),), build_dir / CACHE_DIR / CHECK_DIR, counts)
    except FactpackError as exc:
        _fail(exc)
    for problem in problems:
        click.echo(problem.format())
    if problems:
        click.echo(f"{len(problems)} problem{'s' * (len(problems) != 1)}", err=True)
        sys.exit(1)
    click.echo("no problems: " + ", ".join(f"{n} {what}" for what, n in counts.items()), err=True)


@cli.command("guide")
@click.option("--write", is_flag=True, help="Rewrite the generated sections of the guide.")
@click.option("--check", is_flag=True, help="Exit 1 when the committed guide is out of date.")
def guide_cmd(write: bool, check: bool) -> None:
    """Regenerate the field and vocabulary sections of docs/annotation-guide.md."""
    from factpack.shared import guide
    from factpack.shared.schema import load_schema

    try:
        schema = load_schema()
        if write:
            path, changed = guide.write(schema)
            click.echo(f"{'wrote' if changed else 'up to date'}: {display_path(path)}")
        elif check:
            click.echo(f"up to date: {display_path(guide.check(schema))}")
        else:
            click.echo(guide.rendered(schema), nl=False)
    except FactpackError as exc:
        _fail(exc)


@cli.command("new")
@click.argument("text", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--language", default="en", show_default=True, help="ISO 639-1 code of the text.")
def new_cmd(text: Path, language: str) -> None:
    """Start the annotation seeds/<stem>.yaml of the article text seeds/<stem>.txt."""
    from factpack.pipeline import scaffold

    try:
        path = scaffold.new_annotation(text, language=language)
    except FactpackError as exc:
        _fail(exc)
    click.echo(f"wrote {display_path(path)}; annotate it (docs/annotation-guide.md)")


@cli.command("build")
@_SEEDS_OPTION
@click.option(
    "--dist",
    type=click.Path(file_okay=False, path_type=Path),
    default="dist",
    show_default=True,
    help="Where releases go.",
)
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="build",
    show_default=True,
    help="Per-article cache and lock file.",
)
@_SCHEMA_DIR_OPTION
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Worker processes for loading changed articles.",
)
@click.option("--force", is_flag=True, help="Rebuild even when nothing changed.")
@click.option(
    "--full-check",
    is_flag=True,
    help="Check the finished release in full (layer 4) even when it is large enough for a "
    "routine build to check a sample; `make release` does.",
)
@click.option(
    "--timings",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the wall seconds of each build stage to this JSON file.",
)
@click.option(
    "--partition-by-year",
    is_flag=True,
    help="Also write every table as hive-partitioned Parquet by year: "
    "data/partitioned/<table>/year=YYYY/part-N.parquet (docs/scaling.md).",
)
@click.option(
    "--no-page-reuse",
    is_flag=True,
    help="Render every review page again instead of reusing those of unchanged articles "
    "from the release it replaces; the release is the same (for measuring, docs/scaling.md).",
)
def build_cmd(
    seeds: Path,
    dist: Path,
    build_dir: Path,
    schema_dir: Path | None,
    jobs: int,
    force: bool,
    full_check: bool,
    timings: Path | None,
    partition_by_year: bool,
    no_page_reuse: bool,
) -> None:
    """Build the dataset release dist/<name>-<version>/ (+ .zip) from seeds/."""
    from tqdm import tqdm

    from factpack.pipeline import release

    n = len(list(seeds.glob("*.yaml"))) if seeds.is_dir() else 0
    # disable=None: quiet when stderr is not a terminal (CI logs, pipes, tests).
    bar = tqdm(total=n, unit="article", disable=None, leave=False)
    try:
        result = release.build(
            seeds,
            dist,
            build_dir,
            schema_dir,
            jobs,
            bar.update,
            force,
            full_check=full_check,
            partition_by_year=partition_by_year,
            reuse_pages=not no_page_reuse,
        )
    except FactpackError as exc:
        bar.close()
        _fail(exc)
    bar.close()
    if timings is not None:
        timings.write_text(json.dumps(result.timings, indent=2) + "\n", encoding="utf-8")
    for line in result.warnings:
        click.echo(line, err=True)
    if result.up_to_date:
        click.echo(f"up to date: {display_path(result.release_dir)}")
        return
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    click.echo(
        f"built {display_path(result.release_dir)} and {display_path(result.zip_path)} "
        f"({counts}; {result.loaded} articles loaded, {result.cached} from cache)"
    )
    click.echo(result.check)


@cli.command("validate")
@click.argument("release_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def validate_cmd(release_dir: Path) -> None:
    """Re-check a release in full: frictionless, every file's sha256, the DuckDB file."""
    from factpack.pipeline.checks import check_release

    problems = check_release(release_dir)
    for line in problems:
        click.echo(f"{display_path(release_dir)}: {line}")
    if problems:
        click.echo(f"{len(problems)} problem{'s' * (len(problems) != 1)}", err=True)
        sys.exit(1)
    click.echo(f"valid: {display_path(release_dir)}")


def main() -> None:
    """Console-script entry point."""
    cli()


@cli.command("agree")
@click.argument(
    "seeds", type=click.Path(file_okay=False, path_type=Path), default="seeds", required=False
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def agree_cmd(seeds: Path, as_json: bool) -> None:
    """Agreement between annotators (SEEDS/annotators/<name>/<stem>.yaml): span F1, alpha."""
    from factpack.pipeline import agreement
    from factpack.shared.schema import load_schema

    try:
        if not seeds.is_dir():
            raise UsageError(f"{seeds}: no such directory; pass the seeds folder")
        articles, problems = agreement.load_annotations(seeds)
        if problems:
            for problem in problems:
                click.echo(problem.format())
            click.echo(f"{len(problems)} problem{'s' * (len(problems) != 1)}", err=True)
            sys.exit(1)
        figures = agreement.agreement(articles, load_schema())
    except FactpackError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    elif not figures["articles"]:
        click.echo(
            f"no article in {display_path(seeds)} has two or more annotations "
            f"({display_path(seeds)}/annotators/<name>/<stem>.yaml)"
        )
    else:
        click.echo(agreement.render_text(figures))


_TOOL_CHOICE = click.Choice(["inception", "label-studio", "brat", "doccano"])


@cli.command("import")
@click.argument("fmt", metavar="FORMAT", type=_TOOL_CHOICE)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="What the tool's labels mean (docs/mappings/<tool>.yaml).",
)
@click.option(
    "--to",
    type=click.Path(file_okay=False, path_type=Path),
    default="seeds",
    show_default=True,
    help="Where <stem>.txt and <stem>.yaml go.",
)
@click.option(
    "--annotator",
    default=None,
    metavar="NAME",
    help="Write <to>/annotators/NAME/<stem>.yaml (exports naming annotators: one folder each).",
)
@click.option("--replace", is_flag=True, help="Overwrite existing annotations (re-import).")
def import_cmd(
    fmt: str,
    paths: tuple[Path, ...],
    mapping_path: Path,
    to: Path,
    annotator: str | None,
    replace: bool,
) -> None:
    """Import an INCEpTION (XMI, WebAnno TSV), Label Studio (JSON), brat or doccano export.

    FORMAT is inception, label-studio, brat or doccano; PATH the export files (or folders).
    Writes <stem>.txt and the annotation, then runs the checker; exits 1 when fields remain
    to fill or the checker finds problems (docs/importing.md).
    """
    from factpack.formats import tools

    try:
        report = tools.run_import(fmt, paths, mapping_path, to, annotator, replace)
    except FactpackError as exc:
        _fail(exc)
    for line in report.lines:
        click.echo(line)
    for problem in report.problems:
        click.echo(problem.format())
    if report.todos:
        click.echo(f"{len(report.todos)} field(s) to fill (the tool cannot carry them):")
        for todo in report.todos:
            click.echo(f"  {todo}")
    if report.todos or report.problems:
        sys.exit(1)


@cli.command("export")
@click.argument("fmt", metavar="FORMAT", type=_TOOL_CHOICE)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--to",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write the tool's files, its configuration and mapping.yaml into.",
)
def export_cmd(fmt: str, paths: tuple[Path, ...], to: Path) -> None:
    """Export annotations (default seeds/) to label-studio, brat, inception or doccano.

    Writes the tool's files, its project configuration generated from schema/ and mapping.yaml,
    the mapping that imports the files back.
    """
    from factpack.formats import tools

    try:
        written = tools.run_export(fmt, paths or (Path("seeds"),), to)
    except FactpackError as exc:
        _fail(exc)
    for path in written:
        click.echo(f"wrote {display_path(path)}")


@cli.command("preview")
@click.argument("stem")
@_SEEDS_OPTION
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="build/preview",
    show_default=True,
    help="Where the page goes.",
)
@_SCHEMA_DIR_OPTION
def preview_cmd(stem: str, seeds: Path, out_dir: Path, schema_dir: Path | None) -> None:
    """Render the review page of seeds/STEM.yaml alone into build/preview/STEM.html.

    The page is the one a build publishes for that article; prints its path.
    """
    from factpack.pipeline import preview

    try:
        path = preview.preview(stem, seeds, out_dir, schema_dir)
    except preview.PreviewProblems as exc:
        for problem in exc.problems:
            click.echo(problem.format(), err=True)
        click.echo(f"{len(exc.problems)} problem{'s' * (len(exc.problems) != 1)}", err=True)
        sys.exit(1)
    except FactpackError as exc:
        _fail(exc)
    click.echo(display_path(path))


# ------------------------------------------------------------------ released versions


@cli.command("bump")
@click.argument("part", type=click.Choice(["major", "minor", "patch"]))
@_SCHEMA_DIR_OPTION
def bump_cmd(part: str, schema_dir: Path | None) -> None:
    """Raise the version in schema/package.yaml (and set `created` to today, UTC)."""
    import datetime as dt

    from factpack.pipeline import versions

    try:
        path, old, new = versions.bump(part, dt.datetime.now(dt.UTC).date(), schema_dir)
    except FactpackError as exc:
        _fail(exc)
    click.echo(f"{display_path(path)}: version {old} -> {new}; `make release` publishes it")


@cli.command("changelog")
@click.argument("release_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--dist",
    type=click.Path(file_okay=False, path_type=Path),
    default="dist",
    show_default=True,
    help="Where the previous release is.",
)
@click.option("--note", default=None, help="The maintainers' note (default: release_notes).")
@_SCHEMA_DIR_OPTION
def changelog_cmd(release_dir: Path, dist: Path, note: str | None, schema_dir: Path | None) -> None:
    """Write RELEASE_DIR's section of schema/changelog.md: note and rows changed."""
    from factpack.pipeline import versions

    try:
        path, changed, previous = versions.write_changelog(release_dir, dist, note, schema_dir)
    except FactpackError as exc:
        _fail(exc)
    against = f"changes against {previous}" if previous else "first release"
    click.echo(f"{'wrote' if changed else 'unchanged'}: {display_path(path)} ({against})")


@cli.command("record")
@click.argument("release_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_SCHEMA_DIR_OPTION
def record_cmd(release_dir: Path, schema_dir: Path | None) -> None:
    """Record RELEASE_DIR in schema/releases.yaml: its version can never change again."""
    from factpack.pipeline import versions

    try:
        path, changed = versions.record_release(release_dir, schema_dir)
    except FactpackError as exc:
        _fail(exc)
    click.echo(f"{'recorded in' if changed else 'already recorded in'}: {display_path(path)}")
