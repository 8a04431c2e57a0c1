"""Every built-in task trains one epoch at its smoke preset through the real host."""
import pytest
import torch

from arena.host import get_host
from arena.plan import parse_overrides, plan_runs
from arena.training import train_run

TASKS = ["copy", "adding", "counting", "sparse-events", "selective-copy", "interference", "trend", "parity"]


@pytest.mark.parametrize("task", TASKS)
def test_smoke_run(task):
    host = get_host()
    (spec,) = plan_runs(host.cells, host.tasks, ["gru"], [task], [0], "smoke", parse_overrides(["epochs=1"]))
    task_cls = host.tasks.get(task).load()
    out = train_run(spec, task_cls, host.cells.get("gru").load(), torch.device("cpu"))
    assert out.status == "done"
    info = host.tasks.get(task).info
    assert set(out.metrics["test"]) == {m.name for m in info.metrics}
    # Every preset is valid for its task, and chance covers the main metric.
    for name, preset in info.presets.items():
        t = task_cls(**{**info.params, **preset.params})
        assert info.main_metric in t.chance(), (task, name)
