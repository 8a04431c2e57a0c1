import pytest

from arena.errors import ArenaError, UnknownNameError
from arena.host import get_host
from arena.plan import parse_overrides, parse_seeds, plan_runs


@pytest.mark.parametrize("text, seeds", [("0-4", [0, 1, 2, 3, 4]), ("3", [3]), ("0,2,7", [0, 2, 7]),
                                         ("0-1,5", [0, 1, 5]), ("1,1,2", [1, 2])])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["4-0", "a", "0-", "-1", "1.5", ""])
def test_bad_seeds_are_refused(text):
    with pytest.raises(ArenaError):
        parse_seeds(text)


def plan(cells=("gru",), tasks=("copy",), seeds=(0,), preset="smoke", sets=()):
    host = get_host()
    return plan_runs(host.cells, host.tasks, list(cells), list(tasks), list(seeds), preset, parse_overrides(sets))


def test_grid_is_tasks_by_cells_by_seeds_with_preset_values():
    specs = plan(cells=("gru", "lstm"), tasks=("copy", "adding"), seeds=(0, 1))
    assert len(specs) == 8 and len({s.key for s in specs}) == 8
    copy = next(s for s in specs if s.task == "copy")
    assert copy.params["length"] == 4 and copy.train["hidden"] == 32  # from the smoke preset


def test_data_seed_is_shared_by_cells_and_init_seed_is_not():
    gru, lstm = plan(cells=("gru", "lstm"))
    assert gru.data_seed == lstm.data_seed
    assert gru.init_seed != lstm.init_seed
    (other_seed,) = plan(cells=("gru",), seeds=(1,))
    assert other_seed.data_seed != gru.data_seed


def test_overrides_go_to_their_scope_and_are_typed():
    (s,) = plan(sets=("lr=1", "task.length=4", "train.epochs=2"))
    assert s.train["lr"] == 1.0 and isinstance(s.train["lr"], float)
    assert s.params["length"] == 4 and s.train["epochs"] == 2
    (a,) = plan(sets=("lr=1",))
    (b,) = plan(sets=("lr=1.0",))
    assert a.key == b.key


def test_unknown_and_bad_overrides_are_clear():
    with pytest.raises(UnknownNameError, match="Did you mean 'length'"):
        plan(sets=("lenght=3",))
    with pytest.raises(ArenaError, match="expected int"):
        plan(sets=("task.length=abc",))
    with pytest.raises(ArenaError, match="key=value"):
        plan(sets=("length",))
    with pytest.raises(ArenaError, match="length ≥ 1"):
        plan(sets=("task.length=0",))


def test_unknown_names_suggest_close_ones():
    with pytest.raises(UnknownNameError, match="Did you mean 'gru'"):
        plan(cells=("gruu",))
    with pytest.raises(UnknownNameError, match="Did you mean 'copy'"):
        plan(tasks=("cpy",))
    with pytest.raises(UnknownNameError, match="no preset 'smok'.*'smoke'"):
        plan(preset="smok")


def test_sweep_syntax_expands_to_one_setting_per_value():
    specs = plan(tasks=("adding[seq_len=5,10,20]", "copy"), seeds=(0, 1))
    adding = [s for s in specs if s.task == "adding"]
    assert sorted({s.params["seq_len"] for s in adding}) == [5, 10, 20] and len(adding) == 6
    assert len([s for s in specs if s.task == "copy"]) == 2
    two_keys = plan(tasks=("copy[length=2,3;delay=1,4]",))
    assert sorted((s.params["length"], s.params["delay"]) for s in two_keys) == [(2, 1), (2, 4), (3, 1), (3, 4)]


def test_split_names_respects_brackets():
    from arena.plan import split_names

    assert split_names("a,b[k=1,2],c") == ["a", "b[k=1,2]", "c"]
    assert split_names(["a,b", "b"]) == ["a", "b"]
    with pytest.raises(ArenaError, match="unbalanced"):
        split_names("b[k=1,2")


def test_bad_sweeps_are_clear():
    with pytest.raises(UnknownNameError, match="no parameter 'lenght' to sweep"):
        plan(tasks=("copy[lenght=1,2]",))
    with pytest.raises(ArenaError, match="use key=v1,v2"):
        plan(tasks=("copy[length]",))
    with pytest.raises(ArenaError, match="expected int"):
        plan(tasks=("copy[length=a]",))


def test_train_config_validate_uses_the_documented_bounds():
    from arena.contracts import TrainConfig

    TrainConfig().validate()  # the defaults are valid
    for bad, message in (({"epochs": 0}, "epochs must be ≥ 1"), ({"lr": float("nan")}, "finite"),
                         ({"clip": -1.0}, "0 = no clipping"), ({"optimizer": "sgd"}, "adam or adamw")):
        with pytest.raises(ValueError, match=message):
            TrainConfig(**bad).validate()


def test_options_and_parameters_added_later_keep_stored_keys():
    """A cell option or task parameter declared in ``added_options``/``added_params`` is left out
    of a run at its default: runs planned before it existed keep their keys and data seeds."""
    import dataclasses

    from arena.registry import Registry

    host = get_host()
    before = plan(cells=("gru",), tasks=("copy",))[0]
    cells, tasks = Registry("cell"), Registry("task")
    g, c = host.cells.get("gru"), host.tasks.get("copy")
    cells.add("gru", g.factory, dataclasses.replace(g.info, options={**g.info.options, "init": "torch"},
                                                    added_options=("init",)), g.plugin, dist=g.dist)
    info = dataclasses.replace(c.info, params={**c.info.params, "pad": False}, added_params=("pad",))
    tasks.add("copy", type("CopyWithPad", (c.load(),), {"info": info}), info, c.plugin, dist=c.dist)

    def later(*sets):
        return plan_runs(cells, tasks, ["gru"], ["copy"], [0], "smoke", parse_overrides(list(sets)))[0]

    same = later()
    assert same.key == before.key and same.data_seed == before.data_seed and "init" not in same.cell_options
    changed = later("cell.init=aru", "task.pad=1")
    assert changed.key != before.key and changed.cell_options["init"] == "aru" and changed.params["pad"] is True
    assert changed.data_seed != before.data_seed  # other data: another task setting
    with pytest.raises(ValueError, match="added_options"):
        dataclasses.replace(g.info, added_options=("nonexistent",))
