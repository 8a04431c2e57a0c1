import dataclasses
import math

import torch

from arena.cell import Cell
from arena.host import get_host
from arena.plan import parse_overrides, plan_runs
from arena.training import train_run


def spec(task="adding", cell="gru", sets=(), seed=0):
    host = get_host()
    return plan_runs(host.cells, host.tasks, [cell], [task], [seed], "smoke", parse_overrides(sets))[0]


def run(s, cell_factory=None):
    host = get_host()
    return train_run(s, host.tasks.get(s.task).load(), cell_factory or host.cells.get(s.cell).load(),
                     torch.device("cpu"))


def test_same_run_twice_gives_identical_metrics_and_curves():
    s = spec(task="copy")
    a, b = run(s), run(s)
    assert a.status == b.status == "done"
    assert a.metrics == b.metrics
    untimed = lambda curves: [{k: v for k, v in c.items() if k != "seconds"} for c in curves]  # noqa: E731
    assert untimed(a.curves) == untimed(b.curves)
    assert set(a.metrics["test"]) == {"token_acc", "seq_acc", "loss"}


def test_outcome_records_sizes_curves_and_best_epoch():
    out = run(spec(sets=("epochs=3", "patience=10")))
    assert out.epochs == 3 and len(out.curves) == 3
    assert [c["epoch"] for c in out.curves] == [1, 2, 3]
    assert {"train_loss", "val_mse", "val_mae", "lr", "seconds"} <= set(out.curves[0])
    best = min(out.curves, key=lambda c: c["val_mse"])
    assert out.best_epoch == best["epoch"]
    assert out.metrics["val"]["mse"] == best["val_mse"]
    # GRU(2→32) + Linear(32→1): 3·32·(2+32) + 6·32 + 33
    assert out.cell_params == 3 * 32 * 34 + 6 * 32 and out.n_params == out.cell_params + 33
    assert out.state_size == 32


class Blowup(Cell):
    """A cell whose output becomes NaN on the second epoch's first step."""

    calls = 0

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        self.lin = torch.nn.Linear(input_size, hidden_size)

    def forward(self, x, state=None):
        y = torch.tanh(self.lin(x))
        if self.training:
            Blowup.calls += 1
            if Blowup.calls > 8:
                y = y * float("nan")
        return y, y[:, -1]


def test_nan_loss_ends_the_run_as_diverged_without_raising():
    Blowup.calls = 0
    out = run(spec(sets=("epochs=5",)), cell_factory=Blowup)  # smoke: 512/64 = 8 steps per epoch
    assert out.status == "diverged"
    assert "nan" in out.error and "epoch 2" in out.error
    assert out.epochs == 2 and "test" not in out.metrics
    assert len(out.curves) == 1


def test_early_stopping_and_best_checkpoint_is_a_real_copy():
    # lr 0 → validation never improves after epoch 1 → stop after `patience` stale epochs. The
    # planner refuses lr 0 (TRAIN_BOUNDS), so the spec is changed after planning.
    s = spec(sets=("epochs=10", "patience=2"))
    out = run(dataclasses.replace(s, train={**s.train, "lr": 0.0}))
    assert out.epochs == 3 and out.best_epoch == 1
    # Test metrics come from the best (epoch-1) weights: with lr 0 every epoch has the same
    # weights, so the test score must equal the score those weights give on fresh evaluation.
    assert math.isfinite(out.metrics["test"]["mse"])


def test_test_metrics_come_from_best_weights_not_last():
    """Train with a huge lr so later epochs get worse; the test score must match the best epoch's
    weights, which a state_dict().copy() alias (ARU's bug) would have overwritten."""
    s = spec(sets=("epochs=6", "patience=10", "lr=0.3", "clip=0"))
    out = run(s)
    vals = [c["val_mse"] for c in out.curves]
    assert out.best_epoch == 1 + vals.index(min(vals))
    assert out.best_epoch < out.epochs, "the setup no longer makes later epochs worse: raise lr"
    # Re-train only up to the best epoch: its test score must equal the stored one.
    s2 = spec(sets=(f"epochs={out.best_epoch}", "patience=10", "lr=0.3", "clip=0"))
    assert run(s2).metrics["test"] == out.metrics["test"]
