"""The command line as a user meets it: real store, real training on smoke presets."""
import json
import math
import sqlite3

import pytest

from .conftest import run_arena

SMOKE = ("--preset", "smoke", "--set", "epochs=1")


def test_grid_stores_runs_and_a_second_call_trains_nothing(arena, tmp_path):
    res = arena("run", "--model", "gru,lstm", "--task", "copy", "--seeds", "0-1", *SMOKE)
    assert "4 to train" in res.stderr
    assert "token_acc ↑" in res.stdout and "gru" in res.stdout and "lstm" in res.stdout
    con = sqlite3.connect(tmp_path / "home" / "leaderboard.db")  # the default store: the user's own (ARENA_HOME)
    assert con.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall() == [("done", 4)]
    res = arena("run", "--model", "gru,lstm", "--task", "copy", "--seeds", "0-1", *SMOKE)
    assert "4 already stored" in res.stderr and "0 to train" in res.stderr
    res = arena("run", "--model", "gru", "--task", "copy", "--seeds", "0", *SMOKE, "--force")
    assert "1 to train" in res.stderr


def test_forced_rerun_gives_identical_test_metrics(arena, db_url):
    args = ("run", "-m", "rnn", "-t", "adding", "--seeds", "3", *SMOKE, "--db", db_url)
    arena(*args)
    first = arena.json("export", "--db", db_url)[0]["metrics"]
    arena(*args, "--force")
    assert arena.json("export", "--db", db_url)[0]["metrics"] == first


def test_export_leaderboard_and_show(arena, db_url):
    arena("run", "-m", "gru", "-t", "adding", "--seeds", "0-1", *SMOKE, "--db", db_url)
    runs = arena.json("export", "--db", db_url)
    assert len(runs) == 2
    for r in runs:
        assert {"key", "cell", "task", "preset", "params", "seed", "status", "metrics", "environment",
                "duration_s"} <= set(r)
        assert r["status"] == "done" and set(r["metrics"]) == {"mse", "mae", "solved"}
        assert r["environment"]["torch"] and r["environment"]["device"] == "cpu"
    csv_text = arena("export", "--format", "csv", "--db", db_url).stdout
    assert csv_text.splitlines()[0].startswith("key,cell,task") and "test_mse" in csv_text.splitlines()[0]
    board = arena.json("leaderboard", "--format", "json", "--db", db_url)
    assert board == [{**board[0], "task": "adding", "cell": "gru", "n": 2, "failed": 0, "diverged": 0}]
    mses = [r["metrics"]["mse"] for r in runs]
    assert board[0]["value"] == pytest.approx(math.sqrt(mses[0] * mses[1]))  # log-scale metric: geometric mean
    assert board[0]["score"] == pytest.approx(sum(math.log10(6 * m) / math.log10(100 / 6) for m in mses) / -2)
    md = arena("leaderboard", "--format", "markdown", "--db", db_url).stdout
    head = [c.strip() for c in md.splitlines()[0].strip("|").split("|")]
    assert head[:2] == ["track", "task"] and "mse ↓" in md and "| bare " in md
    shown = arena.json("show", runs[0]["key"][:10], "--db", db_url)
    assert shown["key"] == runs[0]["key"] and len(shown["curves"]) == 1
    assert shown["reproduce"] == (f"arena run --model gru --task adding --preset smoke --seeds {shown['seed']} "
                                  "--set train.epochs=1")


def test_list_show_and_plugins(arena):
    assert "copy" in arena("list", "tasks").stdout
    cells = {c["name"] for c in arena.json("list", "cells", "--format", "json")}
    assert {"gru", "lstm", "rnn"} <= cells
    task = arena.json("show", "copy")
    assert task["main_metric"] == "token_acc" and task["chance"]["token_acc"] == pytest.approx(1 / 8)
    assert task["solved"]["token_acc"] == 1.0 and task["metrics"][0]["scale"] == "linear"
    assert "smoke" in task["presets"] and "standard" in task["presets"]
    plugins = {p["name"]: p for p in arena.json("plugins", "--format", "json")}
    assert {"gru", "lstm", "rnn"} <= set(plugins["builtin-cells"]["cells"])


@pytest.mark.parametrize("args, message", [
    (("run", "-m", "gruu", "-t", "copy"), "unknown cell 'gruu'. Did you mean 'gru'"),
    (("run", "-m", "gru", "-t", "coppy"), "unknown task 'coppy'. Did you mean 'copy'"),
    (("run", "-m", "gru", "-t", "copy", "--seeds", "5-1"), "bad seed range"),
    (("run", "-m", "gru", "-t", "copy", "--preset", "huge"), "has no preset 'huge'"),
    (("run", "-m", "gru", "-t", "copy", "--set", "nope=1"), "unknown --set key 'nope'"),
    (("run", "-m", "gru", "-t", "copy", "--set", "cell.hidden=3"), "unknown cell option 'hidden'"),
    (("show", "nothing"), "no cell, task or run key 'nothing'"),
])
def test_bad_input_is_one_line_and_exit_2(arena, args, message):
    res = arena(*args, ok=False)
    assert res.exit_code == 2
    assert message in res.stderr
    assert "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 1


def test_bad_databases_are_refused_without_damage(arena, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("garbage")
    for args in (("run", "-m", "gru", "-t", "copy", *SMOKE), ("leaderboard",), ("export",)):
        res = arena(*args, "--db", f"sqlite:///{bad}", ok=False)
        assert res.exit_code == 2 and "corrupt or not an SQLite file" in res.stderr
    assert bad.read_text() == "garbage"
    res = arena("leaderboard", "--db", f"sqlite:///{tmp_path}/absent.db", ok=False)
    assert res.exit_code == 2 and "no database" in res.stderr
    assert not (tmp_path / "absent.db").exists()
    res = arena("run", "-m", "gru", "-t", "copy", *SMOKE, "--db", "postgresql://nobody@127.0.0.1:1/x", ok=False)
    assert res.exit_code == 2 and "Error: " in res.stderr


def test_arena_db_environment_variable(arena, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_DB", f"sqlite:///{tmp_path / 'env.db'}")
    arena("run", "-m", "gru", "-t", "adding", "--seeds", "0", *SMOKE)
    assert (tmp_path / "env.db").exists() and not (tmp_path / "home" / "leaderboard.db").exists()


def test_failed_run_is_stored_with_traceback_and_retried_on_request(arena, db_url):
    # minGRU raises for an unknown mode when the run builds it: stored as failed, grid goes on.
    bad = ("-m", "mingru", "-t", "adding", *SMOKE, "--set", "cell.mode=bogus", "--db", db_url)
    res = arena("run", *bad, "--seeds", "0-1", ok=False)
    assert res.exit_code == 1 and "2 run(s) failed" in res.stderr
    runs = arena.json("export", "--db", db_url)
    assert [r["status"] for r in runs] == ["failed", "failed"]
    assert "Traceback" in runs[0]["error"]
    res = arena("run", *bad, "--seeds", "0-1", ok=False)
    assert "0 to train" in res.stderr
    res = arena("run", *bad, "--seeds", "0", "--retry-failed", ok=False)
    assert "1 to train" in res.stderr


def test_leaderboard_task_must_be_installed_or_stored(arena, db_url, tmp_path):
    """A task name that is neither installed nor stored is refused with a suggestion; a stored
    task whose plugin is gone still shows."""
    from arena.plan import RunSpec

    gone = RunSpec(cell="gru", cell_version="1", cell_options={}, task="vanished", task_version="1", preset="p",
                   params={}, train={}, seed=0)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.result.json").write_text(json.dumps(
        {"spec": gone.to_dict(), "key": gone.key, "status": "done", "main_metric": "acc",
         "directions": {"acc": True}, "metrics": {"test": {"acc": 0.5}}}))
    assert "1 stored" in arena("ingest", "--unverified", str(tmp_path / "out"), "--db", db_url).stdout
    (row,) = arena.json("leaderboard", "--task", "vanished", "--format", "json", "--db", db_url)
    assert row["task"] == "vanished" and row["n"] == 1
    res = arena("leaderboard", "--task", "vanishd", "--db", db_url, ok=False)
    assert res.exit_code == 2 and "unknown task 'vanishd'" in res.stderr and "Did you mean 'vanished'" in res.stderr
    assert "No runs for task 'copy'" in arena("leaderboard", "--task", "copy", "--db", db_url).stderr


def test_dry_run_trains_nothing(arena, db_url):
    res = arena("run", "-m", "gru", "-t", "copy", "--seeds", "0-2", *SMOKE, "--dry-run", "--db", db_url)
    assert res.stdout.count("train") >= 3
    assert arena.json("export", "--db", db_url) == []


@pytest.mark.slow
def test_console_script_end_to_end(tmp_path):
    res = run_arena("run", "--model", "gru", "--task", "copy", "--preset", "smoke", "--seeds", "0", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = run_arena("leaderboard", "--format", "json", cwd=tmp_path)
    assert json.loads(res.stdout)[0]["n"] == 1


def test_sweep_runs_in_one_command_and_leaderboard_has_a_row_per_value(arena, db_url):
    arena("run", "-m", "gru", "-t", "interference[n_distractors=2,4,8,16,32]", "--preset", "smoke",
          "--seeds", "0", "--set", "epochs=1", "--set", "task.n_train=64", "--db", db_url)
    board = arena.json("leaderboard", "--format", "json", "--db", db_url)
    assert [r["params"]["n_distractors"] for r in board] == [2, 4, 8, 16, 32]
    assert [r["setting"] for r in board][:2] == ["n_distractors=2", "n_distractors=4"]
    runs = arena.json("export", "--db", db_url)
    assert sorted(r["params"]["n_distractors"] for r in runs) == [2, 4, 8, 16, 32]


def test_real_data_tasks_run_and_missing_data_is_one_line(arena, db_url, shared_data, monkeypatch):
    arena("run", "-m", "gru", "-t", "cwru,ag-news,char-lm", "--preset", "smoke", "--seeds", "0", "--set",
          "epochs=1", "--db", db_url)
    runs = arena.json("export", "--db", db_url)
    assert sorted((r["task"], r["status"]) for r in runs) == [("ag-news", "done"), ("char-lm", "done"),
                                                              ("cwru", "done")]
    status = {r["dataset"]: r["status"] for r in arena.json("data", "status", "--format", "json")}
    assert status == {"cwru": "verified", "ag_news": "verified", "tinyshakespeare": "verified"}
    monkeypatch.delenv("ARENA_DATA_DIR")
    res = arena("run", "-m", "gru", "-t", "cwru", "--preset", "smoke", "--seeds", "1", "--db", db_url, ok=False)
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.strip().splitlines() == [res.stderr.strip()]
    assert "dataset 'cwru' is missing normal_0hp_097.mat" in res.stderr and "ARENA_DATA_DIR" in res.stderr
    assert len(arena.json("export", "--db", db_url)) == 3  # nothing stored for the failed plan


def test_grid_leaderboard_and_compare_on_postgresql(arena, postgres):
    url = postgres.create_database("arena_cli")
    arena("run", "-m", "gru,rnn", "-t", "adding", "--seeds", "0-1", *SMOKE, "--db", url)
    runs = arena.json("export", "--db", url)
    assert len(runs) == 4 and {r["status"] for r in runs} == {"done"}
    assert "0 to train" in arena("run", "-m", "gru,rnn", "-t", "adding", "--seeds", "0-1", *SMOKE, "--db", url).stderr
    assert {r["cell"] for r in arena.json("leaderboard", "--format", "json", "--db", url)} == {"gru", "rnn"}
    assert arena.json("compare", "gru", "rnn", "--format", "json", "--db", url)[0]["n"] == 2
