"""arena.testing: the contract checks every cell and every task must pass, for any plugin's tests.

Installed as a pytest plugin (entry point ``pytest11``: ``arena``), so a plugin's test suite
only needs::

    from arena.testing import make_cell_tests, make_task_tests

    TestMyCell = make_cell_tests("mycell")                      # one pytest test per check
    TestMyTask = make_task_tests("mytask", reference=slow_labels)

or, outside pytest, ``check_cell("mycell")`` / ``check_task("mytask")``, which return a list of
:class:`CheckResult` (``arena test-plugin DIST`` prints them).

Cell checks (:data:`CELL_CHECKS`), on CPU at a tiny size (batch 2, length 7, input 3, hidden 5):

- ``construct``      the factory builds an ``arena.Cell`` with the sizes asked for;
- ``shapes``         ``forward``/``step`` shapes and dtypes, state structure, lengths 1 and T;
- ``finite``         the outputs and final states of ``forward`` and ``step`` on standard-normal
                     input are finite (no NaN or inf);
- ``initial-state``  ``state=None`` equals passing ``initial_state(...)`` explicitly;
- ``step``           T calls of ``step`` equal one ``forward`` (float64);
- ``chunked``        chunks with the state carried equal one whole run, and the caller's state
                     is not modified in place (float64);
- ``determinism``    the same seed gives the same weights and outputs, twice;
- ``gradients``      a loss reaches every parameter and the input with finite, non-zero gradients;
- ``grad-check``     autograd agrees with a finite difference of the loss along a random
                     direction of parameters, input and carried state (float64); skipped for
                     cells that set ``exact_gradients = False`` (surrogate or truncated gradients);
- ``parameters``     the parameter count (sum of ``numel``) is > 0, all trainable parameters
                     are initialised, and ``state_size()`` matches ``initial_state``;
- ``info``           ``impl`` is a string and ``extra_info()`` is a JSON-serialisable dict;
- ``smoke-train``    arena's real ``train_run`` on a tiny counting task (count the ones in 10
                     random bits: T=10, hidden 16, 1600 samples, 8 epochs of Adam at lr 0.01;
                     2-4 s on one CPU thread) ends with a test MSE below 0.75 × chance (2.5).
                     Measured over seeds 0-2: gru ≤ 0.003, lstm ≤ 0.08, rnn ≤ 0.17,
                     mingru 1.2-1.5, IndRNN ≤ 0.001. Counting needs memory over the whole
                     sequence but no multiplicative gating, so every kind of cell can learn
                     it in a few hundred steps; a cell that does not carry its state stays
                     near chance (≈ 0.9 × chance from the last input alone).

Task checks (:data:`TASK_CHECKS`), at the task's ``smoke`` preset:

- ``construct``         the factory builds an ``arena.Task``; sizes are positive integers;
- ``presets``           every preset builds, ``smoke`` and the default preset exist;
- ``data-determinism``  ``data()`` is the same for the same seed and differs for another seed;
- ``data-shapes``       split sizes, dtypes and ranges of ``x``, ``y`` and ``mask``;
- ``metrics``           ``evaluate()`` returns exactly the metrics of ``TaskInfo`` as finite
                        floats, and ``loss()`` is a finite scalar that back-propagates;
- ``chance``            ``chance()`` and ``solved()`` cover the main metric, name only known
                        metrics, and anchor a score (solved on the better side of chance);
- ``reference``         labels of a few test samples equal a slow reference the author supplies
                        (skipped without one);
- ``smoke-run``         one epoch of GRU through ``train_run`` at the smoke preset.

Every cell check that compares tensors or numbers fails on NaN or inf with a message that says
the values are not finite: NaN is never equal to itself, and inf equals inf, so a comparison
alone would report a misleading difference (or none).

This module imports torch only inside the checks, so loading the pytest plugin stays cheap.
"""
from arena.testing.cells import CellTarget, check_cell, resolve_cell
from arena.testing.common import (CELL_CHECKS, SMOKE_MAX_FRACTION_OF_CHANCE, SMOKE_TASK, SMOKE_TASK_PARAMS,
                                  SMOKE_TRAIN, TASK_CHECKS, TRAINING_CHECKS, CheckFailed, CheckResult, CheckSkipped,
                                  assert_checks)
from arena.testing.pytest_plugin import *  # noqa: F403 - the pytest plugin's hooks and fixtures live at this path
from arena.testing.pytest_plugin import (make_cell_tests, make_task_tests, pytest_configure)
from arena.testing.tasks import TaskTarget, check_task, resolve_task

__all__ = ["CELL_CHECKS", "SMOKE_MAX_FRACTION_OF_CHANCE", "SMOKE_TASK", "SMOKE_TASK_PARAMS", "SMOKE_TRAIN", "TASK_CHECKS",
           "TRAINING_CHECKS", "CellTarget", "CheckFailed", "CheckResult", "CheckSkipped", "TaskTarget", "assert_checks",
           "check_cell", "check_task", "make_cell_tests", "make_task_tests", "pytest_configure", "resolve_cell",
           "resolve_task"]
