"""The reference repositories' published claims, as docs/reproduction.md checks them.

Each claim (from ../shared/specs/cells-and-tasks.md) is a list of assertions about two cells —
``A > B`` (A is better) or ``A ~ B`` (equivalent), the first being the headline — and the
stored settings they are checked on: the reference's own preset (``reference=True``: the
reference's scale, `benchmarks/fill_reference.py` fills it) and arena's smaller ``standard``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Where:
    """A stored setting: task, preset, the parameters that must match (sweep values) and the
    track (arena.tracks: how the models were built; the bare track unless said otherwise)."""
    task: str
    preset: str
    params: tuple[tuple[str, Any], ...] = ()
    track: str = "bare"
    #: The reference's own scale (its preset and data), as opposed to arena's smaller presets.
    reference: bool = False

    def label(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.params)
        return (f"`{self.task}` `{self.preset}`" + (f" ({extra})" if extra else "")
                + ("" if self.track == "bare" else f" [{self.track} track]"))


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    source: str
    published: str
    assertions: tuple[str, ...]  # "aru > gru", "gru ~ aru"; the first is the headline
    where: tuple[Where, ...]
    untested: str = ""  # reference presets not run here, and why
    notes: str = ""
    cells: tuple[str, ...] = field(default=())
    #: The reference's own variant of a cell (its options, as the board names it), used in the
    #: assertions on every setting that stores it; the plain cell stands in elsewhere.
    variants: tuple[tuple[str, str], ...] = ()


#: The ARU repository's own baselines (aru/baselines.py): arena's gru, lstm, rnn with init="aru".
ARU_BASELINES = (("gru", "gru[init=aru]"), ("lstm", "lstm[init=aru]"), ("rnn", "rnn[init=aru]"))


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "aru-counting", "ARU counts far better than GRU (counting)", "ARU phase 3, one seed (42)",
        "test MSE: ARU 0.0014 · GRU 0.1405 · LSTM 0.4061 · RNN 1.6678 (T=100, p=0.1)",
        ("aru > gru", "gru > lstm", "lstm > rnn"),
        (Where("counting", "aru", reference=True), Where("counting", "standard")),
        cells=("aru", "gru", "lstm", "rnn"), variants=ARU_BASELINES,
        notes="Preset `aru` is the reference's setting (8,000 sequences, hidden 64, Adam 1e-3, batch 128, "
              "30 epochs, patience 8). `standard` is shorter (4,000 sequences, 20 epochs, lr 3e-3).",
    ),
    Claim(
        "aru-copy", "ARU copies, GRU does not (copy, T=10, D=50)", "ARU phase 2, one seed (42)",
        "sequence / symbol accuracy: ARU 74.2 % / 96.9 % · GRU 0 / 50.5 % · LSTM 0 / 34.3 % · RNN 0 / 12.9 %",
        ("aru > gru", "gru > lstm", "lstm > rnn"),
        (Where("copy", "aru", reference=True), Where("copy", "standard")),
        cells=("aru", "gru", "lstm", "rnn"), variants=ARU_BASELINES,
        notes="`standard` copies L=5 symbols over D=20 blanks: a much easier copy than the reference's "
              "L=10, D=50, so it tests the ordering, not the published gap.",
    ),
    Claim(
        "aru-sparse-events", "ARU counts sparse events better than GRU; LSTM and RNN fail",
        "ARU phase 4, one seed (42)",
        "MAE: ARU 0.16 (exact 94.9 %) · GRU 0.43 (71.7 %) · RNN 3.00 · LSTM 3.06 (T=500, q=0.03)",
        ("aru > gru", "gru > lstm", "gru > rnn"),
        (Where("sparse-events", "aru", reference=True), Where("sparse-events", "standard")),
        cells=("aru", "gru", "lstm", "rnn"),
        variants=ARU_BASELINES + (("aru", "aru[gate_preset=sparse-events]"),),
        notes="`standard` has T=100, q=0.05 (5 events on average) and 12 epochs.",
    ),
    Claim(
        "aru-adding", "GRU and ARU solve the adding problem; LSTM and RNN do not", "ARU phase 5, one seed (42)",
        "test MSE: GRU 0.0009 · ARU 0.0013 · LSTM 0.1631 · RNN 0.1661 (T=200; solved below 0.01)",
        ("aru > lstm", "gru > lstm", "aru > rnn", "gru ~ aru"),
        (Where("adding", "aru", reference=True), Where("adding", "standard")),
        cells=("gru", "aru", "lstm", "rnn"), variants=ARU_BASELINES,
        notes="`standard` has T=50, 3,000 sequences and 12 epochs.",
    ),
    Claim(
        "aru-ag-news", "On AG News GRU ≥ ARU ≥ LSTM, far above RNN", "ARU phase 1, one seed (42)",
        "test accuracy: GRU 89.29 % · ARU 88.46 % · LSTM 87.61 % · RNN 26.51 %",
        ("gru > rnn", "aru > rnn", "gru ~ aru"),
        (Where("ag-news", "standard", reference=True), Where("ag-news", "small"),
         Where("ag-news", "small-last-valid")),
        cells=("gru", "aru", "lstm", "rnn"), variants=ARU_BASELINES,
        untested="Preset `standard` needs the official 120,000-row train file, which is not in "
                 "../shared/data and cannot be downloaded from this machine.",
        notes="Preset `small` re-splits the official *test* file (5,320 training texts): it checks the "
              "ordering only and is not comparable to the published accuracies. It pads after the text and "
              "reads the state after the padding, as the reference does; `small-last-valid` is the same "
              "data read at each text's last word (readout `last-valid`).",
    ),
    Claim(
        "mogru-copy", "MoGRU beats GRU, MomGRU and LSTM on copy", "MoGRU benchmark, 5 seeds",
        "token accuracy: MoGRU 0.350±0.010 · GRU 0.221±0.090 · MomGRU 0.243±0.012 · LSTM 0.063±0.001 "
        "(paired t: vs GRU p=0.038, vs LSTM 4.6e-7, vs MomGRU 1.9e-4)",
        ("mogru > gru", "mogru > lstm", "mogru > momgru"),
        (Where("copy", "mogru", reference=True), Where("copy", "standard")),
        cells=("mogru", "gru", "momgru", "lstm"),
    ),
    Claim(
        "mogru-adding", "GRU beats MoGRU on adding", "MoGRU benchmark, 5 seeds",
        "MSE: MoGRU 0.0028±0.0012 · GRU 0.0004±0.0003 · LSTM 0.0030 · MomGRU 0.0027 (vs GRU p=0.0092)",
        ("gru > mogru", "mogru ~ lstm", "mogru ~ momgru"),
        (Where("adding", "mogru", reference=True), Where("adding", "standard")),
        cells=("gru", "mogru", "lstm", "momgru"),
        notes="`standard` places one marker in each half (ARU's variant); MoGRU places both anywhere.",
    ),
    Claim(
        "mogru-trend", "No cell differs on the noisy trend", "MoGRU benchmark, 5 seeds",
        "sum-of-squares MSE: MoGRU 0.775±0.041 · GRU 0.792±0.031 · LSTM 0.833±0.031 · MomGRU 0.777±0.017 "
        "(all n.s.)",
        ("mogru ~ gru", "mogru ~ lstm", "mogru ~ momgru"),
        (Where("trend", "mogru", reference=True), Where("trend", "standard")),
        cells=("mogru", "gru", "lstm", "momgru"),
    ),
    Claim(
        "mogru-selective-copy", "MoGRU ≈ GRU ≈ LSTM ≈ 1.0 on selective copy; MomGRU fails",
        "MoGRU benchmark, 5 seeds",
        "token accuracy: MoGRU 0.99988 · GRU 0.99998 · LSTM 0.99984 · MomGRU 0.415±0.062 (vs MomGRU p=3.0e-5)",
        ("mogru > momgru", "mogru ~ gru", "mogru ~ lstm"),
        (Where("selective-copy", "mogru", reference=True), Where("selective-copy", "standard")),
        cells=("mogru", "gru", "lstm", "momgru"),
    ),
    Claim(
        "mogru-fixed-beta", "Fixing MoGRU's β at 0.9 costs it selective copy (ablation)",
        "MoGRU ablation (mogru/ablation.py), 3 seeds",
        "best val token accuracy: full MoGRU 1.000 · fixed β = 0.9 0.730 · no momentum, no LayerNorm, "
        "no reset 1.000 (T=50, K=5, V=16, H=128)",
        ("mogru > mogru[beta_mode=fixed]",),
        (Where("selective-copy", "mogru", reference=True),),
        cells=("mogru", "mogru[beta_mode=fixed]"),
        notes="Only the fixed-β ablation is run (the one the reference found to matter); it is the "
              "`mogru` preset with `--set cell.beta_mode=fixed`.",
    ),
    Claim(
        "mogru-interference", "MoGRU resists few distractors better than GRU; LSTM stays at chance",
        "MoGRU interference deep dive, one seed (42)",
        "accuracy at K=5: N=10 MoGRU 1.000 · GRU 0.765 · LSTM 0.065; N=50 0.938 · 0.816 · 0.068",
        ("mogru > gru", "gru > lstm"),
        (*(Where("interference", "mogru", (("n_distractors", n),), reference=True) for n in (10, 20, 50)),
         Where("interference", "standard", (("n_distractors", 5),)),
         Where("interference", "standard", (("n_distractors", 10),)),
         Where("interference", "standard", (("n_distractors", 20),)),
         Where("interference", "standard", (("n_distractors", 40),))),
        cells=("mogru", "gru", "lstm", "momgru", "aru"),
        notes="`standard` has K=3 pairs and vocabulary 16; the sweep n_distractors ∈ {5, 10, 20, 40} is "
              "stored as its own settings.",
    ),
    Claim(
        "mogru-interference-many", "With many distractors GRU beats MoGRU",
        "MoGRU interference deep dive, one seed (42)",
        "accuracy at K=5: N=100 MoGRU 0.553 · GRU 0.729 · LSTM 0.067; N=200 0.063 · 0.293 · 0.067",
        ("gru > mogru",),
        tuple(Where("interference", "mogru", (("n_distractors", n),), reference=True) for n in (100, 200)),
        cells=("gru", "mogru", "lstm"),
        notes="The reference's sweep found MoGRU's advantage at few distractors turning into a deficit "
              "from N=100 on; arena's `standard` sweep stops at N=40.",
    ),
    Claim(
        "mogru-cwru", "GRU beats LSTM and MoGRU on CWRU at every noise level",
        "MoGRU bearing benchmark, one seed (42)",
        "best val accuracy (GRU / LSTM / MoGRU): σ=0 .474/.411/.355 · 0.5 .493/.465/.313 · 1.0 .495/.486/.299 "
        "· 2.0 .468/.449/.298",
        ("gru > mogru", "gru > lstm"),
        (*(Where("cwru", "mogru", (("noise", sigma),), reference=True) for sigma in (0.0, 0.5, 1.0, 2.0)),
         Where("cwru", "mogru-reference", reference=True),
         Where("cwru", "standard", (("noise", 0.0),)),
         Where("cwru", "standard", (("noise", 0.5),)),
         Where("cwru", "standard", (("noise", 1.0),)),
         Where("cwru", "standard", (("noise", 2.0),))),
        cells=("gru", "lstm", "mogru", "momgru", "aru"),
        notes="`standard` uses windows of 256 steps and a time-contiguous split (no leakage); the noise "
              "sweep σ ∈ {0, 0.5, 1, 2} is added after z-scoring, as in the reference.",
    ),
    Claim(
        "hsru-parity", "HSRU solves temporal parity; LSTM stays at chance", "HSRU report (docs/HSRU-LIF-RNN.pdf)",
        "best accuracy: HSRU 100 / 100 / 100 % · LSTM 53.75 / 51.88 / 51.02 % at T=10/30/60",
        ("hsru > lstm",),
        (Where("parity", "hsru", reference=True), Where("parity", "standard")),
        cells=("hsru", "hsru-bptt", "lstm", "gru"),
        notes="Preset `hsru` is the fixed-length variant of the reference (T=50, hidden 128, 12,800 "
              "samples, AdamW 1e-3, batch 256, 40 epochs); the curriculum variant is not implemented. "
              "`standard` has T=30.",
    ),
)
