"""arena/checkpoints.py: where weights go, atomic save, sha256 checked on load."""
from pathlib import Path

import pytest
import torch

from arena.checkpoints import CheckpointError, folder_for, load, path_for, save, sha256_of


def test_the_folder_lies_beside_a_sqlite_store(tmp_path, monkeypatch):
    assert folder_for(f"sqlite:///{tmp_path / 'board.db'}") == tmp_path / "board.weights"
    assert folder_for("sqlite:///leaderboard.db") == Path("leaderboard.weights")
    monkeypatch.setenv("ARENA_WEIGHTS_DIR", str(tmp_path / "w"))
    assert folder_for("postgresql://u@h/db") == tmp_path / "w"
    assert path_for(tmp_path, "b2:abc") == tmp_path / "b2_abc.pt"


def test_save_then_load_checks_the_sha256(tmp_path):
    state = {"w": torch.arange(6.0).view(2, 3), "b": torch.zeros(3)}
    path = path_for(tmp_path / "weights", "b2:run")
    digest = save(state, path)
    assert digest == sha256_of(path) and len(digest) == 64
    assert [p.name for p in path.parent.iterdir()] == ["b2_run.pt"]  # no temporary file left
    got = load(path, digest)
    assert set(got) == {"w", "b"} and torch.equal(got["w"], state["w"])
    with path.open("ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(CheckpointError, match="do not match the run"):
        load(path, digest)
    with pytest.raises(CheckpointError, match="kept no weights"):
        load(path, None)
    with pytest.raises(CheckpointError, match="not at"):
        load(tmp_path / "absent.pt", digest)
