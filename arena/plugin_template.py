"""The files ``arena new-plugin`` writes: a complete, working plugin package.

Templates are plain strings (so they install with arena as ordinary Python) with placeholders:
``@@NAME@@`` (the cell or task name), ``@@DIST@@`` (``arena-NAME``), ``@@PKG@@`` (``arena_NAME``
with dashes as underscores), ``@@CLASS@@`` (the class name), ``@@ARENA_VERSION@@`` and the CI's
demo run ``@@RUN_MODELS@@`` / ``@@RUN_TASK@@``. No torch here: the command stays fast.
"""
from __future__ import annotations

import keyword
import re
from pathlib import Path

from arena.errors import ArenaError

NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def check_name(name: str) -> None:
    """Raise ArenaError unless ``name`` makes a good cell/task name and distribution ``arena-NAME``."""
    if not NAME_RE.fullmatch(name or "") or len(name) > 40:
        raise ArenaError(f"bad plugin name {name!r}: use lowercase letters, digits and single dashes, starting "
                         "with a letter (e.g. mycell or my-cell), at most 40 characters")
    if name.startswith("arena-") or name == "arena":
        raise ArenaError(f"bad plugin name {name!r}: give the name without the 'arena-' prefix "
                         f"(arena new-plugin {name.removeprefix('arena-') or 'mycell'} writes arena-...)")
    if keyword.iskeyword(name.replace("-", "_")):
        raise ArenaError(f"bad plugin name {name!r}: it is a Python keyword")


def names(name: str, task: bool) -> dict[str, str]:
    from arena import __version__

    camel = "".join(part[:1].upper() + part[1:] for part in name.split("-"))
    return {
        "@@NAME@@": name,
        "@@DIST@@": f"arena-{name}",
        "@@PKG@@": f"arena_{name.replace('-', '_')}",
        "@@CLASS@@": f"{camel}Task" if task and not camel.endswith("Task") else camel,
        "@@ARENA_VERSION@@": __version__,
        # The CI's real run: a cell races gru on adding; a task is run by gru and lstm.
        "@@RUN_MODELS@@": "gru,lstm" if task else f"{name},gru",
        "@@RUN_TASK@@": name if task else "adding",
    }


def render(name: str, task: bool = False) -> dict[str, str]:
    """Relative path → file content of the plugin package for ``name``."""
    subs = names(name, task)
    pkg = subs["@@PKG@@"]
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README_TASK if task else README_CELL,
        f"{pkg}/__init__.py": INIT_TASK if task else INIT_CELL,
        f"{pkg}/{'task' if task else 'cell'}.py": TASK if task else CELL,
        f"tests/test_{pkg.removeprefix('arena_')}.py": TEST_TASK if task else TEST_CELL,
        ".github/workflows/ci.yml": CI,
        ".github/workflows/publish.yml": PUBLISH,
        ".gitignore": GITIGNORE,
    }
    out = {}
    for path, text in files.items():
        for key, value in subs.items():
            text = text.replace(key, value)
        out[path] = text
    return out


def write_plugin(name: str, directory: str | Path = ".", task: bool = False) -> Path:
    """Write ``arena-NAME/`` under ``directory``; refuse a bad name or an existing folder."""
    check_name(name)
    root = Path(directory) / f"arena-{name}"
    if root.exists():
        raise ArenaError(f"{root} already exists; choose another name or --dir, or remove it first")
    if Path(directory).exists() and not Path(directory).is_dir():
        raise ArenaError(f"--dir {directory} is not a folder")
    files = render(name, task)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# -- shared files -------------------------------------------------------------------------------
PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "@@DIST@@"
version = "0.1.0"
description = "The @@NAME@@ plugin for arena, the benchmark of recurrent cells."
readme = "README.md"
requires-python = ">=3.10"
license = { text = "MIT" }
# rnn-arena brings torch; install the CPU build of torch first where you have no GPU.
dependencies = ["rnn-arena>=@@ARENA_VERSION@@"]

[project.optional-dependencies]
test = ["pytest>=7.4"]

# This table is what makes the package an arena plugin: arena loads every entry point of the
# group "arena" and calls the hooks the module implements. The name on the left is the
# plugin's name in `arena plugins` and in ARENA_LOAD_PLUGINS.
[project.entry-points.arena]
@@NAME@@ = "@@PKG@@"

[tool.setuptools]
packages = ["@@PKG@@"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

GITIGNORE = '''\
__pycache__/
*.egg-info/
build/
dist/
.venv/
leaderboard.db*
'''

CI = '''\
name: Test

on: [push, pull_request]

permissions:
  contents: read

jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python-version: ["3.10", "3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python-version }}
          cache: pip
          cache-dependency-path: pyproject.toml
      - name: Install (CPU torch first, so pip never pulls a CUDA build)
        run: |
          pip install torch --index-url https://download.pytorch.org/whl/cpu
          pip install -e ".[test]"
      - name: Tests (arena's contract checks run here through arena.testing)
        run: python -m pytest -q
      - name: arena test-plugin
        run: arena test-plugin @@DIST@@
      - name: A real run against gru
        run: |
          arena run --model @@RUN_MODELS@@ --task @@RUN_TASK@@ --preset smoke --seeds 0 --db sqlite:///ci.db
          arena leaderboard --db sqlite:///ci.db
'''

PUBLISH = '''\
# Publish to PyPI when a GitHub release is published, with PyPI's trusted publishing (no token):
# on pypi.org add a "pending publisher" for this repository, workflow publish.yml, environment pypi.
name: Publish

on:
  release:
    types: [published]

permissions:
  contents: read

jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: |
          pip install torch --index-url https://download.pytorch.org/whl/cpu
          pip install -e ".[test]"
          python -m pytest -q
          arena test-plugin @@DIST@@
  publish:
    needs: test
    runs-on: ubuntu-latest
    environment: pypi
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: |
          pip install build
          python -m build
      - uses: pypa/gh-action-pypi-publish@release/v1
'''

# -- a cell ------------------------------------------------------------------------------------
INIT_CELL = '''\
"""@@DIST@@: registers the @@NAME@@ cell with arena.

arena imports this module (the entry point in pyproject.toml) every time it starts, even for
`arena --help` and `arena list cells`, so it must stay light: no torch here. The cell itself is
named by a "module:Class" string that arena imports only when a run builds the cell.
"""
from __future__ import annotations

from typing import Callable

from arena import CellInfo, hookimpl


@hookimpl
def register_cells(register: Callable[..., None]) -> None:
    register(
        "@@NAME@@",  # the name for `arena run --model @@NAME@@`
        "@@PKG@@.cell:@@CLASS@@",  # imported only when a run builds the cell
        info=CellInfo(
            summary="Minimal gated unit (MGU): a GRU with one gate (the @@DIST@@ template; replace it).",
            reference="Zhou, Wu, Zhang & Zhou 2016, 'Minimal Gated Unit for Recurrent Neural Networks', "
                      "arXiv:1603.09420",
            equation="f = σ(W_f x + U_f h + b_f); h̃ = tanh(W_h x + U_h (f⊙h) + b_h); h = (1−f)⊙h + f⊙h̃",
            # Every constructor option with its default. `arena run --set cell.gate_bias=-1` may
            # set only these, and they are part of each run's key.
            options={"gate_bias": 0.0},
            # What the implementation offers: "step" = O(1) recurrent inference via Cell.step.
            capabilities=("step",),
            # Bump whenever the computation changes, so stored results of the old one are not reused.
            version="1",
        ),
    )
'''

CELL = '''\
"""The @@NAME@@ cell. Replace the recurrence with your own; keep the contract.

As written this is the minimal gated unit (MGU; Zhou, Wu, Zhang & Zhou 2016, arXiv:1603.09420),
a GRU whose single gate f both resets and updates::

    f_t = σ(W_f x_t + U_f h_{t−1} + b_f)                 gate
    h̃_t = tanh(W_h x_t + U_h (f_t ⊙ h_{t−1}) + b_h)      candidate
    h_t = (1 − f_t) ⊙ h_{t−1} + f_t ⊙ h̃_t                new state; the output is y_t = h_t

The contract (arena/cell.py), checked by arena.testing and `arena test-plugin`:

* ``Cell(input_size, hidden_size, **options)`` builds it; options have defaults, listed in
  ``CellInfo(options=...)`` in ``__init__.py``.
* ``forward(x, state=None) -> (y, state)``: ``x`` is ``[batch, time, input_size]``, ``y`` is
  ``[batch, time, output_size]`` (``output_size`` defaults to ``hidden_size``). ``state=None``
  means ``initial_state(...)``.
* The state is a tensor (or tuple of tensors) with the batch first. Running a sequence in
  chunks and passing the state along must give what one call on the whole sequence gives.
* ``step(x_t, state) -> (y_t, state)``: one time step, for O(1) recurrent inference.
* Embeddings, readout head, loss and optimiser belong to arena, the same for every cell.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from arena.cell import Cell, State


class @@CLASS@@(Cell):
    # Which implementation runs; stored with every run and benchmark, so a silent fallback to a
    # slow path is visible. Name what you do ("eager-loop", "scripted-loop", "parallel-scan", ...).
    impl = "eager-loop"

    def __init__(self, input_size: int, hidden_size: int, gate_bias: float = 0.0) -> None:
        super().__init__(input_size, hidden_size)  # sets self.input_size and self.hidden_size
        H = hidden_size
        # Every term that depends on x only (W_f x + b_f and W_h x + b_h) comes from one Linear,
        # applied to the whole sequence at once, outside the time loop.
        self.input_proj = nn.Linear(input_size, 2 * H)
        # The recurrent terms need h_{t-1}, so they run inside the loop.
        self.U_f = nn.Linear(H, H, bias=False)
        self.U_h = nn.Linear(H, H, bias=False)
        self.gate_bias = float(gate_bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Draw every random number from torch's global generator: arena seeds it per (cell, seed)
        # before building the model, which makes runs reproducible.
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        with torch.no_grad():  # option: the gate's initial bias (negative keeps more of h early on)
            self.input_proj.bias[: self.hidden_size].fill_(self.gate_bias)

    def _update(self, wf: torch.Tensor, wh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step of the recurrence, given the step's input terms wf = W_f x + b_f, wh = W_h x + b_h."""
        f = torch.sigmoid(wf + self.U_f(h))
        candidate = torch.tanh(wh + self.U_h(f * h))
        return h + f * (candidate - h)  # = (1 − f) ⊙ h + f ⊙ h̃, one operation fewer

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        batch, steps, _ = x.shape
        # state=None means the initial state; a state passed in is never modified in place.
        h = self.initial_state(batch, x.device, x.dtype) if state is None else state
        wf, wh = self.input_proj(x).chunk(2, dim=-1)  # [batch, time, H] each, hoisted out of the loop
        outputs = []
        for t in range(steps):
            h = self._update(wf[:, t], wh[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h  # y [batch, time, H] and the final state

    def step(self, x_t: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        # One step without building a length-1 sequence; must agree with forward exactly.
        h = self.initial_state(x_t.shape[0], x_t.device, x_t.dtype) if state is None else state
        wf, wh = self.input_proj(x_t).chunk(2, dim=-1)
        h = self._update(wf, wh, h)
        return h, h

    # initial_state (zeros of [batch, hidden_size]), state_size and output_size come from
    # arena.Cell; override them for a tuple state, a learned initial state or a projection.

    def extra_info(self) -> dict[str, object]:
        # Stored with every run (JSON): which path or variant actually ran.
        return {"impl": self.impl, "gate_bias": self.gate_bias}
'''

TEST_CELL = '''\
"""Tests of the @@NAME@@ cell: arena's contract checks, then the cell's own equations."""
from __future__ import annotations

import torch

from arena.testing import check_cell, make_cell_tests
from @@PKG@@.cell import @@CLASS@@

# One pytest test per contract check of arena (shapes, finite outputs, step = forward, chunked
# state carry in float64, determinism, gradients, a finite-difference gradient check, the
# parameter count and a smoke training run through arena's own training loop).
# `pytest -m "not arena_train"` leaves out the training check.
TestContract = make_cell_tests("@@NAME@@")


def slow_reference(cell: @@CLASS@@, x: torch.Tensor) -> torch.Tensor:
    """The equations of the module docstring, written out directly: slow and obvious."""
    H = cell.hidden_size
    W, b = cell.input_proj.weight, cell.input_proj.bias
    W_f, W_h, b_f, b_h = W[:H], W[H:], b[:H], b[H:]
    h = torch.zeros(x.shape[0], H, dtype=x.dtype)
    outputs = []
    for t in range(x.shape[1]):
        f = torch.sigmoid(x[:, t] @ W_f.T + h @ cell.U_f.weight.T + b_f)
        candidate = torch.tanh(x[:, t] @ W_h.T + (f * h) @ cell.U_h.weight.T + b_h)
        h = (1 - f) * h + f * candidate
        outputs.append(h)
    return torch.stack(outputs, dim=1)


def test_matches_the_equations():
    torch.manual_seed(0)
    cell = @@CLASS@@(3, 4, gate_bias=-0.5).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    y, h = cell(x)
    torch.testing.assert_close(y, slow_reference(cell, x))
    torch.testing.assert_close(h, y[:, -1])


def test_option_reaches_the_cell():
    cell = @@CLASS@@(3, 4, gate_bias=-2.0)
    assert torch.all(cell.input_proj.bias[:4] == -2.0)
    # The contract holds with a non-default option too (quick checks only).
    assert all(r.ok for r in check_cell("@@NAME@@", options={"gate_bias": -2.0}, checks=["shapes", "chunked"]))


def test_registered_with_arena():
    from arena.host import PluginHost

    host = PluginHost()
    entry = host.cells.get("@@NAME@@")
    assert host.plugins[entry.plugin].dist == "@@DIST@@"
    assert set(entry.info.options) == {"gate_bias"}
'''

README_CELL = '''\
# @@DIST@@

The `@@NAME@@` recurrent cell as a plugin for [arena](https://pypi.org/project/rnn-arena/), the
open benchmark of recurrent cells.

As generated by `arena new-plugin @@NAME@@`, the cell is the minimal gated unit (MGU, Zhou et
al. 2016): a working starting point. Replace the recurrence in `@@PKG@@/cell.py` with yours,
update `CellInfo` in `@@PKG@@/__init__.py` and the reference test in `tests/`.

## Install

```bash
pip install torch --index-url https://download.pytorch.org/whl/cpu   # or your CUDA build
pip install -e ".[test]"       # from this folder; `pip install @@DIST@@` once it is on PyPI
arena list cells               # shows @@NAME@@, registered by @@DIST@@
```

## Use

```bash
arena run --model @@NAME@@,gru --task copy,adding --preset smoke --seeds 0-1
arena run --model @@NAME@@ --task copy --set cell.gate_bias=-1.0       # a cell option
arena leaderboard
```

## Test

```bash
python -m pytest                  # arena's contract checks (arena.testing) and the cell's own tests
arena test-plugin @@DIST@@        # the same contract checks, one PASS/FAIL line each
```

## Publish

Push to GitHub: `.github/workflows/ci.yml` runs the tests on every push. Publishing a GitHub
release runs `.github/workflows/publish.yml`, which uploads to PyPI with trusted publishing
(add the repository as a publisher on pypi.org first). By hand: `python -m build` then
`twine upload dist/*`.
'''

# -- a task ------------------------------------------------------------------------------------
INIT_TASK = '''\
"""@@DIST@@: registers the @@NAME@@ task with arena.

arena imports this module (the entry point in pyproject.toml) every time it starts, so it stays
light: `task.py` imports torch only inside methods, and arena builds the task class lazily from
the "module:Class" string.
"""
from __future__ import annotations

from typing import Callable

from arena import hookimpl

from @@PKG@@.task import INFO


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("@@NAME@@", "@@PKG@@.task:@@CLASS@@", info=INFO)
'''

TASK = '''\
"""The @@NAME@@ task. Replace the data and metrics with your own; keep the contract.

As written: majority vote. Is there more 1s than 0s in a random bit sequence of odd length T?

    x_t ~ U{0, 1}   (tokens, vocabulary 2)       y = 1 if Σ_t x_t > T/2 else 0   (read at the last step)

An input-blind predictor is right half of the time (the classes are balanced for odd T).

The contract (arena/task.py), checked by arena.testing and `arena test-plugin`:

* ``info`` (a TaskInfo): input and output kinds, readout, metrics with directions, the main
  metric, parameters with defaults and presets (``smoke`` must exist: seconds on a CPU).
* ``input_size`` / ``output_size``; ``generate(n, generator, device)`` returns a dict with
  ``x`` and ``y`` (and ``mask`` for readout "every"), drawn only from ``generator`` so the same
  seed gives the same data, for every cell.
* ``evaluate(out, batch)`` returns every metric of ``info.metrics`` as a float;
  ``chance()`` the score of an input-blind predictor, at least for the main metric.
* Torch is imported inside methods, so `arena list tasks` stays fast.
"""
from __future__ import annotations

from typing import Any, Mapping

from arena import Metric, Preset, Task, TaskInfo

# Every parameter with its default; presets and `--set task.KEY=...` may set only these, and
# they are part of each run's key. n_train/n_val/n_test are the split sizes (Task.split_size).
PARAMS: dict[str, Any] = {"seq_len": 41, "n_train": 4000, "n_val": 1000, "n_test": 1000, "fresh": False}

INFO = TaskInfo(
    summary="Majority vote: are there more ones than zeros in a random bit sequence? (the @@DIST@@ template)",
    reference="",
    input_kind="tokens",  # x holds token ids in [0, input_size); arena embeds them
    output_kind="classes",  # y holds class ids in [0, output_size); cross-entropy by default
    readout="last",  # the head reads the cell's output at the last step only
    metrics=(
        # True: higher is better. solved: the level that counts as solving the task (the board
        # scores runs from chance = 0 to solved = 1); error metrics add scale="log".
        Metric("acc", True, "accuracy", solved=1.0),
        Metric("loss", False, "cross-entropy"),
    ),
    main_metric="acc",  # what the leaderboard ranks by
    params=PARAMS,
    presets={
        "smoke": Preset(params={"seq_len": 21, "n_train": 512, "n_val": 128, "n_test": 128},
                        train={"hidden": 32, "epochs": 3, "batch_size": 64, "lr": 3e-3, "patience": 3},
                        description="seconds on a CPU; for tests"),
        "standard": Preset(params={"seq_len": 41, "n_train": 4000, "n_val": 1000, "n_test": 1000},
                           train={"hidden": 64, "epochs": 20, "batch_size": 64, "lr": 3e-3, "patience": 5},
                           description="about a minute per run on 2 CPU cores"),
    },
    version="1",  # bump whenever the data or the metrics change
)


class @@CLASS@@(Task):
    info = INFO

    def validate(self) -> None:
        # Reject parameter values that make no sense (arena reports them before any run starts).
        p = self.params
        if p["seq_len"] < 1 or p["seq_len"] % 2 == 0:
            raise ValueError("@@NAME@@ needs an odd seq_len (so there is always a majority)")
        if min(p["n_train"], p["n_val"], p["n_test"]) < 1:
            raise ValueError("@@NAME@@ needs at least one sample per split")

    @property
    def input_size(self) -> int:
        return 2  # vocabulary: the tokens 0 and 1

    @property
    def output_size(self) -> int:
        return 2  # classes: minority of ones (0) or majority of ones (1)

    def generate(self, n: int, generator: Any, device: Any) -> dict[str, Any]:
        import torch

        T = self.params["seq_len"]
        x = torch.randint(0, 2, (n, T), generator=generator, device=device)
        y = (x.sum(dim=1) > T // 2).long()
        return {"x": x, "y": y}

    # loss(): the default is cross-entropy for classes and MSE for regression (masked when the
    # batch has a mask); override it for anything else.

    def evaluate(self, out: Any, batch: Mapping[str, Any]) -> dict[str, float]:
        import torch.nn.functional as F

        return {"acc": (out.argmax(-1) == batch["y"]).float().mean().item(),
                "loss": F.cross_entropy(out, batch["y"]).item()}

    def chance(self) -> dict[str, float]:
        import math

        return {"acc": 0.5, "loss": math.log(2)}
'''

TEST_TASK = '''\
"""Tests of the @@NAME@@ task: arena's contract checks against a slow reference of the labels."""
from __future__ import annotations

from arena.testing import make_task_tests


def slow_labels(x, params):
    """The label of one sample, computed the obvious way from its input (a CPU tensor)."""
    bits = x.tolist()
    ones = sum(1 for b in bits if b == 1)
    return 1 if ones > len(bits) - ones else 0


# One pytest test per contract check of arena: presets, determinism of data() under a seed,
# shapes and ranges, metric names and directions against evaluate(), chance(), the labels of a
# few samples against slow_labels, and one epoch of gru through arena's training loop.
TestContract = make_task_tests("@@NAME@@", reference=slow_labels)


def test_registered_with_arena():
    from arena.host import PluginHost

    host = PluginHost()
    entry = host.tasks.get("@@NAME@@")
    assert host.plugins[entry.plugin].dist == "@@DIST@@"
'''

README_TASK = '''\
# @@DIST@@

The `@@NAME@@` task as a plugin for [arena](https://pypi.org/project/rnn-arena/), the open
benchmark of recurrent cells.

As generated by `arena new-plugin @@NAME@@ --task`, the task is a majority vote over random
bits: a working starting point. Replace the data and metrics in `@@PKG@@/task.py` and the slow
reference in `tests/`.

## Install

```bash
pip install torch --index-url https://download.pytorch.org/whl/cpu   # or your CUDA build
pip install -e ".[test]"
arena list tasks               # shows @@NAME@@, registered by @@DIST@@
arena show @@NAME@@            # parameters, presets and chance level
```

## Use

```bash
arena run --model gru,lstm --task @@NAME@@ --preset smoke --seeds 0-1
arena run --model gru --task @@NAME@@ --set task.seq_len=61
arena leaderboard
```

## Test

```bash
python -m pytest                  # arena's contract checks (arena.testing) with the slow reference
arena test-plugin @@DIST@@        # the same checks, one PASS/FAIL line each (no reference there)
```

## Publish

Push to GitHub: `.github/workflows/ci.yml` runs the tests on every push. Publishing a GitHub
release runs `.github/workflows/publish.yml`, which uploads to PyPI with trusted publishing.
'''

