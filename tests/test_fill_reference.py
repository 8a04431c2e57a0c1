"""benchmarks/fill_reference.py: the reference-scale fill plans whole commands, cheapest first."""
import importlib.util
import sqlite3
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def load():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("fill_reference", BENCH / "fill_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def store(tmp_path, rows):
    path = tmp_path / "lb.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table runs (cell text, task text, preset text, duration_s real)")
        conn.executemany("insert into runs values (?, ?, ?, ?)", rows)
    return f"sqlite:///{path}"


def test_settings_sharing_cells_preset_and_options_share_a_command(tmp_path):
    fr = load()
    cmds = fr.commands(2, store(tmp_path, []), cheapest_first=False)
    tasks = {c[c.index("-m") + 1]: c[c.index("-t") + 1] for c in cmds if "--preset" in c and "mogru" in c}
    assert tasks["mogru,gru"] == "copy,adding,trend,selective-copy,interference[n_distractors=100,200],cwru"
    assert all(c[c.index("--seeds") + 1] == "0-4" for c in cmds)
    # every headline setting is planned exactly once
    planned = [(c[c.index("-m") + 1], t, c[c.index("--preset") + 1]) for c in cmds
               for t in c[c.index("-t") + 1].replace("100,200", "100;200").split(",")]
    assert len(planned) == len(fr.HEADLINE) == len(set(planned))


def test_measured_settings_run_cheapest_first_and_unmeasured_last(tmp_path):
    fr = load()
    db = store(tmp_path, [("aru", "copy", "aru", 1000.0), ("gru", "copy", "aru", 100.0),
                          ("aru", "counting", "aru", 50.0), ("gru", "adding", "aru", 700.0),
                          ("mogru", "trend", "mogru", 10.0), ("lstm", "trend", "mogru", 1.0)])
    assert fr.measured_cost(db, "aru,gru", "copy", "aru") == 550.0
    assert fr.measured_cost(db, "mogru,gru", "trend", "mogru") == 10.0  # lstm's run is not the pair's
    assert fr.measured_cost(db, "mogru,gru", "cwru", "mogru") == float("inf")
    order = [(c[c.index("--preset") + 1], c[c.index("-t") + 1]) for c in fr.commands(1, db)]
    assert order[:3] == [("mogru", "trend"), ("aru", "counting,copy,adding"), ("aru", "sparse-events")]
