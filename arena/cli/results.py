"""Commands that read results: `arena leaderboard`, `compare`, `export`."""

from __future__ import annotations

import json
from typing import Any

import click

from arena.cli import _echo_json, _host, _open, cli, db_option
from arena.errors import ArenaError


BOARD_COLUMNS = ["track", "task", "preset", "setting", "cell", "metric", "result", "score [95% CI]", "n", "failed k/n",
                 "rank", "vs leader", "size"]


# -- results ------------------------------------------------------------------------------
@cli.command()
@click.option("--task", "-t", default=None, help="Only this task.")
@click.option("--aggregate", is_flag=True, help="Across tasks: mean score and IQM with CIs, mean ranks with "
                                               "Friedman/Nemenyi and the rank intervals they support, P(X > Y).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown", "latex"]), default="table",
              show_default=True)
@click.option("--track", default=None, help="Only this track: matched, bare, or 'matched 2×residual-mlp' (see "
                                          "`arena leaderboard`; default: every track, the aggregate the first).")
@db_option
def leaderboard(task: str | None, aggregate: bool, fmt: str, track: str | None, db: str | None) -> None:
    """Each setting's cells: value, score with its 95% CI, failures, rank and verdict.

    Scores put chance at 0 and the task's solved level at 1 (log scale for error metrics);
    failed and diverged runs score at the floor (-1) and never outrank a finished run. The
    leader has the best mean score; ★ when it is shown better than chance; the others are
    "worse" (Holm-corrected t-test against the leader) or "inconclusive". With fewer than 5
    seeds the values are shown, not an interval. See docs/methodology.md.
    """
    from arena.across_tasks import aggregate_text
    from arena.leaderboard import LEGEND, task_board
    from arena.tables import render

    store = _open(db)
    if task and task not in _host().tasks and not store.runs(task=task):  # a stored task shows uninstalled
        from arena.registry import suggest

        known = sorted(set(_host().tasks.names()) | {r["task"] for r in store.runs()})
        raise ArenaError(f"unknown task {task!r}: neither installed nor in {store.url}." + suggest(task, known))
    if track is not None:
        from arena.leaderboard import tracks
        from arena.tracks import pick

        pick(tracks(store, task), track)
    if aggregate:
        text, ok = aggregate_text(store, task, fmt, track)
        click.echo(text, err=not ok)
        note = board_note(store) if ok and fmt in ("table", "markdown") else ""
        if note:
            click.echo("\n" + note)
        return
    rows = task_board(store, task=task, track=track)
    if not rows:
        click.echo(f"No runs{' for task ' + repr(task) if task else ''} in {store.url}.", err=True)
        return
    cols = BOARD_COLUMNS
    if fmt in ("json", "csv"):
        cols = ["track", "task", "preset", "setting", "cell", "body_params", "width", "state_size", "metric", "scale",
                "value", "value_kind", "n", "n_done", "failed",
                "diverged", "failure_rate", "all_failed", "scored", "score_note", "score", "score_std", "ci_low", "ci_high", "ci_method", "score_values",
                "rank", "leader", "star", "verdict", "p_vs_leader", "p_vs_leader_raw", "test", "p_vs_chance",
                "chance", "solved", "params", "cell_options"]
    click.echo(render(rows, cols, fmt))
    if fmt in ("table", "markdown"):
        click.echo("\n" + LEGEND)
        note = board_note(store)
        if note:
            click.echo(note)


def board_note(store: Any) -> str:
    """One line saying which runs shown come from the shipped board (empty when none do)."""
    from arena.store.board import board_keys

    shipped = len(board_keys(store))
    if not shipped:
        return ""
    if store.board_only:
        return f"All runs shown are the shipped board's ({store.board}, read-only); yours will go to {store.url}."
    return (f"Shown with the shipped board ({store.board}, read-only, {shipped} runs not in your store) beside "
            f"your runs ({store.url}); `arena export` marks each run (shipped: true/false).")


@cli.command()
@click.argument("a")
@click.argument("b")
@click.option("--task", "-t", default=None, help="Only this task (default: every task both cells ran).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True)
@click.option("--track", default=None, help="Only this track (default: every track, each its own Holm family).")
@db_option
def compare(a: str, b: str, task: str | None, fmt: str, track: str | None, db: str | None) -> None:
    """Cell A against cell B on matched seeds, per task setting, in words.

    On the score scale (chance 0, solved 1; failures at -1): the mean difference A - B with
    its t-interval, the paired t-test Holm-corrected over the settings shown and the verdict
    (better / worse / inconclusive); the equivalence test (TOST, margin 0.05) and its verdict
    (equivalent / not shown equivalent / different). See docs/methodology.md.
    """
    from arena.leaderboard import compare as compare_cells
    from arena.leaderboard import compare_display
    from arena.tables import render

    if a == b:
        raise ArenaError(f"cannot compare {a!r} with itself: name two different cells")
    store = _open(db)
    rows = compare_cells(store, a, b, task=task, track=track)
    if not rows:
        stored = sorted({r["cell"] for r in store.runs(task=task)})
        missing = [c for c in (a, b) if c not in stored]
        from arena.registry import suggest

        hint = suggest(missing[0], stored) if missing else ""
        raise ArenaError(f"no setting{' of ' + repr(task) if task else ''} where both {a!r} and {b!r} have runs "
                         f"in {store.url}." + hint)
    if fmt == "json":
        _echo_json(rows)
        return
    for r in rows:
        r.update(compare_display(r))
    click.echo(render(rows, ["track", "task", "preset", "setting", "metric", "n", "A", "B", "A - B [95% CI]", "p_holm", "A is",
                             "p_tost_holm", "equivalence"], fmt))
    note = board_note(store) if fmt in ("table", "markdown") else ""
    if note:
        click.echo("\n" + note)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "markdown", "results"]), default="json",
              show_default=True, help="json and csv: one record per run; markdown: the leaderboard as one setting x "
                                      "cell table; results: your runs as result files in the folder -o, for `arena "
                                      "verify` and `arena ingest` (a submission).")
@click.option("--output", "-o", type=click.Path(writable=True), default=None,
              help="Write to this file (a folder with --format results) instead of stdout.")
@click.option("--track", default=None, help="markdown: the track to tabulate (default: the first stored, matched "
                                          "before bare).")
@db_option
def export(fmt: str, output: str | None, track: str | None, db: str | None) -> None:
    """Every stored run (config, status, final test metrics, environment, timing).

    ``--format markdown`` writes the leaderboard instead, one row per task setting and one column
    per cell (the main test metric with its verdict mark, legend below the table), for READMEs and
    papers.
    """
    from arena.results import export_runs, flatten
    from arena.tables import render

    if fmt == "results":
        from arena.submission import export_results

        if not output:
            raise ArenaError("--format results writes one file per run: name the folder with -o FOLDER")
        written = export_results(_open(db), output)
        click.echo(f"{len(written)} result files in {output} (your finished runs; the shipped board's are left out)")
        return
    if fmt == "markdown":
        from arena.leaderboard import MATRIX_LEGEND, board_matrix, task_board

        from arena.leaderboard import tracks
        from arena.tracks import pick

        store = _open(db)
        chosen = pick(tracks(store), track)
        columns, table = board_matrix(task_board(store, track=chosen))
        text = render(table, columns, "markdown") + "\n\n" + MATRIX_LEGEND if table else "No runs."
    elif fmt == "json":
        text = json.dumps(export_runs(_open(db)), indent=2, default=str, ensure_ascii=False)
    else:
        flat = [flatten(r) for r in export_runs(_open(db))]
        cols: list[str] = []
        for r in flat:
            cols.extend(c for c in r if c not in cols)
        text = render(flat, cols, "csv")
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as exc:
            raise ArenaError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        click.echo(text)
