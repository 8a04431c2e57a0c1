"""arena/stream.py: parallel streams, truncated BPTT with carried state, carried and reset evaluation."""
import copy
import math

import pytest
import torch

from arena import Metric, Preset, Task, TaskInfo
from arena.contracts import TrainConfig
from arena.model import build_model
from arena.plugins.baselines import GRU
from arena.stream import detach, evaluate, parallel_streams, stream_outputs, train_epoch, windows
from arena.stack import StackedCell


class ToyStream(Task):
    """A fixed pseudo-random token stream; the next token is the target."""

    info = TaskInfo(summary="toy stream", input_kind="tokens", output_kind="classes", readout="every",
                    metrics=(Metric("nll", False, solved=0.1), Metric("gap", True)), main_metric="nll",
                    params={"n": 301, "bptt": 7}, presets={"smoke": Preset()})
    stream = True
    discrete_inputs = False

    input_size = 5
    output_size = 5

    @property
    def bptt(self):
        return self.params["bptt"]

    def data(self, split, *, seed, epoch, device):
        g = torch.Generator().manual_seed({"train": 0, "val": 1, "test": 2}[split])
        ids = torch.randint(0, 5, (self.params["n"],), generator=g)
        return {"x": ids[:-1].unsqueeze(0), "y": ids[1:].unsqueeze(0)}

    def evaluate(self, out, batch):
        ce = torch.nn.functional.cross_entropy
        carried = ce(out.reshape(-1, 5), batch["y"].reshape(-1)).item()
        reset = ce(batch["out_reset"].reshape(-1, 5), batch["y"].reshape(-1)).item()
        return {"nll": carried, "gap": reset - carried}


def model_for(task, layers=1, block="none", seed=0):
    torch.manual_seed(seed)
    return build_model(task, GRU, {}, TrainConfig(hidden=6, layers=layers, block=block))


def test_parallel_streams_and_windows_match_a_plain_loop():
    seq = torch.arange(23)
    got = parallel_streams(seq.unsqueeze(0), 4)
    assert got.tolist() == [[b * 5 + i for i in range(5)] for b in range(4)]  # the tail 20..22 is dropped
    assert [(w.start, w.stop) for w in windows(10, 4)] == [(0, 4), (4, 8), (8, 10)]
    covered = [i for w in windows(31, 7) for i in range(31)[w]]
    assert covered == list(range(31))
    with pytest.raises(ValueError, match="lower batch_size"):
        parallel_streams(seq, 24)


def test_detach_keeps_the_state_shape():
    a = torch.ones(2, requires_grad=True) * 2
    state = (a, [a, None])
    out = detach(state)
    assert isinstance(out, tuple) and isinstance(out[1], list) and out[1][1] is None
    assert not out[0].requires_grad and torch.equal(out[0], a)


@pytest.mark.parametrize("layers,block", [(1, "none"), (2, "residual-mlp")])
def test_carried_evaluation_equals_one_call_on_the_whole_stream(layers, block):
    task = ToyStream()
    model = model_for(task, layers, block).eval()
    x = task.data("val", seed=0, epoch=0, device="cpu")["x"]
    with torch.no_grad():
        whole, _ = model.stream(x)
        carried = stream_outputs(model, x, bptt=7, carry=True)
        reset = stream_outputs(model, x, bptt=7, carry=False)
        first = stream_outputs(model, x[:, :7], bptt=7, carry=False)
    assert torch.allclose(carried, whole, atol=1e-6)
    assert torch.allclose(reset[:, :7], first, atol=1e-6)  # the first window starts from zero either way
    assert not torch.allclose(reset, whole, atol=1e-4)  # later windows lose their context
    if layers == 2:
        assert isinstance(model.cell, StackedCell)


def test_evaluate_gives_the_task_both_outputs():
    task = ToyStream()
    model = model_for(task)
    data = task.data("test", seed=0, epoch=0, device="cpu")
    metrics = evaluate(model, task, data)
    with torch.no_grad():
        whole, _ = model.stream(data["x"])
    nll = torch.nn.functional.cross_entropy(whole.reshape(-1, 5), data["y"].reshape(-1)).item()
    assert metrics["nll"] == pytest.approx(nll, rel=1e-6)
    assert metrics["gap"] != 0.0 and model.training  # evaluation leaves the model in training mode


def test_training_with_carried_state_equals_one_shot_training_when_a_window_covers_the_stream():
    task = ToyStream(n=41, bptt=100)  # 40 tokens, 2 streams of 20: one window each epoch
    a, b = model_for(task), None
    b = copy.deepcopy(a)
    train = task.data("train", seed=0, epoch=0, device="cpu")
    opt_a = torch.optim.SGD(a.parameters(), lr=0.1)

    def step(loss):
        opt_a.zero_grad()
        loss.backward()
        opt_a.step()

    loss_sum, n = train_epoch(a, task, train, 2, step)
    assert n == 1
    opt_b = torch.optim.SGD(b.parameters(), lr=0.1)
    x, y = train["x"].reshape(2, 20), train["y"].reshape(2, 20)
    out = b(x)  # the ordinary readout-every forward from a zero state
    loss = torch.nn.functional.cross_entropy(out.reshape(-1, 5), y.reshape(-1))
    opt_b.zero_grad()
    loss.backward()
    opt_b.step()
    assert float(loss_sum) == pytest.approx(float(loss.detach()), rel=1e-6)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-7)


def test_windows_carry_the_state_but_not_the_gradient():
    task = ToyStream(n=43, bptt=7)  # 2 streams of 21 tokens: 3 windows
    model = model_for(task)
    train = task.data("train", seed=0, epoch=0, device="cpu")
    seen = []
    orig = model.stream

    def spy(x, state=None):
        seen.append(state)
        return orig(x, state)

    model.stream = spy
    losses = []
    train_epoch(model, task, train, 2, lambda loss: (losses.append(loss), loss.backward()))
    assert len(losses) == 3 and seen[0] is None
    assert all(s is not None and not s.requires_grad for s in seen[1:])  # carried, detached
    # The second window's input state is the first window's final state on the same streams.
    torch.manual_seed(0)
    fresh = model_for(task)
    x = parallel_streams(train["x"], 2)
    with torch.no_grad():
        _, state = fresh.stream(x[:, :7])
    assert torch.allclose(seen[1], state, atol=1e-6)


def test_a_stream_run_trains_and_stores_every_metric():
    from arena.plan import RunSpec
    from arena.training import train_run

    train = {**TrainConfig(hidden=8, epochs=3, batch_size=4, lr=1e-2, patience=5).as_dict()}
    spec = RunSpec(cell="gru", cell_version="1", cell_options={}, task="toy", task_version="1", preset="smoke",
                   params={"n": 401, "bptt": 10}, train=train, seed=0)
    out = train_run(spec, ToyStream, GRU, torch.device("cpu"))
    assert out.status == "done" and out.epochs == 3
    assert set(out.metrics["test"]) == {"nll", "gap"} and math.isfinite(out.metrics["test"]["nll"])
    assert [c["epoch"] for c in out.curves] == [1, 2, 3]
