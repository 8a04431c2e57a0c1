"""From command-line choices to a list of fully specified runs.

A run is (cell + options, task + parameters, training configuration, seed). Presets fill task
parameters and training fields; ``--set`` overrides them. Values are coerced to the type of the
default they replace, so ``--set lr=1`` and ``--set lr=1.0`` are the same run.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from arena.contracts import CellInfo, TaskInfo, TrainConfig
from arena.errors import ArenaError, UnknownNameError
from arena.keys import derive_seed, run_key
from arena.registry import Registry, suggest


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
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", run_key(self.identity()))

    def identity(self) -> dict[str, Any]:
        """Everything that defines the run's result, and nothing else (the preset name and the
        device are labels, not causes)."""
        return {
            "cell": {"name": self.cell, "version": self.cell_version, "options": self.cell_options},
            "task": {"name": self.task, "version": self.task_version, "params": self.params},
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
        return {"cell": self.cell, "cell_version": self.cell_version, "cell_options": self.cell_options,
                "task": self.task, "task_version": self.task_version, "preset": self.preset,
                "params": self.params, "train": self.train, "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunSpec":
        return cls(**{k: d[k] for k in ("cell", "cell_version", "cell_options", "task", "task_version", "preset",
                                        "params", "train", "seed")})

    def label(self) -> str:
        return f"{self.cell} on {self.task}[{self.preset}] seed {self.seed}"


def parse_seeds(text: str) -> list[int]:
    """``"0-4"``, ``"0,2,7"``, ``"3"`` or mixtures like ``"0-2,10"``."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise ArenaError(f"bad seed range {part!r}: the end is before the start")
            if hi - lo > 10_000:
                raise ArenaError(f"bad seed range {part!r}: more than 10,000 seeds")
            seeds.extend(range(lo, hi + 1))
        elif re.fullmatch(r"\d+", part):
            seeds.append(int(part))
        else:
            raise ArenaError(f"bad seeds {text!r}: use a range like 0-4, a list like 0,1,5, or a single seed")
    return list(dict.fromkeys(seeds))


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
            sweep[key] = [parse_value(v.strip()) for v in values.split(",") if v.strip()]
    return name, sweep


def _combinations(sweep: dict[str, list[Any]]) -> list[dict[str, Any]]:
    combos: list[dict[str, Any]] = [{}]
    for key, values in sweep.items():
        combos = [{**c, key: v} for c in combos for v in values]
    return combos


def parse_value(text: str) -> Any:
    """JSON when it parses (numbers, true/false, null, lists), else the raw string."""
    try:
        return json.loads(text)
    except ValueError:
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        return text


def coerce(value: Any, default: Any, what: str) -> Any:
    """Give ``value`` the type of ``default`` (bool/int/float/str); other defaults pass through."""
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            if value in (0, 1):
                return bool(value)
            raise ValueError
        if isinstance(default, int):
            if isinstance(value, bool) or not float(value).is_integer():
                raise ValueError
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if isinstance(default, str):
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        raise ArenaError(f"bad value {value!r} for {what}: expected {type(default).__name__}") from None
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
        value = parse_value(raw.strip())
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
            train[k] = coerce(v, defaults[k], f"training field {k}")
        if train["monitor"] and train["monitor"] not in {m.name for m in t.info.metrics}:
            raise UnknownNameError(f"task {t.name!r} has no metric {train['monitor']!r} to monitor."
                                   + suggest(train["monitor"], [m.name for m in t.info.metrics]))
        for t_combo in _combinations(t_sweep):
            params = dict(base_params)
            for k, v in t_combo.items():
                params[k] = coerce(v, t.info.params[k], f"task parameter {t.name}.{k}")
            _check_task_params(t, params)
            for c, (_, c_sweep) in zip(cell_entries, cell_sweeps):
                for c_combo in _combinations(c_sweep):
                    options = dict(c.info.options)
                    for k, v in {**overrides.cell, **c_combo}.items():
                        if k in options:
                            options[k] = coerce(v, c.info.options[k], f"cell option {c.name}.{k}")
                    for seed in seeds:
                        specs.append(RunSpec(
                            cell=c.name, cell_version=c.info.version, cell_options=options,
                            task=t.name, task_version=t.info.version, preset=preset_name,
                            params=params, train=train, seed=seed,
                        ))
    return list({s.key: s for s in specs}.values())


def _check_task_params(entry: Any, params: dict[str, Any]) -> None:
    """Let the task reject nonsense values now rather than in the middle of a grid."""
    factory = entry.load()
    try:
        factory(**params)
    except ValueError as exc:
        raise ArenaError(f"task {entry.name!r}: {exc}") from None
