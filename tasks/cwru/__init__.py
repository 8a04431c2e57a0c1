"""CWRU bearing faults: classify drive-end vibration windows as normal or a fault type.

Data: Case Western Reserve University Bearing Data Center, drive-end accelerometer at 12 kHz,
loads 0–3 hp (normal only at 0 hp). Per file: the 48 kHz normal record is decimated by 4 with
an anti-aliasing filter (scipy's order-8 Chebyshev I, zero phase) so that its spectrum and
band edge match the 12 kHz fault records (read as-is, its spectrum is compressed 4× and a model
could spot "normal" by its sampling rate alone); ``decimate_normal=false`` reads it as-is at
48 kHz instead, as MoGRU does (4× as many normal windows, each spanning a quarter of the time);
then the whole signal is z-scored; windows of ``window`` samples every ``stride``; Gaussian
noise N(0, σ²) added to each window after normalisation (``noise``, MoGRU's robustness sweep).

Classes: ``classes=4`` — normal, inner race, ball, outer race @6 (all fault sizes pooled, as in
MoGRU); ``classes=10`` — each fault size its own class (the usual 10-class setup).

Splits (``split``):
- ``time`` (default): each file is cut into contiguous train / validation / test segments in
  time and windows are taken inside each segment, so no window overlaps across splits;
- ``random``: all windows shuffled (one fixed shuffle, seed 42) and split 80/10/10;
- ``random-80-20`` (preset ``mogru-reference``): MoGRU's split. All windows, record by record in
  the reference's order (normal, inner race, ball, outer race; sizes 7, 14, 21), shuffled once
  by NumPy's legacy generator seeded 42, first 80 % train, last 20 % test. Validation
  (``val_from``): ``train`` (default) takes the last eighth of the shuffled 80 % (so 70/10/20);
  ``test`` validates on the test windows themselves, as the reference does (it reports the best
  epoch's accuracy on its held-out 20 %);
- ``cross-load``: train and validate on ``train_loads``, test on ``test_loads`` (the normal
  class has no record above 0 hp, so a 3 hp test set holds fault classes only).

With 50 % window overlap both random splits LEAK: most test windows share half their samples
with a training window, so their accuracies are optimistic.

Classes are imbalanced (one normal file against three per fault type); ``balance=weighted-loss``
weights the cross-entropy by inverse class frequency in training, and balanced accuracy is
reported beside accuracy.

Reference: Thormatt/mogru mogru/bearing_benchmark.py (0 hp, 4 classes, window 1024 stride 512,
80/20 random split, hidden 64, Adam 1e-3, batch 64, 15 epochs, best validation accuracy).
Preset ``mogru`` keeps its setting on arena's reading (decimated normal record, contiguous
80/10/10 time split, no leak); ``mogru-reference`` reads and splits as the reference does.
See ../shared/specs/cells-and-tasks.md §3.4, §6.8.
"""
from __future__ import annotations

from typing import Callable

from arena import hookimpl

from .records import DATASET, FILES, FOUR_CLASS, SOURCE, TEN_CLASS, load_signal, n_windows
from .task import INFO, PARAMS, SPLIT_KINDS, VAL_FROM, CwruTask, _loads, _reference_order

# Every name the single-module tasks/cwru.py had, so imports from arena.tasks.cwru keep working.
__all__ = ["DATASET", "FILES", "FOUR_CLASS", "INFO", "PARAMS", "SOURCE", "SPLIT_KINDS", "TEN_CLASS", "VAL_FROM",
           "CwruTask", "_loads", "_reference_order", "load_signal", "n_windows", "register_tasks"]


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    register("cwru", CwruTask, info=INFO)
