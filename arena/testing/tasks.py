"""The task contract checks (TASK_CHECKS): :func:`check_task` and the checks themselves."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from arena.testing.common import (TASK_CHECKS, CheckFailed, CheckResult, CheckSkipped, Reference, _run_all, _select,
                                  _short)


# -- tasks --------------------------------------------------------------------------------------
@dataclass
class TaskTarget:
    name: str
    factory: Callable[..., Any]
    info: Any
    params: dict[str, Any]
    preset: str


def resolve_task(task: Any, params: Mapping[str, Any] | None = None, preset: str | None = None) -> TaskTarget:
    """A registered task name, a ``"module:Class"`` string, or a ``Task`` subclass."""
    from arena.registry import resolve

    if isinstance(task, str) and ":" not in task:
        from arena.host import get_host

        entry = get_host().tasks.get(task)
        name, factory, info = entry.name, entry.load(), entry.info
    else:
        factory = resolve(task)
        info = factory.info
        name = task.rsplit(":", 1)[-1] if isinstance(task, str) else getattr(factory, "__name__", "task")
    if preset is None:
        preset = "smoke" if "smoke" in info.presets else info.default_preset
    elif preset not in info.presets:
        raise ValueError(f"task {name!r} has no preset {preset!r}; presets: {list(info.presets)}")
    base = dict(info.params)
    if preset in info.presets:
        base.update(info.presets[preset].params)
    base.update(params or {})
    return TaskTarget(name, factory, info, base, preset)


class _TaskChecks:
    def __init__(self, target: TaskTarget, reference: Reference | None, n_reference: int, seed: int,
                 device: str) -> None:
        self.t = target
        self.ref = reference
        self.n_reference = n_reference
        self.seed = seed
        self.device = device
        self._task: Any = None
        self._missing: str | None = None

    def task(self) -> Any:
        if self._task is None:
            self._task = self.t.factory(**self.t.params)
            try:
                self._task.prepare()
            except Exception as exc:  # noqa: BLE001
                from arena.datasets import DataMissingError

                if not isinstance(exc, DataMissingError):
                    raise
                self._missing = str(exc)
        return self._task

    def data_task(self) -> Any:
        task = self.task()
        if self._missing:
            raise CheckSkipped(f"data not available: {self._missing}")
        return task

    def data(self, split: str, seed: int | None = None, epoch: int = 0) -> dict[str, Any]:
        import torch

        out = self.data_task().data(split, seed=self.seed if seed is None else seed, epoch=epoch,
                                    device=torch.device(self.device))
        if not isinstance(out, dict) or "x" not in out or "y" not in out:
            raise CheckFailed(f"data({split!r}) must return a dict with at least 'x' and 'y', got "
                              f"{sorted(out) if isinstance(out, dict) else type(out).__name__}")
        return out

    # checks
    def construct(self) -> str:
        from arena.contracts import TaskInfo
        from arena.task import Task

        task = self.task()
        if not isinstance(task, Task):
            raise CheckFailed(f"the factory returned {type(task).__name__}, not a subclass of arena.Task")
        if not isinstance(task.info, TaskInfo):
            raise CheckFailed("info must be an arena.TaskInfo")
        for what in ("input_size", "output_size"):
            value = getattr(task, what)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise CheckFailed(f"{what} must be a positive int, got {value!r}")
        note = f"; {self._missing}" if self._missing else ""
        return f"preset {self.t.preset!r}: input_size {task.input_size}, output_size {task.output_size}{note}"

    def presets(self) -> str:
        info = self.t.info
        if "smoke" not in info.presets:
            raise CheckFailed("no 'smoke' preset (seconds on a CPU); tests and `arena run --preset smoke` use it")
        if info.default_preset not in info.presets:
            raise CheckFailed(f"default_preset {info.default_preset!r} is not among the presets {list(info.presets)}")
        for name, preset in info.presets.items():
            try:
                self.t.factory(**{**info.params, **preset.params})
            except Exception as exc:  # noqa: BLE001
                raise CheckFailed(f"preset {name!r} does not build: {_short(exc)}") from None
        return f"{len(info.presets)} presets: {', '.join(info.presets)}"

    def data_determinism(self) -> str:
        import torch

        for split in ("train", "val", "test"):
            a, b = self.data(split), self.data(split)
            if set(a) != set(b):
                raise CheckFailed(f"data({split!r}) returned different keys on two calls")
            for k in a:
                if not torch.equal(a[k], b[k]):
                    raise CheckFailed(f"data({split!r}, seed={self.seed}) differs between two calls in {k!r}; "
                                      "draw every random number from the generator passed to generate()")
        other = self.data("test", seed=self.seed + 1)
        if self.task().stream:  # a stream's splits are fixed by position: the seed only draws weights
            if not torch.equal(other["x"], self.data("test")["x"]):
                raise CheckFailed("a stream task's data('test') changes with the seed; its splits must be fixed")
            return "same data for every seed (a stream, split by position)"
        if torch.equal(other["x"], self.data("test")["x"]):
            raise CheckFailed("data('test') is the same for two different seeds")
        fresh = ""
        if self.task().fresh_train_data():
            if torch.equal(self.data("train", epoch=1)["x"], self.data("train")["x"]):
                raise CheckFailed("fresh training data is the same in epochs 0 and 1")
            fresh = "; fresh training data per epoch"
        return f"same seed, same data; another seed, other data{fresh}"

    def data_shapes(self) -> str:
        import torch

        task = self.data_task()
        info = task.info
        batch = self.data("val")
        x, y, mask = batch["x"], batch["y"], batch.get("mask")
        if task.stream:
            self._stream_shape(task, x, y)
        n = 1 if task.stream else task.split_size("val")
        for k, v in batch.items():
            if not isinstance(v, torch.Tensor) or v.shape[0] != n:
                raise CheckFailed(f"{k!r} must be a tensor with the {n} samples of split 'val' first, "
                                  f"got shape {tuple(getattr(v, 'shape', ()))}")
        custom_encoder = getattr(task, "build_encoder", None) is not None
        if info.input_kind == "tokens" and not custom_encoder:
            if x.dtype.is_floating_point or x.dim() != 2:
                raise CheckFailed(f"token inputs must be integer [n, T], got {x.dtype} {tuple(x.shape)}")
            if int(x.min()) < 0 or int(x.max()) >= task.input_size:
                raise CheckFailed(f"token ids span [{int(x.min())}, {int(x.max())}], outside [0, input_size="
                                  f"{task.input_size})")
        elif info.input_kind == "features":
            if not x.dtype.is_floating_point or x.dim() != 3 or x.shape[-1] != task.input_size:
                raise CheckFailed(f"feature inputs must be float [n, T, input_size={task.input_size}], got "
                                  f"{x.dtype} {tuple(x.shape)}")
        if info.output_kind == "classes":
            if y.dtype.is_floating_point:
                raise CheckFailed(f"class labels must be integers, got {y.dtype}")
            if int(y.min()) < 0 or int(y.max()) >= task.output_size:
                raise CheckFailed(f"labels span [{int(y.min())}, {int(y.max())}], outside [0, output_size="
                                  f"{task.output_size})")
        elif not y.dtype.is_floating_point:
            raise CheckFailed(f"regression targets must be floating point, got {y.dtype}")
        if mask is not None:
            if info.readout != "every" or tuple(mask.shape) != tuple(x.shape[:2]):
                raise CheckFailed(f"mask must be [n, T] = {tuple(x.shape[:2])} with readout 'every', got "
                                  f"{tuple(mask.shape)} with readout {info.readout!r}")
            if not mask.bool().any(dim=1).all():
                raise CheckFailed("some samples have no masked (scored) position")
        return f"x {x.dtype} {tuple(x.shape[1:])}, y {y.dtype} {tuple(y.shape[1:])}" + (
            f", mask {tuple(mask.shape[1:])}" if mask is not None else "")

    @staticmethod
    def _stream_shape(task: Any, x: Any, y: Any) -> None:
        if x.dim() != 2 or x.shape[0] != 1 or tuple(y.shape[:2]) != tuple(x.shape):
            raise CheckFailed(f"a stream task's split is one sequence: x and y [1, N], got x {tuple(x.shape)}, "
                              f"y {tuple(y.shape)}")
        bptt = getattr(task, "bptt", None)
        if not isinstance(bptt, int) or isinstance(bptt, bool) or bptt < 1:
            raise CheckFailed(f"a stream task needs a positive int `bptt` (tokens per training window), got {bptt!r}")
        if task.readout != "every":
            raise CheckFailed(f"a stream task reads every step (readout 'every'), not {task.readout!r}")

    def _outputs(self, batch: Mapping[str, Any]) -> Any:
        import torch

        from arena.contracts import TrainConfig
        from arena.model import build_model
        from arena.plugins.baselines import GRU

        torch.manual_seed(0)
        task = self.data_task()
        model = build_model(task, GRU, {}, TrainConfig(hidden=8)).to(self.device)
        if task.stream:  # the carried outputs, and the reset ones that a stream's evaluate() reads
            from arena.stream import stream_outputs

            with torch.no_grad():
                batch["out_reset"] = stream_outputs(model, batch["x"], task.bptt, carry=False)
            return model, model.stream(batch["x"])[0]
        return model, model(batch["x"], batch.get("lengths"))

    def metrics(self) -> str:
        import torch

        task = self.data_task()
        info = task.info
        names = [m.name for m in info.metrics]
        if len(set(names)) != len(names):
            raise CheckFailed(f"metric names repeat: {names}")
        batch = {k: v[:64] for k, v in self.data("val").items()}
        model, out = self._outputs(batch)
        loss = task.loss(out, batch)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not torch.isfinite(loss):
            raise CheckFailed(f"loss() must return a finite scalar tensor, got {loss!r}")
        loss.backward()
        if all(p.grad is None for p in model.parameters()):
            raise CheckFailed("loss() does not back-propagate into the model")
        with torch.no_grad():
            values = task.evaluate(out.detach(), batch)
        if not isinstance(values, dict) or set(values) != set(names):
            got = sorted(values) if isinstance(values, dict) else type(values).__name__
            raise CheckFailed(f"evaluate() returned {got}; TaskInfo.metrics are {sorted(names)}")
        bad = {k: v for k, v in values.items()
               if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)}
        if bad:
            raise CheckFailed(f"evaluate() must return finite floats; got {bad}")
        arrows = ", ".join(f"{m.name} {m.arrow}" for m in info.metrics)
        return f"evaluate() gives {arrows}; main {info.main_metric}"

    def chance(self) -> str:
        info = self.t.info
        chance = self.task().chance()
        if not isinstance(chance, dict):
            raise CheckFailed(f"chance() must return a dict, got {type(chance).__name__}")
        names = {m.name for m in info.metrics}
        unknown = set(chance) - names
        if unknown:
            raise CheckFailed(f"chance() names unknown metrics {sorted(unknown)}; metrics are {sorted(names)}")
        if info.main_metric not in chance:
            raise CheckFailed(f"chance() does not cover the main metric {info.main_metric!r}")
        bad = {k: v for k, v in chance.items() if not isinstance(v, (int, float)) or not math.isfinite(v)}
        if bad:
            raise CheckFailed(f"chance() must give finite numbers; got {bad}")
        solved = self.task().solved()
        if not isinstance(solved, dict) or set(solved) - names:
            got = sorted(set(solved) - names) if isinstance(solved, dict) else type(solved).__name__
            raise CheckFailed(f"solved() must map known metrics to their solved levels; got {got}")
        if info.main_metric not in solved:
            raise CheckFailed(f"no solved level for the main metric {info.main_metric!r}: declare "
                              f"Metric(..., solved=LEVEL) (1.0 for an accuracy) or override solved(); the board scores "
                              f"runs from chance (0) to solved (1)")
        from arena.stats.scores import Anchors

        for name, level in solved.items():
            m = info.metric(name)
            problem = Anchors(m.higher_is_better, m.scale, chance.get(name), level).problem
            if name in chance and problem:
                raise CheckFailed(f"metric {name!r}: {problem}")
        main = info.metric(info.main_metric)
        return (", ".join(f"{k} {v:.4g}" for k, v in chance.items())
                + f"; solved {main.name} {solved[main.name]:.4g} ({main.scale} scale)")

    def reference(self) -> str:
        import torch

        if self.ref is None:
            raise CheckSkipped("no slow reference given (pass reference=... to check_task / make_task_tests)")
        batch = self.data("test")
        n = min(self.n_reference, batch["x"].shape[0])
        for i in range(n):
            sample = batch["x"][i].detach().cpu()
            expected = self.ref(sample, dict(self.t.params))
            want = expected if isinstance(expected, dict) else {"y": expected}
            for key, value in want.items():
                if key not in batch:
                    raise CheckFailed(f"the reference gives {key!r}, which data() does not return")
                got = batch[key][i].detach().cpu()
                value = torch.as_tensor(value)
                if value.numel() != got.numel():
                    raise CheckFailed(f"test sample {i}: the reference gives {value.numel()} numbers for {key!r}, "
                                      f"data() has {got.numel()}")
                value = value.to(got.dtype).reshape(got.shape)
                if got.dtype.is_floating_point:
                    same = torch.allclose(got, value, rtol=1e-5, atol=1e-6)
                else:
                    same = torch.equal(got, value)
                if not same:
                    raise CheckFailed(f"test sample {i}: {key} is {got.tolist()}, the reference says {value.tolist()}")
        return f"{n} test samples agree with the reference"

    def smoke_run(self) -> str:
        import torch

        from arena.contracts import TrainConfig
        from arena.plan import RunSpec
        from arena.plugins.baselines import GRU
        from arena.training import train_run

        self.data_task()
        info = self.t.info
        preset = info.presets.get(self.t.preset)
        train = {**TrainConfig().as_dict(), **(preset.train if preset else {}), "epochs": 1}
        spec = RunSpec(cell="gru", cell_version="1", cell_options={}, task=self.t.name, task_version=info.version,
                       preset=self.t.preset, params=dict(self.t.params), train=train, seed=self.seed)
        t0 = time.perf_counter()
        out = train_run(spec, self.t.factory, GRU, torch.device(self.device))
        if out.status != "done":
            raise CheckFailed(f"one epoch of gru ended {out.status}: {out.error}")
        got = set(out.metrics.get("test", {}))
        if got != {m.name for m in info.metrics}:
            raise CheckFailed(f"test metrics {sorted(got)} differ from TaskInfo.metrics")
        main = out.metrics["test"][info.main_metric]
        seconds = time.perf_counter() - t0
        return f"1 epoch of gru at {self.t.preset!r}: test {info.main_metric} {main:.4g} ({seconds:.1f}s)"


def check_task(task: Any, *, params: Mapping[str, Any] | None = None, preset: str | None = None,
               reference: Reference | None = None, n_reference: int = 4, checks: Iterable[str] | None = None,
               skip: Iterable[str] = (), seed: int = 0, device: str = "cpu") -> list[CheckResult]:
    """Run the contract checks on a task; never raises for a broken task.

    ``task`` is a registered name, a ``"module:Class"`` string or the class. The task is built at
    ``preset`` (default ``smoke``) with ``params`` on top. ``reference(x, params)`` gets one test
    sample's input (a CPU tensor) and the task parameters, and returns that sample's expected
    ``y`` (anything ``torch.as_tensor`` takes) or a dict of expected tensors (``{"y": ..., "mask": ...}``).
    """
    names = _select(checks, skip, TASK_CHECKS)
    try:
        target = resolve_task(task, params, preset)
    except Exception as exc:  # noqa: BLE001
        label = task if isinstance(task, str) else getattr(task, "__name__", repr(task))
        return [CheckResult(f"task {label}", "construct", "fail", f"cannot resolve the task: {_short(exc)}")]
    runner = _TaskChecks(target, reference, n_reference, seed, device)
    subject = f"task {target.name}"
    return _run_all(subject, "task", names, runner)
