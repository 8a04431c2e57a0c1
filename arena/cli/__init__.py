"""The ``arena`` command line: the group, shared options and errors; the commands live in one
module per group (running, catalog, results, data) and register on import.

Imports stay light at module level (click, the plugin host, SQLAlchemy): torch is imported only
by commands that train or time something, so ``arena --help``, ``arena list`` and
``arena plugins`` stay fast and work even where torch cannot be imported.
"""
from __future__ import annotations

import json
from typing import Any

import click

from arena.errors import ArenaError

RUN_KEY_PREFIX = "b2:"


class UserError(click.ClickException):
    """Bad input: one line on stderr, exit status 2, no traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def _one_line(exc: click.UsageError) -> UserError:
    """click would print usage, a hint and the error: one line instead."""
    where = exc.ctx.command_path if exc.ctx else "arena"
    return UserError(f"{' '.join(exc.format_message().split())} (see `{where} --help`)")


class ArenaGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:  # the group's own options (`arena --bogus`) are parsed here, before invoke
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArenaError as exc:
            raise UserError(str(exc)) from None
        except click.UsageError as exc:
            raise _one_line(exc) from None


def _host() -> Any:
    from arena.host import get_host

    return get_host()


def _open(db: str | None, write: bool = False) -> Any:
    from arena.store import open_store

    return open_store(db, write=write)


def _check_db(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from arena.validate import db_problem

    problem = db_problem(value)
    if problem:
        raise UserError(problem)
    return value


db_option = click.option("--db", "db", metavar="URL", default=None, callback=_check_db,
                         help="SQLAlchemy URL of the store, read alone [env ARENA_DB; default: your own store, "
                              "~/.local/share/arena/leaderboard.db, read with the shipped board].")


@click.group(cls=ArenaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnn-arena", prog_name="arena")
def cli() -> None:
    """arena: train and compare recurrent cells reproducibly, across seeds, into one SQL store.

    \b
    arena run --model gru,lstm --task copy --preset smoke --seeds 0-1
    arena leaderboard
    """
    # ARENA_STRICT_PLUGINS=1: no command runs beside a broken plugin; `arena plugins` lists first.
    if click.get_current_context().invoked_subcommand != "plugins":
        _host().check_strict()


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def build_cli() -> click.Group:
    """The command group with every plugin's commands added."""
    from arena.host import get_host

    get_host().register_commands(cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    build_cli().main(args=argv, prog_name="arena")


# The command modules add their commands to ``cli`` when imported (after it exists).
from arena.cli import catalog, data, results, running, sharing  # noqa: E402,F401
from arena.cli.catalog import reproduce_command  # noqa: E402,F401 - used by the app
from arena.cli.results import BOARD_COLUMNS  # noqa: E402,F401 - used by the app

