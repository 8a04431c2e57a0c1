"""AG News on the real test file: the reference's cleaning, vocabulary and splits."""
import pytest
import torch

from arena.datasets import DataMissingError
from arena.tasks.ag_news import INFO, AgNewsTask, build_vocab, clean, encode, read_csv

CPU = torch.device("cpu")


def task(preset):
    return AgNewsTask(**{**INFO.params, **INFO.presets[preset].params})


def test_cleaning_follows_the_reference():
    assert clean("Hello <b>World</b>!  It's  #36;10 - OK?") == "hello world ! its 3610 ok?"
    assert clean("A\\nB") == "anb"


def test_vocabulary_and_encoding():
    vocab = build_vocab(["b a a", "c b a"], size=4)
    assert vocab == {"<pad>": 0, "<unk>": 1, "a": 2, "b": 3}
    assert encode(["a c b a b"], vocab, 4) == [[2, 1, 3, 2]]
    assert encode(["b"], vocab, 3) == [[3, 0, 0]]


def test_small_preset_resplits_the_test_file_disjointly(shared_data):
    labels, texts = read_csv(str(shared_data / "ag_news" / "test.csv"))
    assert len(labels) == 7600 and sorted(set(labels)) == [0, 1, 2, 3]
    t = task("small")
    splits = t._splits()
    sizes = {k: len(v[0]) for k, v in splits.items()}
    assert sizes == {"train": 5320, "val": 1140, "test": 1140}
    seen = [set(v[1]) for v in splits.values()]
    # Rows are distinct articles; a few AG News texts are duplicated in the file itself.
    assert len(seen[0] & seen[2]) < 5
    d = t.data("test", seed=0, epoch=0, device=CPU)
    assert d["x"].shape == (1140, 100) and d["x"].max() < 5000
    assert "not comparable" in INFO.presets["small"].description and INFO.default_preset == "small"


def test_standard_needs_the_official_train_file(shared_data):
    with pytest.raises(DataMissingError, match="missing train.csv"):
        task("standard").prepare()


def test_lengths_count_the_real_tokens_before_the_padding(shared_data):
    for preset in ("small-last-valid", "smoke"):
        t = task(preset)
        max_len = t.params["max_len"]
        splits = t._splits()
        d = t.data("test", seed=0, epoch=0, device=CPU)
        x, lengths = d["x"], d["lengths"]
        assert lengths.shape == (x.shape[0],) and lengths.dtype == torch.long
        assert torch.equal(lengths, (x != 0).sum(1))  # pad is id 0 and no word maps to it
        assert lengths.tolist() == [min(len(s.split()), max_len) for s in splits["test"][1]]
        for row, n in zip(x, lengths.tolist()):
            assert bool((row[:n] != 0).all()) and bool((row[n:] == 0).all())
        assert int(lengths.min()) >= 1
    assert int(lengths.max()) == 40  # smoke truncates its longest texts to max_len 40


def test_readout_parameter_keeps_the_reference_default():
    assert INFO.params["readout"] == "last" and "readout" in INFO.added_params
    for preset in ("smoke", "small", "standard"):
        assert "readout" not in INFO.presets[preset].params and task(preset).readout == "last"
    assert task("small-last-valid").readout == "last-valid"
    with pytest.raises(ValueError, match="readout"):
        AgNewsTask(readout="first")


def test_stored_runs_keep_their_keys():
    """The default plan has no new field: the key of a run stored before readout and embed_init
    existed (gru on ag-news[small], seed 0) is unchanged."""
    from arena.host import get_host
    from arena.plan import parse_overrides, plan_runs

    host = get_host()
    (s,) = plan_runs(host.cells, host.tasks, ["gru"], ["ag-news"], [0], "small", parse_overrides(()))
    assert "readout" not in s.params and "embed_init" not in s.train
    assert s.key == "b2:50bd60a926fff930eb164897637be81e"
    (new,) = plan_runs(host.cells, host.tasks, ["gru"], ["ag-news"], [0], "small-last-valid", parse_overrides(()))
    assert new.params["readout"] == "last-valid" and new.key != s.key
