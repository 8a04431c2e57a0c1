"""arena/generation.py and `arena generate`: sampling through step(), seeded, from kept weights."""
import pytest
import torch

from arena.contracts import TrainConfig
from arena.generation import sample
from arena.model import build_model
from arena.plugins.baselines import GRU
from arena.plugins.mingru import MinGRU
from tests.test_stream import ToyStream


@pytest.mark.parametrize("factory,layers,block", [(GRU, 1, "none"), (MinGRU, 2, "residual-mlp")])
def test_step_by_step_sampling_follows_the_whole_sequence_model(factory, layers, block):
    torch.manual_seed(0)
    model = build_model(ToyStream(), factory, {}, TrainConfig(hidden=8, layers=layers, block=block)).eval()
    prompt = [1, 2, 3]
    ids, seconds = sample(model, prompt, 12, temperature=0.7, top_k=3, seed=5)
    assert len(ids) == 12 and all(0 <= i < 5 for i in ids) and seconds >= 0
    assert sample(model, prompt, 12, temperature=0.7, top_k=3, seed=5)[0] == ids  # the seed fixes the text
    assert any(sample(model, prompt, 12, seed=s)[0] != ids for s in range(1, 6))
    # Greedy-like top_k=1 picks the argmax of the full model's logits at every position.
    greedy, _ = sample(model, prompt, 6, top_k=1)
    seq = list(prompt)
    with torch.no_grad():
        for tok in greedy:
            logits, _ = model.stream(torch.tensor([seq]))
            assert tok == int(logits[0, -1].argmax())
            seq.append(tok)


def test_bad_sampling_settings_are_refused():
    model = build_model(ToyStream(), GRU, {}, TrainConfig(hidden=4))
    for kwargs, msg in (({"temperature": 0}, "temperature"), ({"top_k": 0}, "top_k")):
        with pytest.raises(ValueError, match=msg):
            sample(model, [1], 3, **kwargs)
    with pytest.raises(ValueError, match="prompt"):
        sample(model, [], 3)


def test_generate_from_a_run_with_kept_weights(arena, tmp_path, shared_data):
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    arena("run", "-m", "gru", "-t", "char-lm", "--preset", "smoke", "--seeds", "0", "--set", "epochs=1",
          "--keep-weights", "--db", db)
    run = arena.json("export", "--db", db)[0]
    weights = tmp_path / "lb.weights" / (run["key"].replace(":", "_") + ".pt")
    assert weights.is_file()
    from arena.checkpoints import sha256_of

    assert run["weights_sha256"] == sha256_of(weights)
    args = ("generate", run["key"][:12], "--prompt", "ROMEO:", "--length", "40", "--top-k", "5", "--db", db)
    first, again = arena(*args), arena(*args)
    assert first.stdout == again.stdout and first.stdout.startswith("ROMEO:") and len(first.stdout.strip()) >= 46
    assert "tokens/s" in first.stderr
    bad = arena("generate", run["key"], "--prompt", "é", "--db", db, ok=False)
    assert bad.exit_code == 2 and "outside the vocabulary" in bad.stderr
    arena("run", "-m", "lstm", "-t", "char-lm", "--preset", "smoke", "--seeds", "0", "--set", "epochs=1", "--db", db)
    lstm = next(r for r in arena.json("export", "--db", db) if r["cell"] == "lstm")
    res = arena("generate", lstm["key"], "--prompt", "A", "--db", db, ok=False)
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1 and "kept no weights" in res.stderr
    weights.write_bytes(weights.read_bytes() + b"x")
    res = arena(*args, ok=False)
    assert res.exit_code == 2 and "do not match the run" in res.stderr
