"""Command line interface: parses arguments and prints. Holds no logic; nothing imports it."""

from __future__ import annotations

import click

from factpack import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="factpack")
def cli() -> None:
    """Publish and use research datasets built from annotated news articles."""


def main() -> None:
    """Console-script entry point."""
    cli()
