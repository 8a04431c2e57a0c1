"""`arena data`: the real datasets (status, fetch)."""

from __future__ import annotations


import click

from arena.cli import _host, cli
from arena.errors import ArenaError


@cli.group()
def data() -> None:
    """Real datasets: where they are, whether they verify, and downloading them."""


@data.command(name="status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def data_status(fmt: str) -> None:
    """Which dataset files are present and verified (checksums), and where."""
    from arena.datasets import status
    from arena.tables import render

    _host()  # task plugins register their datasets
    click.echo(render(status(), ["dataset", "status", "verified", "files", "missing_optional", "location",
                                 "problems"], fmt))


@data.command(name="fetch")
@click.argument("name")
def data_fetch(name: str) -> None:
    """Download a dataset from its official source into the cache and verify it."""
    from arena.datasets import REGISTRY, require
    from arena.registry import suggest

    _host()
    if name not in REGISTRY:
        raise ArenaError(f"unknown dataset {name!r}." + suggest(name, list(REGISTRY)))
    paths = require(name, [f.name for f in REGISTRY[name].files])
    click.echo(f"{name}: {len(paths)} files verified in {sorted({str(p.parent) for p in paths.values()})[0]}")
