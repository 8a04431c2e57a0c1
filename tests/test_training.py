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


# -- readout "last-valid" and the embedding initialisation ---------------------------------------

def _readout_model(cell, readout="last-valid"):
    from arena.model import SequenceModel

    return SequenceModel(torch.nn.Identity(), cell, torch.nn.Identity(), readout, dropout=0.0).eval()


def test_last_valid_readout_reads_each_sequence_at_its_own_last_token():
    """The readout equals a plain loop over the lengths (y[i, len_i − 1]) and, cells being
    causal, the last output of the cell run on the unpadded sequence alone."""
    from arena.plugins.baselines import GRU
    from arena.plugins.mingru import MinGRU

    torch.manual_seed(0)
    B, T, D, H = 6, 9, 3, 5
    x = torch.randn(B, T, D)
    lengths = torch.tensor([T, 1, 4, T - 1, 2, 7])  # one of full length, one of a single token
    for cell in (GRU(D, H), MinGRU(D, H)):
        model = _readout_model(cell)
        with torch.no_grad():
            got = model(x, lengths)
            y, _ = cell(x)
            loop = torch.stack([y[i, int(n) - 1] for i, n in enumerate(lengths)])
            alone = torch.stack([cell(x[i:i + 1, :int(n)])[0][0, -1] for i, n in enumerate(lengths)])
        assert got.shape == (B, H)
        assert torch.equal(got, loop)
        torch.testing.assert_close(got, alone, rtol=1e-5, atol=1e-6)
        assert torch.equal(got[0], y[0, -1])  # full length: the same as readout "last"
        assert torch.equal(_readout_model(cell, "last")(x, lengths), y[:, -1])  # "last" ignores lengths


def test_last_valid_readout_needs_lengths():
    import pytest

    from arena.plugins.baselines import GRU

    model = _readout_model(GRU(2, 3))
    with pytest.raises(ValueError, match="lengths"):
        model(torch.randn(2, 4, 2))
    with pytest.raises(ValueError, match=r"lengths must be \[batch\]"):
        model(torch.randn(2, 4, 2), torch.tensor([1, 2, 3]))


def test_last_valid_readout_trains_through_the_loop(shared_data):
    """A task that chooses readout "last-valid" gets its lengths passed by the training loop."""
    s = spec(task="ag-news", sets=("task.readout=last-valid", "epochs=1"))
    assert s.params["readout"] == "last-valid"
    out = run(s)
    assert out.status == "done" and 0 <= out.metrics["test"]["acc"] <= 1


def _token_task(vocab=20000):
    from arena.tasks.ag_news import AgNewsTask

    class Tokens(AgNewsTask):  # only sizes matter here: no data is read
        @property
        def input_size(self):
            return vocab

    return Tokens(source="test-only", n_train=10, n_val=10, n_test=10)


def test_embed_init_normal_002_draws_the_reference_embedding():
    from arena.contracts import TrainConfig
    from arena.model import build_model
    from arena.plugins.baselines import GRU

    task = _token_task()
    torch.manual_seed(0)
    default = build_model(task, GRU, {}, TrainConfig(hidden=64))
    torch.manual_seed(0)
    small = build_model(task, GRU, {}, TrainConfig(hidden=64, embed_init="normal-0.02"))
    w = small.encoder.weight.detach()
    assert torch.all(w[0] == 0)  # the padding row stays zero
    assert abs(float(w[1:].std()) - 0.02) < 0.0005 and abs(float(w[1:].mean())) < 0.0005
    assert abs(float(default.encoder.weight.detach()[1:].std()) - 1.0) < 0.01
    # Only the embedding is redrawn: the cell and head are the default's, number for number.
    a, b = default.state_dict(), small.state_dict()
    assert [k for k in a if not torch.equal(a[k], b[k])] == ["encoder.weight"]


def test_default_embed_init_builds_the_same_weights_as_before():
    """embed_init "torch" draws nothing more: the model is the one the host built before the
    option existed (embedding, cell, head constructed in that order under the run's seed)."""
    from arena.contracts import TrainConfig
    from arena.model import build_model
    from arena.plugins.baselines import GRU

    task = _token_task(vocab=500)
    torch.manual_seed(7)
    model = build_model(task, GRU, {}, TrainConfig(hidden=16))
    next_after = torch.randn(3)
    torch.manual_seed(7)
    emb = torch.nn.Embedding(500, 16, padding_idx=0)
    cell = GRU(16, 16)
    head = torch.nn.Linear(16, 4)
    assert torch.equal(torch.randn(3), next_after)  # and no more random numbers drawn (dropout follows)
    before = {**{f"encoder.{k}": v for k, v in emb.state_dict().items()},
              **{f"cell.{k}": v for k, v in cell.state_dict().items()},
              **{f"head.{k}": v for k, v in head.state_dict().items()}}
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)


def test_embed_init_is_validated_and_left_out_of_keys_at_its_default():
    import pytest

    from arena.contracts import LATER_FIELDS, TrainConfig
    from arena.errors import ArenaError

    assert LATER_FIELDS["embed_init"] == "torch" == TrainConfig().embed_init
    assert TrainConfig.check_field("embed_init", "normal-0.02") is None
    assert "unknown embed_init" in TrainConfig.check_field("embed_init", "xavier")
    with pytest.raises(ValueError, match="unknown embed_init"):
        TrainConfig(embed_init="xavier").validate()
    assert "embed_init" not in spec().train
    assert spec(sets=("embed_init=normal-0.02",)).train["embed_init"] == "normal-0.02"
    with pytest.raises(ArenaError, match="unknown embed_init"):
        spec(sets=("embed_init=xavier",))
