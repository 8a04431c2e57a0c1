"""The pytest side: one test per check (make_cell_tests, make_task_tests), the marker, the fixtures."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from arena.testing.cells import check_cell
from arena.testing.common import (CELL_CHECKS, TASK_CHECKS, TRAINING_CHECKS, CheckResult, Reference, _select,
                                  assert_checks)
from arena.testing.tasks import check_task


# -- pytest -------------------------------------------------------------------------------------
def _pytest_outcome(result: CheckResult) -> None:
    import pytest

    if result.status == "skip":
        pytest.skip(result.detail)
    if result.status == "fail":
        pytest.fail(f"{result.subject}: {result.name}: {result.detail}", pytrace=False)


def _params(checks: Sequence[str]) -> list[Any]:
    import pytest

    return [pytest.param(c, id=c, marks=[pytest.mark.arena_train] if c in TRAINING_CHECKS else []) for c in checks]


def make_cell_tests(cell: Any, *, checks: Iterable[str] | None = None, skip: Iterable[str] = (),
                    **settings: Any) -> type:
    """A pytest test class with one test per contract check of ``cell``::

        TestMyCell = make_cell_tests("mycell")                    # in tests/test_mycell.py
        TestWide = make_cell_tests("mycell", options={"width": 4}, skip=["smoke-train"])

    ``settings`` go to :func:`check_cell`. Checks that train are marked ``arena_train``
    (``pytest -m "not arena_train"`` leaves them out).
    """
    import pytest

    names = _select(checks, skip, CELL_CHECKS)

    class CellContract:
        @pytest.mark.parametrize("check", _params(names))
        def test_contract(self, check: str) -> None:
            (result,) = check_cell(cell, checks=[check], **settings)
            _pytest_outcome(result)

    label = cell if isinstance(cell, str) else getattr(cell, "__name__", "cell")
    CellContract.__name__ = CellContract.__qualname__ = f"TestCellContract_{label}"
    return CellContract


def make_task_tests(task: Any, *, reference: Reference | None = None, checks: Iterable[str] | None = None,
                    skip: Iterable[str] = (), **settings: Any) -> type:
    """A pytest test class with one test per contract check of ``task`` (see :func:`check_task`)."""
    import pytest

    names = _select(checks, skip, TASK_CHECKS)

    class TaskContract:
        @pytest.mark.parametrize("check", _params(names))
        def test_contract(self, check: str) -> None:
            (result,) = check_task(task, checks=[check], reference=reference, **settings)
            _pytest_outcome(result)

    label = task if isinstance(task, str) else getattr(task, "__name__", "task")
    TaskContract.__name__ = TaskContract.__qualname__ = f"TestTaskContract_{label}"
    return TaskContract


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "arena_train: an arena contract check that trains a model (seconds)")


try:  # fixtures exist only where pytest is installed; the checks above never need it
    import pytest as _pt
except ImportError:  # pragma: no cover
    _pt = None  # type: ignore[assignment]

if _pt is not None:

    @_pt.fixture
    def arena_host() -> Any:
        """A freshly loaded plugin host (every installed ``arena`` entry point)."""
        from arena.host import get_host, reset_host

        reset_host()
        yield get_host()
        reset_host()

    @_pt.fixture
    def arena_check_cell() -> Callable[..., list[CheckResult]]:
        """``arena_check_cell("mycell", **settings)``: run every cell check; fail the test on any failure."""
        return lambda cell, **kw: assert_checks(check_cell(cell, **kw))

    @_pt.fixture
    def arena_check_task() -> Callable[..., list[CheckResult]]:
        """``arena_check_task("mytask", reference=...)``: run every task check; fail on any failure."""
        return lambda task, **kw: assert_checks(check_task(task, **kw))
