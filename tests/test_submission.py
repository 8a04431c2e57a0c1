"""arena/submission.py and its commands: result files out, sampled re-runs, a gated merge."""
import json

import pytest

from arena.submission import compare_metrics

SMOKE = ("--preset", "smoke", "--set", "epochs=1")


def test_compare_metrics_bitwise_and_within_tolerance():
    stored = {"test": {"mse": 0.5, "acc": 0.25}}
    assert compare_metrics(stored, {"test": {"mse": 0.5, "acc": 0.25}}, bitwise=True) == []
    assert compare_metrics(stored, {"test": {"mse": 0.5 + 1e-12, "acc": 0.25}}, bitwise=True)
    assert compare_metrics(stored, {"test": {"mse": 0.5 + 1e-12, "acc": 0.25}}, bitwise=False) == []
    out = compare_metrics(stored, {"test": {"mse": 0.6}}, bitwise=False, rel_tol=1e-3)
    assert len(out) == 2 and "not produced" in out[1]


@pytest.fixture
def submission(arena, tmp_path):
    arena("run", "-m", "gru,rnn", "-t", "adding", "--seeds", "0-1", *SMOKE)  # into the user's own store
    folder = tmp_path / "sub"
    assert "4 result files" in arena("export", "--format", "results", "-o", str(folder)).stdout
    return folder


def test_verified_files_are_ingested_and_reproduce_bitwise(arena, submission, tmp_path):
    res = arena("verify", str(submission), "--sample", "3")
    assert res.stdout.count("reproduced") == 3 and "bitwise" in res.stdout and "passed" in res.stderr
    report = json.loads((submission / "verification.json").read_text())
    assert report["passed"] and len(report["files"]) == 4
    db = f"sqlite:///{tmp_path / 'board.db'}"
    assert "4 stored" in arena("ingest", str(submission), "--db", db).stdout
    ours = {r["key"]: r["metrics"] for r in arena.json("export")}
    theirs = {r["key"]: r["metrics"] for r in arena.json("export", "--db", db)}
    assert ours == theirs


def test_a_tampered_file_fails_verification_and_is_not_ingested(arena, submission, tmp_path):
    files = sorted(submission.glob("*.result.json"))
    rec = json.loads(files[0].read_text())
    name = rec["main_metric"]
    rec["metrics"]["test"][name] *= 0.5  # a better-looking result than the run gave
    files[0].write_text(json.dumps(rec))
    res = arena("verify", str(submission), "--sample", "4", ok=False)
    assert res.exit_code == 1 and "differs" in res.stdout and "FAILED" in res.stderr
    assert f"test {name}: stored" in res.stdout
    db = f"sqlite:///{tmp_path / 'board.db'}"
    res = arena("ingest", str(submission), "--db", db, ok=False)
    assert res.exit_code == 2 and "arena verify" in res.stderr


def test_a_file_changed_after_verification_is_left_out(arena, submission, tmp_path):
    arena("verify", str(submission), "--sample", "1")
    files = sorted(submission.glob("*.result.json"))
    rec = json.loads(files[-1].read_text())
    rec["duration_s"] = 1.0
    files[-1].write_text(json.dumps(rec))
    db = f"sqlite:///{tmp_path / 'board.db'}"
    out = arena("ingest", str(submission), "--db", db).stdout
    assert "3 stored" in out and "1 left out (not verified)" in out
    assert "4 stored" in arena("ingest", "--unverified", str(submission), "--db", f"sqlite:///{tmp_path / 'b2.db'}").stdout


def test_a_malformed_file_is_invalid_in_the_report(arena, submission):
    (submission / "junk.result.json").write_text('{"spec": 1}')
    res = arena("verify", str(submission), "--sample", "1", ok=False)
    assert res.exit_code == 1 and "invalid" in res.stdout


def test_the_sample_is_drawn_afresh_unless_seeded_and_a_gpu_run_is_compared_within_tolerance(arena, submission):
    report = lambda: json.loads((submission / "verification.json").read_text())  # noqa: E731
    arena("verify", str(submission), "--sample", "1")
    assert isinstance(report()["seed"], int)  # drawn here, recorded: a submitter cannot know it in advance
    for f in submission.glob("*.result.json"):  # as if trained on a GPU: no bitwise claim against a CPU re-run
        rec = json.loads(f.read_text())
        f.write_text(json.dumps({**rec, "device": "cuda"}))
    picked = []
    for _ in range(2):
        arena("verify", str(submission), "--sample", "1", "--seed", "7")
        (check,) = report()["checks"]
        assert report()["seed"] == 7 and check["compared"] == "within 0.0001 relative"
        picked.append(check["key"])
    assert picked[0] == picked[1]  # the same seed, the same choice
