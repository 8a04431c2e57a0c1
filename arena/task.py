"""The task contract: data, loss and metrics. A task knows nothing about cells.

A task class sets ``info`` (a :class:`arena.TaskInfo`) and implements:

- ``input_size`` — feature width (``input_kind="features"``) or vocabulary size (``"tokens"``);
- ``output_size`` — number of classes or regression outputs per readout position;
- ``generate(n, generator, device)`` — ``n`` samples as a dict of tensors with at least ``x``
  (``[n, T]`` token ids or ``[n, T, D]`` features) and ``y``, optionally ``mask`` (``[n, T]``,
  positions that count for loss and metrics when ``readout="every"``) and ``lengths`` (``[n]``
  integers, the real tokens of each sample before its padding, which readout ``"last-valid"``
  needs), built in whole batches on ``device`` from ``generator`` only, so the same data seed
  gives the same data;
- ``evaluate(out, batch)`` — every metric of ``info.metrics`` as floats, from the model's
  outputs for a whole split;
- optionally ``loss`` (default: cross-entropy or MSE, masked when a mask is given) and
  ``chance`` (the score of a model that ignores its input, per metric) and ``solved`` (the
  level that counts as solving it; by default each ``Metric.solved``).

The host composes encoder (embedding or identity), cell and a linear head of ``output_size``,
applied to the last step (``readout="last"``), to every step (``readout="every"``) or to each
sample's last real token (``readout="last-valid"``, at ``lengths − 1``). The readout is
``info.readout`` unless the task's ``readout`` property says otherwise (e.g. from a parameter).

A **stream** task (``stream = True``, e.g. char-lm) gives each split as one sequence (``x`` and
``y`` of shape [1, N]), has a ``bptt`` property (tokens per training window) and readout
``every``; the host trains it with truncated BPTT and carried state and evaluates it carried and
reset (arena/stream.py), so its ``evaluate`` also gets ``batch["out_reset"]``.

Torch is imported inside methods, so task modules stay cheap to import.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from arena.contracts import TaskInfo

if TYPE_CHECKING:
    import torch

SPLITS = ("train", "val", "test")


class Task:
    info: ClassVar[TaskInfo]
    #: Token id embedded as a fixed zero vector (``Embedding(padding_idx=...)``), or None.
    padding_idx: ClassVar[int | None] = None
    #: Inputs come from a finite set (tokens, bits), so a training sample could repeat a
    #: validation or test sample; such samples are dropped from training (held out for real).
    discrete_inputs: ClassVar[bool | None] = None
    #: Each split is one long sequence trained with carried state (arena/stream.py).
    stream: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.info.params)
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)} for task; known: {sorted(self.info.params)}")
        self.params: dict[str, Any] = {**self.info.params, **params}
        self.validate()

    # -- contract -------------------------------------------------------------------------
    @property
    def readout(self) -> str:
        """How the host reads the cell's outputs for this task's runs (READOUTS); by default
        ``info.readout``. A task whose parameters choose the readout overrides this."""
        return self.info.readout

    def validate(self) -> None:
        """Raise ValueError for parameter values that make no sense."""

    def prepare(self) -> None:
        """Make sure the data exists (find, verify or download it) before any run starts.

        Raise ``arena.datasets.DataMissingError`` with a one-line instruction when it cannot.
        """

    @property
    def input_size(self) -> int:
        raise NotImplementedError

    @property
    def output_size(self) -> int:
        raise NotImplementedError

    def generate(self, n: int, generator: "torch.Generator", device: "torch.device") -> dict[str, "torch.Tensor"]:
        raise NotImplementedError

    def evaluate(self, out: "torch.Tensor", batch: Mapping[str, "torch.Tensor"]) -> dict[str, float]:
        raise NotImplementedError

    def chance(self) -> dict[str, float]:
        """Score of an input-blind predictor for each metric where it is defined."""
        return {}

    def solved(self) -> dict[str, float]:
        """The level that counts as solving the task, per metric (default: each ``Metric.solved``).

        With :meth:`chance` it anchors the normalised score: chance = 0, solved = 1."""
        return {m.name: float(m.solved) for m in self.info.metrics if m.solved is not None}

    # -- data -----------------------------------------------------------------------------
    def split_size(self, split: str) -> int:
        return int(self.params[f"n_{split}"])

    def fresh_train_data(self) -> bool:
        """Whether training data is drawn anew every epoch (the reference's regime)."""
        return bool(self.params.get("fresh", False))

    def data(self, split: str, *, seed: int, epoch: int, device: "torch.device") -> dict[str, "torch.Tensor"]:
        """The samples of one split; ``seed`` is the run's data seed, the same for every cell."""
        import torch

        from arena.keys import derive_seed

        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}")
        draw = epoch if (split == "train" and self.fresh_train_data()) else 0
        gen = torch.Generator(device=device)
        gen.manual_seed(derive_seed("split", seed, split, draw) % (2**63))
        n = self.split_size(split)
        batch = self.generate(n, gen, device)
        discrete = self.discrete_inputs if self.discrete_inputs is not None else self.info.input_kind == "tokens"
        if split == "train" and discrete:
            batch = self._without_held_out(batch, n, gen, seed, device)
        return batch

    def _without_held_out(self, batch: dict[str, "torch.Tensor"], n: int, gen: "torch.Generator", seed: int,
                          device: "torch.device") -> dict[str, "torch.Tensor"]:
        """Drop training samples whose input equals a validation or test input; top up."""
        import torch

        cache = getattr(self, "_held_out", None)
        if cache is None or cache[0] != seed:
            held = set()
            for split in ("val", "test"):
                held |= _row_keys(self.data(split, seed=seed, epoch=0, device=device)["x"])
            cache = (seed, held)
            self._held_out = cache
        held = cache[1]
        parts, have = [], 0
        for _ in range(100):
            keep = torch.tensor([k not in held for k in _row_keys(batch["x"], as_list=True)], device=device)
            part = {k: v[keep] for k, v in batch.items()}
            parts.append(part)
            have += int(keep.sum())
            if have >= n:
                break
            batch = self.generate(max(2 * (n - have), 64), gen, device)
        else:
            raise ValueError("the task's sample space is too small to hold validation and test data out of training")
        if len(parts) == 1 and have == n:
            return parts[0]
        return {k: torch.cat([p[k] for p in parts])[:n] for k in parts[0]}

    # -- loss -----------------------------------------------------------------------------
    def loss(self, out: "torch.Tensor", batch: Mapping[str, "torch.Tensor"]) -> "torch.Tensor":
        """Cross-entropy (classes) or MSE (regression), over ``mask`` positions when given."""
        import torch.nn.functional as F

        y = batch["y"]
        mask = batch.get("mask")
        if self.info.output_kind == "classes":
            if mask is not None:
                m = mask.bool()
                return F.cross_entropy(out[m], y[m])
            return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        pred = out.reshape(y.shape)
        if mask is not None:
            m = mask.bool()
            return F.mse_loss(pred[m], y[m])
        return F.mse_loss(pred, y)


def _row_keys(x: "torch.Tensor", as_list: bool = False) -> Any:
    """Bytes of each sample's input, to compare samples exactly."""
    rows = x.detach().reshape(x.shape[0], -1).cpu().contiguous().numpy()
    keys = [r.tobytes() for r in rows]
    return keys if as_list else set(keys)
