"""Baseline cells: GRU, LSTM and Elman RNN (tanh), one layer, batch first, in two forms (option ``init``).

``init="torch"`` (the default, and the only form before the option existed): PyTorch's own
torch.nn.GRU / nn.LSTM / nn.RNN with their default initialisation (U(−1/√H, 1/√H)), as the MoGRU
reference uses them. On CUDA they run cuDNN's fused kernels; on CPU nn.GRU and nn.RNN are an
ATen loop and nn.LSTM uses oneDNN (see ../shared/specs/cpu-performance.md §6).

    GRU:  r = σ(W_ir x + b_ir + W_hr h + b_hr)     z = σ(W_iz x + b_iz + W_hz h + b_hz)
          n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))      h' = (1 − z) ⊙ n + z ⊙ h
    LSTM: i, f, g, o = σ, σ, tanh, σ (W x + b_i + U h + b_h)  c' = f ⊙ c + i ⊙ g   h' = o ⊙ tanh(c')
    RNN:  h' = tanh(W x + b_i + U h + b_h)

    Parameters: GRU 3H(I+H) + 6H, LSTM 4H(I+H) + 8H, RNN H(I+H) + 2H.

``init="aru"``: the baselines of the ARU repository, ManualGRU / ManualLSTM / ManualRNN in
aru/baselines.py of abderahmane-ai/additive-recurrent-unit (snapshot d7370a0), which ARU's reports
compare against. They are hand-written cells, not torch.nn's, and differ from it in three ways:
the recurrent matrices have no bias (the only bias is the input projection's), every weight
matrix is initialised with ``nn.init.orthogonal_`` and every bias with zero, and one gate bias
starts at +1. The GRU also applies its reset gate before the recurrent matrix and orders its
gates (z, r). With W·x + b the input projection (an nn.Linear with bias, I → k·H) and U·h a
bias-free nn.Linear (H → k·H)::

    GRU:  z, r = split₂ σ(W_g x + b_g + U_g h)         h̃ = tanh(W_c x + b_c + U_c (r ⊙ h))
          h' = (1 − z) ⊙ h̃ + z ⊙ h                      z is the "keep" gate; b_z starts at +1
    LSTM: i, f, g, o = split₄ (W x + b + U h) → σ, σ, tanh, σ
          c' = f ⊙ c + i ⊙ g   h' = o ⊙ tanh(c')        b_f (rows H..2H of b) starts at +1
    RNN:  h' = tanh(W x + b + U h)                      all biases start at 0

    Parameters: GRU 3HI + 3H² + 3H, LSTM 4HI + 4H² + 4H, RNN HI + H² + H.
    (With ARU's heads these give the parameter counts of its reports, e.g. counting, I=1, H=64,
    head H+1: GRU 12,737, LSTM 16,961, RNN 4,289.)

Initialisation as in the reference's ``_init_weights``: ``orthogonal_`` on each weight matrix as a
whole, input projections included (a tall 2H×H or 4H×H recurrent matrix gets orthonormal
columns, UᵀU = I, not one orthogonal block per gate; the square H×H ones are orthogonal), all
biases zero, then the GRU's update-gate bias (rows 0..H of b_g) or the LSTM's forget-gate bias
(rows H..2H of b) set to 1. The submodules are created, and initialised, in the reference's order
with the reference's names (gate_x_proj, cand_x_proj, gate_h_proj, cand_h_proj; W_x, W_h), so the
same seed gives the same weights as ``ManualGRU(I, H, use_embedding=False)`` etc. The reference's
embedding, dropout and classifier belong to the host here. The recurrence is a per-step loop in
TorchScript ("scripted-loop"), as in the reference (no cuDNN: nn.GRU cannot express the reset
gate's position, and no nn.* module has an input bias without a recurrent one); the input
projections of all steps are one matmul before the loop.
"""
from __future__ import annotations

import warnings
from typing import Callable, List, Tuple

import torch
from torch import Tensor, nn

from arena.cell import Cell, State

#: Values of the ``init`` option: torch.nn's modules, or the ARU repository's hand-written baselines.
INITS = ("torch", "aru")


# -- the ARU reference's recurrences (aru/baselines.py), all steps at once -----------------------------
# Same arithmetic as the reference: x-part + mm(h, Uᵀ), elementwise as written there. The sequence is
# unbound once (per-step indexing of a grad-carrying [B, T, ·] tensor makes backward O(T²)).

def _aru_gru_loop(gx: Tensor, cx: Tensor, h: Tensor, ug_t: Tensor, uc_t: Tensor) -> Tuple[Tensor, Tensor]:
    """gx [B,T,2H] = W_g x + b_g, cx [B,T,H] = W_c x + b_c, h [B,H], ug_t = U_gᵀ [H,2H], uc_t = U_cᵀ [H,H]."""
    gxs = gx.unbind(1)
    cxs = cx.unbind(1)
    outs: List[Tensor] = []
    for t in range(len(gxs)):
        gates = torch.sigmoid(gxs[t] + torch.mm(h, ug_t))
        z, r = gates.chunk(2, 1)
        h_tilde = torch.tanh(cxs[t] + torch.mm(r * h, uc_t))
        h = (1 - z) * h_tilde + z * h
        outs.append(h)
    return torch.stack(outs, 1), h


def _aru_lstm_loop(gx: Tensor, h: Tensor, c: Tensor, u_t: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """gx [B,T,4H] = W x + b (gate order i, f, g, o), h and c [B,H], u_t = Uᵀ [H,4H]."""
    gxs = gx.unbind(1)
    outs: List[Tensor] = []
    for t in range(len(gxs)):
        gates = gxs[t] + torch.mm(h, u_t)
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, 1), h, c


def _aru_rnn_loop(gx: Tensor, h: Tensor, u_t: Tensor) -> Tuple[Tensor, Tensor]:
    """gx [B,T,H] = W x + b, h [B,H], u_t = Uᵀ [H,H]."""
    gxs = gx.unbind(1)
    outs: List[Tensor] = []
    for t in range(len(gxs)):
        h = torch.tanh(gxs[t] + torch.mm(h, u_t))
        outs.append(h)
    return torch.stack(outs, 1), h


_SCRIPTED: dict[str, Callable] = {}


def _scripted(fn: Callable) -> Callable:
    """``fn`` compiled by TorchScript on first use (importing the plugin stays cheap)."""
    if fn.__name__ not in _SCRIPTED:
        with warnings.catch_warnings():  # torch ≥ 2.10 flags jit.script as deprecated; still the fast CPU path
            warnings.simplefilter("ignore", DeprecationWarning)
            _SCRIPTED[fn.__name__] = torch.jit.script(fn)
    return _SCRIPTED[fn.__name__]


class _TorchRNN(Cell):
    module_class: type[nn.RNNBase]

    def __init__(self, input_size: int, hidden_size: int, init: str = "torch") -> None:
        super().__init__(input_size, hidden_size)
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, not {init!r}")
        self.init = init
        if init == "torch":
            self.rnn = self.module_class(input_size, hidden_size, batch_first=True)
        else:
            self._build_aru()
            self._init_aru()

    # -- init="aru" ----------------------------------------------------------------------------------
    def _build_aru(self) -> None:
        """Create the reference's Linears, in its order (nn.Linear's own init draws from the RNG)."""
        raise NotImplementedError

    def _gate_bias_ones(self) -> tuple[nn.Linear, slice] | None:
        """The bias rows the reference sets to 1 after the zero init, if any."""
        return None

    def _init_aru(self) -> None:
        with torch.no_grad():
            for p in self.parameters():  # registration order, as the reference's named_parameters()
                if p.dim() >= 2:
                    nn.init.orthogonal_(p)
                else:
                    nn.init.zeros_(p)
            ones = self._gate_bias_ones()
            if ones is not None:
                linear, rows = ones
                linear.bias[rows].fill_(1.0)

    @property
    def impl(self) -> str:  # type: ignore[override]
        if self.init == "aru":
            return "scripted-loop"
        return "cudnn" if self.rnn.weight_hh_l0.is_cuda else "torch-native-cpu"

    def extra_info(self) -> dict[str, object]:
        info: dict[str, object] = {"impl": self.impl}
        if self.init != "torch":  # unchanged for the default, as before the option existed
            info["init"] = self.init
        return info

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        if self.init == "aru":
            if state is None:
                state = self.initial_state(x.shape[0], x.device, x.dtype)
            return self._forward_aru(x, state)
        h0 = None if state is None else state.unsqueeze(0)  # type: ignore[union-attr]
        y, h = self.rnn(x, h0)
        return y, h.squeeze(0)

    def _forward_aru(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        raise NotImplementedError


class GRU(_TorchRNN):
    module_class = nn.GRU

    def _build_aru(self) -> None:
        d, H = self.input_size, self.hidden_size
        self.gate_x_proj = nn.Linear(d, 2 * H)  # rows (z, r)
        self.cand_x_proj = nn.Linear(d, H)
        self.gate_h_proj = nn.Linear(H, 2 * H, bias=False)
        self.cand_h_proj = nn.Linear(H, H, bias=False)

    def _gate_bias_ones(self) -> tuple[nn.Linear, slice] | None:
        return self.gate_x_proj, slice(0, self.hidden_size)  # update gate z

    def _forward_aru(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        loop = _scripted(_aru_gru_loop)
        return loop(self.gate_x_proj(x), self.cand_x_proj(x), state,
                    self.gate_h_proj.weight.t(), self.cand_h_proj.weight.t())


class RNN(_TorchRNN):
    module_class = nn.RNN

    def _build_aru(self) -> None:
        self.W_x = nn.Linear(self.input_size, self.hidden_size)
        self.W_h = nn.Linear(self.hidden_size, self.hidden_size, bias=False)

    def _forward_aru(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        return _scripted(_aru_rnn_loop)(self.W_x(x), state, self.W_h.weight.t())


class LSTM(_TorchRNN):
    module_class = nn.LSTM

    def _build_aru(self) -> None:
        H = self.hidden_size
        self.gate_x_proj = nn.Linear(self.input_size, 4 * H)  # rows (i, f, g, o)
        self.gate_h_proj = nn.Linear(H, 4 * H, bias=False)

    def _gate_bias_ones(self) -> tuple[nn.Linear, slice] | None:
        H = self.hidden_size
        return self.gate_x_proj, slice(H, 2 * H)  # forget gate f

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        z = torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)
        return (z, z.clone())

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        if self.init == "aru":
            return super().forward(x, state)
        hc = None if state is None else (state[0].unsqueeze(0), state[1].unsqueeze(0))
        y, (h, c) = self.rnn(x, hc)
        return y, (h.squeeze(0), c.squeeze(0))

    def _forward_aru(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        h, c = state
        y, h, c = _scripted(_aru_lstm_loop)(self.gate_x_proj(x), h, c, self.gate_h_proj.weight.t())
        return y, (h, c)
