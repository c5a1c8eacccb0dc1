"""Command line interface: parses arguments and prints. Holds no logic; nothing imports it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from factpack import __version__
from factpack.problems import FactpackError, display_path


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="factpack")
def cli() -> None:
    """Publish and use research datasets built from annotated news articles."""


@cli.command("schema")
@click.option("--write", is_flag=True, help="Write schema/annotation.schema.json.")
@click.option("--check", is_flag=True, help="Exit 1 when the committed file is out of date.")
@click.option(
    "--schema-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The schema/ directory (default: the repository's).",
)
def schema_cmd(write: bool, check: bool, schema_dir: Path | None) -> None:
    """Derive the annotation JSON Schema from schema/ (print it, --write or --check it)."""
    from factpack import schema as schema_mod

    try:
        if write:
            path, changed = schema_mod.write_annotation_schema(schema_dir)
            click.echo(f"{'wrote' if changed else 'unchanged'}: {display_path(path)}")
            return
        text = schema_mod.annotation_json_text(schema_mod.load_schema(schema_dir))
        if check:
            path = schema_mod.annotation_schema_path(schema_dir)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                raise FactpackError(
                    f"{display_path(path)}:0:0: out of date; run `factpack schema --write`"
                )
            click.echo(f"up to date: {display_path(path)}")
            return
        click.echo(text, nl=False)
    except FactpackError as exc:
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)


def main() -> None:
    """Console-script entry point."""
    cli()
