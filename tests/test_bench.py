"""`arena bench` at tiny sizes: rows, fields, stored rows, ratios and scaling exponents."""
import pytest

from arena.bench.throughput import BenchConfig, add_scaling, run
from arena.host import get_host

FIELDS = {"model", "seq_len", "hidden", "batch", "mode", "device", "median_s", "p20_s", "p80_s", "tokens_per_s",
          "peak_mem_bytes", "state_bytes", "impl", "params", "ratio_to_baseline", "time_exponent", "first_call_s"}


def test_rows_have_every_figure_and_consistent_ratios():
    cfg = BenchConfig(models=["lstm"], seq_lens=[8, 16], hiddens=[8], batch=2, input_size=3,
                      modes=("fwd", "fwd-bwd", "step"), warmup=2, rounds=3)
    rows = run(get_host(), cfg)
    assert len(rows) == 2 * 3 * 2  # models (gru baseline + lstm) × modes × lengths
    for r in rows:
        assert FIELDS <= set(r)
        assert r["p20_s"] <= r["median_s"] <= r["p80_s"]
        assert r["tokens_per_s"] == pytest.approx(r["batch"] * r["seq_len"] / r["median_s"])
        assert r["device"] == "cpu" and r["impl"]
        if r["model"] == "gru":
            assert r["ratio_to_baseline"] == 1.0
        assert r["latency_per_token_s"] is None or r["mode"] == "step"
    lstm = next(r for r in rows if r["model"] == "lstm")
    assert lstm["state_bytes"] == 2 * 8 * 4 and lstm["params"] == 4 * 8 * (3 + 8) + 8 * 8


def test_scaling_exponent_is_the_log_log_slope():
    rows = [{"model": "a", "mode": "fwd", "hidden": 1, "device": "cpu", "seq_len": t, "median_s": 0.001 * t ** 2}
            for t in (10, 100, 1000)]
    add_scaling(rows)
    assert rows[0]["time_exponent"] == pytest.approx(2.0)


def test_cli_bench_stores_rows_and_rejects_bad_input(arena, db_url):
    out = arena.json("bench", "-m", "rnn", "--seq-len", "4,8", "--hidden", "4", "--batch", "2", "--input-size", "2",
                     "--mode", "fwd-bwd", "--rounds", "2", "--format", "json", "--db", db_url)
    assert {(r["model"], r["seq_len"]) for r in out} == {("gru", 4), ("gru", 8), ("rnn", 4), ("rnn", 8)}
    from arena.store import open_store

    stored = open_store(db_url, write=False).throughput()
    assert len(stored) == 4 and all(s["env_id"] for s in stored)
    # Measuring again replaces rather than duplicates.
    arena("bench", "-m", "rnn", "--seq-len", "4,8", "--hidden", "4", "--batch", "2", "--input-size", "2",
          "--rounds", "2", "--db", db_url)
    assert len(open_store(db_url, write=False).throughput()) == 4
    for args, msg in ((("--mode", "back"), "unknown mode 'back'"), (("--seq-len", "0"), "positive integers"),
                      (("--vs", "grux"), "unknown cell 'grux'")):
        res = arena("bench", "-m", "rnn", *args, "--db", db_url, ok=False)
        assert res.exit_code == 2 and msg in res.stderr
