"""Plain data that describes cells, tasks, presets and training (no torch here).

These objects are what `arena list`, `arena show` and the run keys are made of, so they must
be cheap to import and to serialise.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from arena.validate import MAX_INT64

#: The distribution of arena itself: its cells and tasks are the built-ins.
ARENA_DIST = "rnn-arena"

INPUT_KINDS = ("tokens", "features")
OUTPUT_KINDS = ("classes", "regression")
#: How the host reads the cell's outputs: ``last`` the last step of the (padded) sequence,
#: ``every`` every step, ``last-valid`` each sequence's own last real token (the task gives a
#: ``lengths`` tensor [n] of real tokens per sample; padding after them is never read).
READOUTS = ("last", "every", "last-valid")
#: How the host initialises token embedding tables (arena/model.py): ``torch`` nn.Embedding's own
#: N(0, 1), ``normal-0.02`` N(0, 0.02²) as MARU's reference does; padding rows stay zero.
EMBED_INITS = ("torch", "normal-0.02")


SCALES = ("linear", "log")


@dataclass(frozen=True)
class Metric:
    """A metric a task reports; ``higher_is_better`` gives its direction everywhere.

    ``scale`` is where the metric is compared, tested and averaged: ``"linear"`` (accuracies)
    or ``"log"`` (errors such as MSE or MAE, whose cells differ by factors, not by amounts).
    ``solved`` is the level that counts as solving the task (1.0 for a perfect accuracy, an
    error threshold such as ARU's MSE 0.01); with the task's ``chance()`` it anchors the
    normalised score (chance = 0, solved = 1). A task whose solved level depends on its
    parameters overrides ``Task.solved()`` instead.
    """

    name: str
    higher_is_better: bool
    description: str = ""
    scale: str = "linear"
    solved: float | None = None

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"metric {self.name!r}: scale must be one of {SCALES}, not {self.scale!r}")
        if self.solved is not None:
            if isinstance(self.solved, bool) or not isinstance(self.solved, (int, float)) or not math.isfinite(self.solved):
                raise ValueError(f"metric {self.name!r}: solved must be a finite number, not {self.solved!r}")
            if self.scale == "log" and self.solved <= 0:
                raise ValueError(f"metric {self.name!r}: a log-scale metric needs a positive solved level")

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


@dataclass(frozen=True)
class Preset:
    """A named setting of a task: its parameters and the training configuration to use.

    ``train`` holds overrides of :class:`TrainConfig` fields (hidden size, epochs, lr, ...).
    """

    params: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class CellInfo:
    """What a cell is: a one-line summary, its reference, its equation and its options.

    ``options`` maps each constructor option to its default; `--set cell.NAME=value` may only
    set these. ``capabilities`` names what the implementation offers, e.g. ``"step"``
    (O(1) recurrent inference) or ``"parallel-scan"``. Bump ``version`` whenever the cell's
    computation changes, so stored results of the old computation are not reused.
    ``added_options`` names options added after runs were stored: at their default they are
    left out of a run's options, so those runs keep their keys (the constructor's default
    must then equal the one in ``options``).
    """

    summary: str
    reference: str = ""
    equation: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()
    notes: str = ""
    version: str = "1"
    added_options: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.added_options) - set(self.options)
        if unknown:
            raise ValueError(f"added_options {sorted(unknown)} are not among the options {sorted(self.options)}")


@dataclass(frozen=True)
class TaskInfo:
    """What a task is: its data interface, metrics and presets.

    ``metrics`` lists every metric with its direction and ``main_metric`` names the one the
    leaderboard ranks by. ``params`` maps each task parameter to its default; presets may
    only set known parameters. Bump ``version`` whenever the data or metrics change.
    """

    summary: str
    input_kind: str
    output_kind: str
    readout: str
    metrics: tuple[Metric, ...]
    main_metric: str
    params: Mapping[str, Any]
    presets: Mapping[str, Preset]
    reference: str = ""
    version: str = "1"
    default_preset: str = "standard"
    notes: str = ""
    #: Parameters added after runs were stored: at their default they are left out of a run's
    #: parameters, so those runs keep their keys and data seeds.
    added_params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.added_params) - set(self.params)
        if unknown:
            raise ValueError(f"added_params {sorted(unknown)} are not among the parameters {sorted(self.params)}")
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(f"input_kind must be one of {INPUT_KINDS}, not {self.input_kind!r}")
        if self.output_kind not in OUTPUT_KINDS:
            raise ValueError(f"output_kind must be one of {OUTPUT_KINDS}, not {self.output_kind!r}")
        if self.readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, not {self.readout!r}")
        names = [m.name for m in self.metrics]
        if self.main_metric not in names:
            raise ValueError(f"main_metric {self.main_metric!r} is not among the metrics {names}")
        for pname, preset in self.presets.items():
            unknown = set(preset.params) - set(self.params)
            if unknown:
                raise ValueError(f"preset {pname!r} sets unknown parameters {sorted(unknown)}")
            bad = set(preset.train) - set(TrainConfig.field_names())
            if bad:
                raise ValueError(f"preset {pname!r} sets unknown training fields {sorted(bad)}")

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)


#: The optimizers the training loop knows (arena/training.py maps each to its torch class).
OPTIMIZERS = ("adam", "adamw")
#: How the host wraps each layer of the cell (arena/stack.py): ``none`` a bare cell (layers stack
#: plainly), ``residual`` pre-norm → cell → add, ``residual-mlp`` then pre-norm → MLP → add.
BLOCKS = ("none", "residual", "residual-mlp")
#: Training fields added after the first stored runs: at these values they are left out of a
#: run's training settings, so runs stored before them keep their keys.
LATER_FIELDS: dict[str, Any] = {"budget": 0, "layers": 1, "block": "none", "embed_init": "torch",
                                 "schedule": "constant", "warmup_steps": 0, "min_lr_factor": 0.0}
#: Learning-rate schedules over optimizer steps (arena/schedule.py).
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Bound:
    """A numeric interval: ``low`` ≤ x (``low`` < x when ``low_open``), x < ``high`` (≤ unless ``high_open``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    note: str = ""

    def __contains__(self, x: float) -> bool:
        return ((self.low is None or (x > self.low if self.low_open else x >= self.low))
                and (self.high is None or (x < self.high if self.high_open else x <= self.high)))

    def __str__(self) -> str:
        if self.high is None:
            text = f"{'>' if self.low_open else '≥'} {self.low:g}"
        else:
            text = f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        return text + (f" ({self.note})" if self.note else "")


#: Valid values of the numeric TrainConfig fields; `arena run` refuses anything else (presets
#: included) when it plans the grid, so a nonsense setting never becomes a stored run.
TRAIN_BOUNDS: dict[str, Bound] = {
    "hidden": Bound(1),
    "epochs": Bound(1),
    "batch_size": Bound(1),
    "lr": Bound(0, low_open=True),
    "weight_decay": Bound(0),
    "clip": Bound(0, note="0 = no clipping"),
    "patience": Bound(0),
    "plateau_patience": Bound(0, note="0 = no plateau schedule"),
    "plateau_factor": Bound(0, 1, low_open=True, high_open=True),
    "dropout": Bound(0, 1, high_open=True),
    "budget": Bound(0, note="0 = no budget: the width is `hidden`"),
    "warmup_steps": Bound(0),
    "min_lr_factor": Bound(0, 1),
    "layers": Bound(1),
}


@dataclass(frozen=True)
class TrainConfig:
    """The one training loop's settings; every field is part of the run key.

    Adam (or AdamW) with gradient-norm clipping, early stopping on the validation ``monitor``
    metric (default: the task's main metric) with ``patience`` epochs, optional ReduceLROnPlateau on it (``plateau_patience`` > 0).
    ``dropout`` is applied by the host to the encoder output and to the cell output. ``budget``
    sizes the model to a parameter count (arena/budget.py) instead of ``hidden``; ``layers`` and
    ``block`` stack the cell (arena/stack.py). Valid values: ``TRAIN_BOUNDS`` for the numbers,
    ``OPTIMIZERS`` for ``optimizer``, ``BLOCKS`` for ``block``, ``EMBED_INITS`` for ``embed_init``
    (``validate``).
    """

    hidden: int = 128
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    clip: float = 1.0
    patience: int = 10
    plateau_patience: int = 0
    plateau_factor: float = 0.5
    dropout: float = 0.0
    #: Validation metric for early stopping and checkpoint choice; "" means the main metric.
    monitor: str = ""
    #: Trainable parameters to size the model to, embedding table left out (0: use ``hidden``).
    budget: int = 0
    #: Layers of the cell, each wrapped as ``block`` says (BLOCKS).
    layers: int = 1
    block: str = "none"
    #: Initialisation of the token embedding (EMBED_INITS); no effect on feature inputs.
    embed_init: str = "torch"
    #: Learning rate over optimizer steps (SCHEDULES): linear warm-up over ``warmup_steps``, then
    #: constant, or a cosine decay to ``min_lr_factor`` × lr at the last step (arena/schedule.py).
    schedule: str = "constant"
    warmup_steps: int = 0
    min_lr_factor: float = 0.0

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def field_types(cls) -> dict[str, type]:
        return {f.name: type(f.default) for f in dataclasses.fields(cls)}

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def check_field(cls, name: str, value: Any) -> str | None:
        """What is wrong with ``value`` for field ``name`` (type, finiteness, bounds), or None."""
        kind = cls.field_types()[name]
        if kind is str:
            if not isinstance(value, str):
                return f"{name} must be a string, not {value!r}"
            if name == "optimizer" and value not in OPTIMIZERS:
                return f"unknown optimizer {value!r}: use {' or '.join(OPTIMIZERS)}"
            if name == "block" and value not in BLOCKS:
                return f"unknown block {value!r}: use {', '.join(BLOCKS)}"
            if name == "embed_init" and value not in EMBED_INITS:
                return f"unknown embed_init {value!r}: use {' or '.join(EMBED_INITS)}"
            if name == "schedule" and value not in SCHEDULES:
                return f"unknown schedule {value!r}: use {' or '.join(SCHEDULES)}"
            return None
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric or (kind is int and not isinstance(value, int)):
            return f"{name} must be {'an integer' if kind is int else 'a number'}, not {value!r}"
        if isinstance(value, int) and abs(value) > MAX_INT64:
            return f"{name} {value} is too large"
        if not math.isfinite(value):
            return f"{name} must be a finite number, not {value!r}"
        bound = TRAIN_BOUNDS.get(name)
        if bound is not None and value not in bound:
            return f"{name} must be {bound}, not {value!r}"
        return None

    @staticmethod
    def conflict(train: Mapping[str, Any]) -> str | None:
        """What is wrong with a combination of fields, or None (each field already valid)."""
        if train.get("schedule", "constant") != "constant" and train.get("plateau_patience", 0) > 0:
            return "schedule and plateau_patience both set the learning rate: use one of them"
        return None

    def validate(self) -> None:
        """Raise ValueError naming the first field whose value the training loop cannot use."""
        for name, value in self.as_dict().items():
            problem = self.check_field(name, value)
            if problem:
                raise ValueError(problem)
        problem = self.conflict(self.as_dict())
        if problem:
            raise ValueError(problem)
