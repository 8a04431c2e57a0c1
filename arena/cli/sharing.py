"""Commands that move runs and plugins between places: `arena ingest`, `arena verify`,
`arena install`, `arena uninstall` (and `arena export --format results` in results.py)."""

from __future__ import annotations

import sys

import click

from arena.cli import _open, cli, db_option
from arena.errors import ArenaError


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--delete", is_flag=True, help="Delete each result file once it is stored or found already stored.")
@click.option("--unverified", is_flag=True, help="Store the files without a passing `arena verify` report too "
                                                  "(an executor's own outbox, a colleague you trust).")
@db_option
def ingest(folder: str, delete: bool, unverified: bool, db: str | None) -> None:
    """Store the result files of a folder (a submission, an executor's outbox), by run key.

    Only the files a passing `arena verify` report in the folder covers, unchanged since, are
    stored, unless --unverified. Idempotent: a run already stored as done or diverged is left
    as it is.
    """
    from arena.runner import ingest as ingest_records
    from arena.submission import sha256, verified_files
    from arena.validate import record_problem
    from arena.worker import read_results

    found = read_results(folder, unreadable=True)
    held = 0
    if not unverified:
        ok = verified_files(folder)
        kept = [(p, r) for p, r in found if p.name in ok and p.is_file() and ok[p.name] == sha256(p)]
        held, found = len(found) - len(kept), kept
        if held and not found:
            raise ArenaError(f"no result file in {folder} is covered by a passing `arena verify` report (unchanged "
                             "since): run `arena verify FOLDER --sample K` first, or pass --unverified")
    problems = [(path.name, record_problem(rec)) for path, rec in found]
    bad = [f"{name}: {problem}" for name, problem in problems if problem]
    if found and len(bad) == len(found):  # nothing to store: a wrong folder, not a partial merge
        raise ArenaError(f"no result file in {folder} can be stored ({len(bad)} invalid; first: {bad[0]})")
    store = _open(db, write=True)
    counts = ingest_records(store, [rec for _, rec in found])
    if delete:
        for (path, _), (_, problem) in zip(found, problems):
            if problem is None:  # an invalid file stays for someone to look at
                path.unlink(missing_ok=True)
    click.echo(f"{len(found)} result files: {counts['ingested']} stored, {counts['skipped']} already stored, "
               f"{counts['invalid']} invalid{' (first: ' + bad[0] + ')' if bad else ''}"
               f"{f', {held} left out (not verified)' if held else ''}  [{store.url}]")


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--sample", "-k", default=3, show_default=True, type=click.IntRange(1),
              help="How many runs to re-run, chosen at random.")
@click.option("--seed", default=None, type=int, help="Seed of the random choice [default: a fresh one, recorded "
                                                    "in verification.json; give it to repeat a choice].")
@click.option("--rel-tol", default=1e-4, show_default=True, type=click.FloatRange(0),
              help="Tolerance when the torch version differs from the runs' (else bitwise).")
def verify(folder: str, sample: int, seed: int | None, rel_tol: float) -> None:
    """Re-run K randomly chosen runs of a folder of result files and check their stored metrics.

    Bitwise at the same torch version on a CPU run (each run re-runs at its own thread count),
    within --rel-tol otherwise. Writes verification.json in the folder: `arena ingest` then
    stores the files it covers if every sampled run reproduced. Exit status 1 if any did not.
    Maintainers run it themselves: a verification.json that comes with a submission proves
    nothing (it is overwritten here).
    """
    from arena.submission import VERIFICATION, verify as run_verify
    from arena.tables import render

    try:
        report = run_verify(folder, sample=sample, seed=seed, rel_tol=rel_tol)
    except ValueError as exc:
        raise ArenaError(str(exc)) from None
    click.echo(render(report["checks"], ["outcome", "cell", "task", "seed", "compared", "key", "detail"]))
    verdict = "passed" if report["passed"] else "FAILED"
    click.echo(f"verification {verdict}: {sum(c['outcome'] == 'reproduced' for c in report['checks'])} of "
               f"{report['sample']} sampled runs reproduced (--seed {report['seed']}); report in "
               f"{folder}/{VERIFICATION}", err=True)
    if not report["passed"]:
        sys.exit(1)


@cli.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade the packages if installed.")
@click.option("--editable", "-e", is_flag=True, help="Install a local folder in editable mode.")
def install(packages: tuple[str, ...], upgrade: bool, editable: bool) -> None:
    """Install plugin packages into the environment arena runs in (pip of this Python)."""
    args = ["install", *(["--upgrade"] if upgrade else [])]
    for p in packages:
        args += ["-e", p] if editable else [p]
    _pip(args)


@cli.command()
@click.argument("packages", nargs=-1, required=True)
def uninstall(packages: tuple[str, ...]) -> None:
    """Uninstall plugin packages from the environment arena runs in."""
    _pip(["uninstall", "-y", *packages])


def _pip(args: list[str]) -> None:
    import subprocess

    # The pip of the interpreter running arena: the one whose entry points arena reads.
    done = subprocess.run([sys.executable, "-m", "pip", *args])
    if done.returncode:
        raise ArenaError(f"pip {' '.join(args)} failed (exit status {done.returncode})")
