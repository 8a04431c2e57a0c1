"""From command-line choices to a list of fully specified runs.

A run is (cell + options, task + parameters, training configuration, seed). Presets fill task
parameters and training fields; ``--set`` overrides them. Values are coerced to the type of the
default they replace, so ``--set lr=1`` and ``--set lr=1.0`` are the same run.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from arena.contracts import LATER_FIELDS, CellInfo, TaskInfo, TrainConfig
from arena.errors import ArenaError, UnknownNameError
from arena.keys import derive_seed, run_key
from arena.registry import Registry, suggest
from arena.validate import MAX_INT64, check_finite, nonfinite


@dataclass(frozen=True)
class RunSpec:
    cell: str
    cell_version: str
    cell_options: dict[str, Any]
    task: str
    task_version: str
    preset: str
    params: dict[str, Any]
    train: dict[str, Any]
    seed: int
    #: The distributions that provide the cell and the task: two implementations registered
    #: under one name never share a run key (nor, on the board, a row).
    cell_dist: str = ""
    task_dist: str = ""
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", run_key(self.identity()))

    def identity(self) -> dict[str, Any]:
        """Everything that defines the run's result, and nothing else (the preset name and the
        device are labels, not causes)."""
        return {
            "cell": {"name": self.cell, "dist": self.cell_dist, "version": self.cell_version,
                     "options": self.cell_options},
            "task": {"name": self.task, "dist": self.task_dist, "version": self.task_version, "params": self.params},
            "train": self.train,
            "seed": self.seed,
        }

    @property
    def data_seed(self) -> int:
        """Same for every cell: all cells see the same samples (paired comparisons)."""
        return derive_seed("data", self.task, self.task_version, self.params, self.seed)

    @property
    def init_seed(self) -> int:
        return derive_seed("init", self.cell, self.seed)

    def train_config(self) -> TrainConfig:
        return TrainConfig(**self.train)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields (for worker processes and result files)."""
        return {"cell": self.cell, "cell_dist": self.cell_dist, "cell_version": self.cell_version,
                "cell_options": self.cell_options, "task": self.task, "task_dist": self.task_dist,
                "task_version": self.task_version, "preset": self.preset, "params": self.params, "train": self.train,
                "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunSpec":
        # A record without distributions (arena before 0.2) gets a key that differs from the one
        # it carries, so `arena ingest` counts it invalid rather than guessing who made it.
        return cls(**{k: d[k] for k in ("cell", "cell_version", "cell_options", "task", "task_version", "preset",
                                        "params", "train", "seed")},
                   cell_dist=d.get("cell_dist", ""), task_dist=d.get("task_dist", ""))

    def label(self) -> str:
        return f"{self.cell} on {self.task}[{self.preset}] seed {self.seed}"


MAX_SEEDS = 10_000


def parse_seeds(text: str) -> list[int]:
    """``"0-4"``, ``"0,2,7"``, ``"3"`` or mixtures like ``"0-2,10"``: at most 10,000 distinct
    seeds in all, each in [0, 2^63-1]."""
    seeds: dict[int, None] = {}  # ordered and deduplicated as it grows: memory stays bounded
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part) or re.fullmatch(r"(\d+)()", part)
        if not m:
            raise ArenaError(f"bad seeds {text!r}: use a range like 0-4, a list like 0,1,5, or a single seed")
        for digits in m.groups():
            # Compare the digits before int(): Python refuses to parse more than 4,300 of them.
            if len(digits.lstrip("0")) > 19 or (digits and int(digits) > MAX_INT64):
                raise ArenaError(f"bad seed {digits[:30]}{'...' if len(digits) > 30 else ''}: "
                                 f"seeds go up to 2^63-1 ({MAX_INT64})")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if hi < lo:
            raise ArenaError(f"bad seed range {part!r}: the end is before the start")
        if hi - lo + 1 > MAX_SEEDS:
            raise ArenaError(f"bad seed range {part!r}: more than {MAX_SEEDS:,} seeds")
        seeds.update(dict.fromkeys(range(lo, hi + 1)))
        if len(seeds) > MAX_SEEDS:
            raise ArenaError(f"bad seeds {text!r}: more than {MAX_SEEDS:,} seeds in all")
    return list(seeds)


def split_names(text: str | Iterable[str]) -> list[str]:
    """Split ``"a,b[k=1,2],c"`` on the commas that are outside brackets."""
    texts = [text] if isinstance(text, str) else list(text)
    names: list[str] = []
    for t in texts:
        depth, cur = 0, ""
        for ch in t:
            depth += (ch == "[") - (ch == "]")
            if depth < 0:
                raise ArenaError(f"unbalanced brackets in {t!r}")
            if ch == "," and depth == 0:
                names.append(cur.strip())
                cur = ""
            else:
                cur += ch
        if depth:
            raise ArenaError(f"unbalanced brackets in {t!r}")
        names.append(cur.strip())
    names = [n for n in names if n]
    if not names:
        raise ArenaError("no name given")
    return list(dict.fromkeys(names))


def parse_sweep(text: str) -> tuple[str, dict[str, list[Any]]]:
    """``"interference[n_distractors=10,25;n_pairs=5]"`` → name and the values of each key.

    Keys are separated by ``;``, values by ``,``; the runs cover every combination.
    """
    m = re.fullmatch(r"\s*([^\[\]\s]+)\s*(?:\[(.*)\])?\s*", text)
    if not m:
        raise ArenaError(f"bad name {text!r}: use NAME or NAME[key=v1,v2;other=v3]")
    name, body = m.group(1), m.group(2)
    sweep: dict[str, list[Any]] = {}
    if body is not None:
        for part in body.split(";"):
            key, sep, values = part.partition("=")
            key = key.strip()
            if not sep or not key or not values.strip():
                raise ArenaError(f"bad sweep {part!r} in {text!r}: use key=v1,v2,...")
            sweep[key] = [parse_value(v.strip(), f"{key} in {text!r}") for v in values.split(",") if v.strip()]
    return name, sweep


def _combinations(sweep: dict[str, list[Any]]) -> list[dict[str, Any]]:
    combos: list[dict[str, Any]] = [{}]
    for key, values in sweep.items():
        combos = [{**c, key: v} for c in combos for v in values]
    return combos


def parse_value(text: str, what: str = "") -> Any:
    """JSON when it parses (numbers, true/false, null, lists), else the raw string.

    NaN, Infinity and numbers too large for a float (1e400) are refused: no setting means them
    and a run key cannot hold them.
    """
    try:
        value = json.loads(text)
    except ValueError:
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        return text
    if nonfinite(value):
        raise ArenaError(f"bad value {text!r}{' for ' + what if what else ''}: numbers must be finite")
    return value


def parse_count(value: Any) -> Any:
    """``"20k"`` → 20000 and ``"1.5M"`` → 1500000; anything else unchanged."""
    if isinstance(value, str) and value[-1:] in ("k", "K", "m", "M"):
        try:
            number = float(value[:-1]) * (1_000 if value[-1] in "kK" else 1_000_000)
        except ValueError:
            return value
        return int(number) if number.is_integer() else value
    return value


def without_added(values: dict[str, Any], defaults: Any, added: Iterable[str]) -> dict[str, Any]:
    """``values`` without the options or parameters added after runs were stored, where they are
    at their default: a run that does not use them keeps the key it had before they existed."""
    return {k: v for k, v in values.items() if not (k in added and v == defaults[k])}


def run_train(train: dict[str, Any]) -> dict[str, Any]:
    """The training settings as a run records them: fields added after the first stored runs
    are left out at their defaults (so those runs keep their keys), and with a budget the
    width is solved, so ``hidden`` is left out."""
    out = {k: v for k, v in train.items() if not (k in LATER_FIELDS and v == LATER_FIELDS[k])}
    if out.get("budget"):
        out.pop("hidden", None)
    return out


def coerce(value: Any, default: Any, what: str) -> Any:
    """Give ``value`` the type of ``default`` (bool/int/float/str); other defaults pass through.

    Numbers must be finite and integers fit in 64 bits (``"nan"`` and ``"inf"`` reach here as
    strings that float() would accept).
    """
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            if value in (0, 1):
                return bool(value)
            raise ValueError
        if isinstance(default, int):
            if isinstance(value, bool) or (not isinstance(value, int) and not float(value).is_integer()):
                raise ValueError
            number = int(value)
            if abs(number) > MAX_INT64:
                raise ArenaError(f"bad value for {what}: {str(value)[:30]}... is too large (at most 2^63-1)")
            return number
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if not math.isfinite(number):
                raise ArenaError(f"bad value {value!r} for {what}: numbers must be finite")
            return number
        if isinstance(default, str):
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError, OverflowError):
        raise ArenaError(f"bad value {value!r} for {what}: expected {type(default).__name__}") from None
    if nonfinite(value):
        raise ArenaError(f"bad value {value!r} for {what}: numbers must be finite")
    return value


@dataclass
class Overrides:
    """``--set`` items sorted into cell options, task parameters and training fields."""

    cell: dict[str, Any] = field(default_factory=dict)
    task: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    unscoped: dict[str, Any] = field(default_factory=dict)


def parse_overrides(items: Iterable[str]) -> Overrides:
    out = Overrides()
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ArenaError(f"bad --set {item!r}: use key=value, e.g. --set lr=0.01 or --set task.length=20")
        value = parse_value(raw.strip(), f"--set {key}")
        scope, dot, name = key.partition(".")
        if dot and scope in ("cell", "task", "train"):
            getattr(out, scope)[name] = value
        else:
            out.unscoped[key] = value
    return out


def plan_runs(
    cells: Registry[CellInfo],
    tasks: Registry[TaskInfo],
    cell_names: list[str],
    task_names: list[str],
    seeds: list[int],
    preset: str | None,
    overrides: Overrides,
) -> list[RunSpec]:
    """Every (task setting, cell setting, seed) run, validated before anything is trained.

    Names may carry sweeps, ``task[key=v1,v2]`` or ``cell[option=v1,v2]``: one setting per
    combination of values, which override the preset and ``--set``.
    """
    cell_sweeps = [parse_sweep(n) for n in cell_names]
    task_sweeps = [parse_sweep(n) for n in task_names]
    cell_entries = [cells.get(n) for n, _ in cell_sweeps]
    task_entries = [tasks.get(n) for n, _ in task_sweeps]
    for entry, (_, sweep) in zip(cell_entries, cell_sweeps):
        for key in sweep:
            if key not in entry.info.options:
                raise UnknownNameError(f"cell {entry.name!r} has no option {key!r} to sweep."
                                       + suggest(key, list(entry.info.options)))
    for entry, (_, sweep) in zip(task_entries, task_sweeps):
        for key in sweep:
            if key not in entry.info.params:
                raise UnknownNameError(f"task {entry.name!r} has no parameter {key!r} to sweep."
                                       + suggest(key, list(entry.info.params)))
    train_fields = TrainConfig.field_types()
    defaults = TrainConfig().as_dict()

    # Unscoped keys: training field, else task parameter, else cell option; never ambiguous.
    for key, value in overrides.unscoped.items():
        homes = []
        if key in train_fields:
            homes.append("train")
        if any(key in t.info.params for t in task_entries):
            homes.append("task")
        if any(key in c.info.options for c in cell_entries):
            homes.append("cell")
        if not homes:
            known = sorted(set(train_fields) | {p for t in task_entries for p in t.info.params}
                           | {o for c in cell_entries for o in c.info.options})
            raise UnknownNameError(f"unknown --set key {key!r}." + suggest(key, known))
        if len(homes) > 1:
            raise ArenaError(f"--set key {key!r} is ambiguous ({' and '.join(homes)}); write "
                             + " or ".join(f"{h}.{key}" for h in homes))
        getattr(overrides, homes[0])[key] = value

    for key in overrides.train:
        if key not in train_fields:
            raise UnknownNameError(f"unknown training field {key!r}." + suggest(key, list(train_fields)))
    for key in overrides.task:
        if not any(key in t.info.params for t in task_entries):
            known = sorted({p for t in task_entries for p in t.info.params})
            raise UnknownNameError(f"unknown task parameter {key!r} for {', '.join(task_names)}." + suggest(key, known))
    for key in overrides.cell:
        if not any(key in c.info.options for c in cell_entries):
            known = sorted({o for c in cell_entries for o in c.info.options})
            raise UnknownNameError(f"unknown cell option {key!r} for {', '.join(cell_names)}." + suggest(key, known))

    specs: list[RunSpec] = []
    for t, (_, t_sweep) in zip(task_entries, task_sweeps):
        preset_name = preset or t.info.default_preset
        if preset_name not in t.info.presets:
            raise UnknownNameError(f"task {t.name!r} has no preset {preset_name!r}." + suggest(preset_name, list(t.info.presets)))
        p = t.info.presets[preset_name]
        base_params = {**t.info.params, **p.params}
        for k, v in overrides.task.items():
            if k in base_params:
                base_params[k] = coerce(v, t.info.params[k], f"task parameter {t.name}.{k}")
        train = {**defaults, **p.train}
        for k, v in overrides.train.items():
            train[k] = coerce(parse_count(v) if k == "budget" else v, defaults[k], f"training field {k}")
        _check_train(t.name, preset_name, p.train, overrides.train, train)
        train = run_train(train)
        if train["monitor"] and train["monitor"] not in {m.name for m in t.info.metrics}:
            raise UnknownNameError(f"task {t.name!r} has no metric {train['monitor']!r} to monitor."
                                   + suggest(train["monitor"], [m.name for m in t.info.metrics]))
        for t_combo in _combinations(t_sweep):
            params = dict(base_params)
            for k, v in t_combo.items():
                params[k] = coerce(v, t.info.params[k], f"task parameter {t.name}.{k}")
            check_finite(f"task {t.name!r} preset {preset_name!r} parameters", params)
            _check_task_params(t, params)
            params = without_added(params, t.info.params, t.info.added_params)
            for c, (_, c_sweep) in zip(cell_entries, cell_sweeps):
                for c_combo in _combinations(c_sweep):
                    options = dict(c.info.options)
                    for k, v in {**overrides.cell, **c_combo}.items():
                        if k in options:
                            options[k] = coerce(v, c.info.options[k], f"cell option {c.name}.{k}")
                    check_finite(f"cell {c.name!r} options", options)
                    options = without_added(options, c.info.options, c.info.added_options)
                    for seed in seeds:
                        specs.append(RunSpec(
                            cell=c.name, cell_version=c.info.version, cell_options=options,
                            task=t.name, task_version=t.info.version, preset=preset_name,
                            params=params, train=train, seed=seed, cell_dist=c.dist, task_dist=t.dist,
                        ))
    return list({s.key: s for s in specs}.values())


def _check_train(task: str, preset: str, preset_train: Any, set_train: dict[str, Any], train: dict[str, Any]) -> None:
    """Refuse training settings the loop cannot use (TrainConfig.check_field), naming where each
    came from: a preset is checked like --set, so `epochs=0` is never stored as a trained model."""
    for k, v in train.items():
        problem = TrainConfig.check_field(k, v)
        if problem is None:
            continue
        if k in set_train:
            raise ArenaError(f"bad --set {k}: {problem}")
        if k in preset_train:
            raise ArenaError(f"task {task!r} preset {preset!r}: {problem}")
        raise ArenaError(f"training defaults: {problem}")
    problem = TrainConfig.conflict(train)
    if problem:
        raise ArenaError(f"task {task!r} preset {preset!r}: {problem}")


def _check_task_params(entry: Any, params: dict[str, Any]) -> None:
    """Let the task reject nonsense values now rather than in the middle of a grid."""
    factory = entry.load()
    try:
        factory(**params)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ArenaError(f"task {entry.name!r}: {exc}") from None
