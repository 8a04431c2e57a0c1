"""docs/reproduction.md is generated from the shipped store, and its verdict rules say what they mean."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "reproduction.py"


def load():
    if "arena_reproduction" not in sys.modules:
        spec = importlib.util.spec_from_file_location("arena_reproduction", SCRIPT)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses look their module up here
        spec.loader.exec_module(mod)
    return sys.modules["arena_reproduction"]


def test_report_matches_the_shipped_store():
    """Every number and verdict in docs/reproduction.md comes from leaderboard.db as committed."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_every_claim_has_a_verdict_in_the_report():
    rep = load()
    text = (REPO / "docs" / "reproduction.md").read_text()
    summary = text.split("## Summary", 1)[1].split("\n<a id=", 1)[0]
    rows = [line for line in summary.splitlines() if line.startswith("| [")]
    assert len(rows) == len(rep.CLAIMS)
    for claim, row in zip(rep.CLAIMS, rows):
        assert f"(#{claim.id})" in row
        verdict = row.rsplit("|", 2)[1]
        assert any(v in verdict for v in ("reproduced", "not testable here")), row


def check(op, p_holm, effect, learned_a=0.5):
    return {"op": op, "p_holm": p_holm, "effect_size": effect, "learned_a": learned_a}


@pytest.mark.parametrize("op,p,effect,expected", [
    (">", 0.01, 1.2, "yes"),          # significant, claimed direction
    (">", 0.01, -1.2, "reversed"),    # significant, the other way
    (">", 0.20, 1.2, "no"),           # not shown
    ("~", 0.20, 0.3, "yes"),          # no difference shown
    ("~", 0.01, 0.3, "differs"),
    ("~", None, 0.0, "yes"),          # every difference zero
])
def test_assertion_rules(op, p, effect, expected):
    assert load().holds(check(op, p, effect)) == expected


def test_beating_a_cell_at_chance_needs_learning_something():
    rep = load()
    # Four classes, chance 0.25: 0.2507 is "significantly" above 0.2484 yet learned nothing.
    at_chance = rep.learned(0.2507, 0.25, True)
    assert at_chance == pytest.approx(0.0007 / 0.75)
    assert rep.holds(check(">", 0.001, 3.0, at_chance)) == "at chance"
    assert rep.holds(check(">", 0.001, 3.0, rep.learned(0.9, 0.25, True))) == "yes"
    assert rep.learned(0.5, 9.0, False) == pytest.approx(8.5 / 9)  # MSE: chance 9, perfect 0


def test_verdict_rules():
    rep = load()

    def with_holds(*pairs):
        return [dict(check(op, 0.5, e), holds=h) for op, e, h in pairs]

    assert rep.verdict([]) == "not testable here"
    assert rep.verdict(with_holds((">", 1.0, "yes"), ("~", 0.0, "yes"))) == "reproduced"
    assert rep.verdict(with_holds((">", 1.0, "yes"), (">", 1.0, "no"))) == "partly reproduced"
    assert rep.verdict(with_holds((">", 1.0, "no"))) == "not reproduced (right direction, not significant)"
    assert rep.verdict(with_holds((">", -1.0, "reversed"))) == "not reproduced"
    assert rep.verdict(with_holds((">", -1.0, "no"))) == "not reproduced"
