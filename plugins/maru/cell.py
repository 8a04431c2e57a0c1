"""The MARU cell: parameters, initialisation, fused weights, and forward/step over the loop modules.

Everything runs time-major ((T, B, ·)), so every per-step slice the loops touch is contiguous,
and so is every operand broadcast inside a loop (Aᵀ arrives as a transposed view and a conv
tap's weights as a strided column of (E, k): either made each per-step operation several
times slower).
Every input-only product is one matmul over all T·B rows: embed_proj∘in_proj fused into one
I → 2E map (when I ≠ M: a third of the work, and one weight-gradient product instead of two
larger ones), out_proj, then to_hidden fused with the x-parts of the router, the read query and
the three GRU gates into one M → R+Dm+3H map; the 1/√Dm of both attention scores is folded into
the query and key weights.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from arena.cell import Cell, State

from .constants import DT_MAX, DT_MIN, LOG2E, ROUTERS, SCANS, SIZES, TAU_DECAY, TAU_FINAL, TAU_INIT, TAU_MIN
from .lean_step import _maru_step
from .mamba_block import _mamba_core_autograd, mamba_core
from .mom_loop import mom_gru


class MARU(Cell):
    """Mamba block → Linear(d_model → H) → MoM-GRU; output h_t (size H)."""

    def __init__(self, input_size: int, hidden_size: int, size: str = "small", d_model: int = 0,
                 d_state: int = 16, d_conv: int = 4, expand: int = 2, num_memories: int = 0,
                 memory_size: int = 0, memory_dim: int = 0, router_hidden: int = 32,
                 router: str = "enhanced", scan: str = "auto", eval_gumbel: bool = False) -> None:
        super().__init__(input_size, hidden_size)
        if size not in SIZES:
            raise ValueError(f"size must be one of {tuple(SIZES)}, not {size!r}")
        if router not in ROUTERS:
            raise ValueError(f"router must be one of {ROUTERS}, not {router!r}")
        if scan not in SCANS:
            raise ValueError(f"scan must be one of {SCANS}, not {scan!r}")
        K, S, Dm = SIZES[size]
        self.size = size
        self.K = int(num_memories) or K
        self.S = int(memory_size) or S
        self.Dm = int(memory_dim) or Dm
        self.R = int(router_hidden)
        self.d_model = int(d_model) or hidden_size
        self.d_state, self.d_conv, self.expand = int(d_state), int(d_conv), int(expand)
        self.d_inner = self.expand * self.d_model
        self.dt_rank = max(1, self.d_model // 16)
        self.router, self.scan, self.eval_gumbel = router, scan, bool(eval_gumbel)
        if min(self.K, self.S, self.Dm, self.R, self.d_state, self.d_conv, self.expand) < 1:
            raise ValueError("all sizes must be ≥ 1")
        H, M, E, N, I = hidden_size, self.d_model, self.d_inner, self.d_state, input_size

        # Input projection (the reference's embed_proj) only when the widths differ.
        self.in_lin: nn.Linear | None = nn.Linear(I, M) if I != M else None
        # Mamba block
        self.in_proj = nn.Linear(M, 2 * E)
        self.conv1d = nn.Conv1d(E, E, self.d_conv, groups=E)
        self.x_proj = nn.Linear(E, self.dt_rank + 2 * N, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, E)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(E, 1))
        self.D = nn.Parameter(torch.ones(E))
        self.out_proj = nn.Linear(E, M)
        # Mamba → GRU projection
        self.to_hidden = nn.Linear(M, H)
        # MoM-GRU (input H)
        self.initial_memories = nn.Parameter(torch.randn(self.K, self.S, self.Dm) * 0.1)
        self.W_xr = nn.Parameter(torch.empty(H + self.Dm, H))
        self.W_hr = nn.Parameter(torch.empty(H, H))
        self.b_r = nn.Parameter(torch.zeros(H))
        self.W_xz = nn.Parameter(torch.empty(H + self.Dm, H))
        self.W_hz = nn.Parameter(torch.empty(H, H))
        self.b_z = nn.Parameter(torch.zeros(H))
        self.W_xh = nn.Parameter(torch.empty(H + self.Dm, H))
        self.W_hh = nn.Parameter(torch.empty(H, H))
        self.b_h = nn.Parameter(torch.zeros(H))
        self.router_net = nn.Sequential(nn.Linear(2 * H, self.R), nn.ReLU(), nn.Linear(self.R, self.K))
        self.read_query = nn.Linear(2 * H, self.Dm)
        self.write_key = nn.Linear(H, self.Dm)
        self.write_value = nn.Linear(H, self.Dm)
        self.write_gate = nn.Linear(H, 1)
        # Router stabiliser state (used by router="enhanced"); not parameters.
        self.register_buffer("lfb_bias", torch.zeros(self.K))
        self.register_buffer("load_ema", torch.full((self.K,), 1.0 / self.K))
        self.register_buffer("router_step", torch.zeros((), dtype=torch.long))
        self._init_parameters()
        self._step_cache: tuple[tuple[Any, ...], tuple[Tensor, ...]] | None = None

    def _init_parameters(self) -> None:
        with torch.no_grad():
            for lin in (self.in_lin, self.to_hidden, self.router_net[0], self.router_net[2],
                        self.read_query, self.write_key, self.write_value, self.write_gate):
                if lin is not None:
                    nn.init.xavier_uniform_(lin.weight)
                    nn.init.zeros_(lin.bias)
            for wt in (self.W_xr, self.W_hr, self.W_xz, self.W_hz, self.W_xh, self.W_hh):
                nn.init.xavier_uniform_(wt)
            dt = torch.exp(torch.rand(self.d_inner) * (math.log(DT_MAX) - math.log(DT_MIN))
                           + math.log(DT_MIN)).clamp(min=DT_MIN)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus⁻¹(dt)
            nn.init.uniform_(self.dt_proj.weight, -0.01, 0.01)

    # -- contract ---------------------------------------------------------------------------
    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        E = self.d_inner
        mem = self.initial_memories.to(device=device, dtype=dtype)
        return (torch.zeros(batch, self.d_conv - 1, E, device=device, dtype=dtype),
                torch.zeros(batch, self.d_state, E, device=device, dtype=dtype),
                torch.zeros(batch, self.hidden_size, device=device, dtype=dtype),
                mem.unsqueeze(0).expand(batch, -1, -1, -1))

    def parallel_scan_on(self, device: torch.device) -> bool:
        """Whether the selective scan takes the parallel form on ``device``."""
        if self.scan != "auto":
            return self.scan == "parallel"
        return device.type != "cpu"

    @property
    def impl(self) -> str:  # type: ignore[override]
        par = self.parallel_scan_on(self.D.device)
        return ("parallel-scan" if par else "fused-mamba-exp2-scan") + "+mom-loop-v2+lean-step"

    def extra_info(self) -> dict[str, Any]:
        return {"impl": self.impl, "size": self.size, "d_model": self.d_model, "d_inner": self.d_inner,
                "num_memories": self.K, "memory_size": self.S, "memory_dim": self.Dm,
                "router": self.router, "scan": self.scan, "eval_gumbel": self.eval_gumbel}

    # -- weights in the loops' layouts ----------------------------------------------------------
    def _fused_weights(self) -> tuple[Tensor, ...]:
        """(W_f, b_f, W_u, b_u, W_h, W_r2, b_r2, W_c, W_w, b_w), differentiable.

        W_f, b_f: embed_proj∘in_proj as one (I → 2E) map (the composition of two linear maps: a
        third of the matmul work, and its weight gradient is one (T·B)×I×2E product instead of
        two larger ones); W_u, b_u: to_hidden∘[the x-parts of R1 | Q | W_xr | W_xz | W_xh] as one
        (M → R+Dm+3H) map. The 1/√Dm of the read and write scores is folded into the query and
        key weights.
        """
        H, Dm = self.hidden_size, self.Dm
        scale = 1.0 / math.sqrt(Dm)
        if self.in_lin is not None:
            W_f = torch.mm(self.in_proj.weight, self.in_lin.weight).t()
            b_f = torch.addmv(self.in_proj.bias, self.in_proj.weight, self.in_lin.bias)
        else:
            W_f, b_f = self.in_proj.weight.t(), self.in_proj.bias
        r1, q, r2 = self.router_net[0], self.read_query, self.router_net[2]
        W_x = torch.cat([r1.weight[:, :H].t(), q.weight[:, :H].t() * scale, self.W_xr[:H], self.W_xz[:H],
                         self.W_xh[:H]], 1)
        b_x = torch.cat([r1.bias, q.bias * scale, self.b_r, self.b_z, self.b_h])
        W_u = torch.mm(self.to_hidden.weight.t(), W_x)
        b_u = torch.addmv(b_x, W_x.t(), self.to_hidden.bias)
        W_h = torch.cat([r1.weight[:, H:].t(), q.weight[:, H:].t() * scale, self.W_hr, self.W_hz], 1)
        W_c = torch.cat([self.W_xr[H:], self.W_xz[H:], self.W_xh[H:]], 1)
        W_w = torch.cat([self.write_key.weight * scale, self.write_value.weight, self.write_gate.weight], 0).t()
        b_w = torch.cat([self.write_key.bias * scale, self.write_value.bias, self.write_gate.bias])
        return (W_f, b_f, W_u, b_u, W_h.contiguous(), r2.weight.t().contiguous(), r2.bias, W_c, W_w.contiguous(), b_w)

    def _step_weights(self) -> tuple[Tensor, ...]:
        """Everything ``_maru_step`` takes, built once and reused while no parameter changes.

        The key is each parameter's version counter and storage: optimiser steps, load_state_dict
        and in-place edits under no_grad all bump it. (Edits through ``p.data`` bypass version
        counters; ``forward`` drops this cache, so the next step rebuilds after any forward call.)
        """
        params = list(self.parameters())
        key = tuple((p._version, p.data_ptr(), p.dtype, p.device) for p in params)
        cache = getattr(self, "_step_cache", None)
        if cache is not None and cache[0] == key:
            return cache[1]
        with torch.no_grad():
            E = self.d_inner
            W_f, b_f, W_u, b_u, W_h, W_r2, b_r2, W_c, W_w, b_w = self._fused_weights()
            A2 = (-torch.exp(self.A_log)).t() * LOG2E
            weights = (W_f.contiguous(), b_f, self.conv1d.weight.view(E, -1).t().contiguous(), self.conv1d.bias,
                       self.x_proj.weight.t().contiguous(), self.dt_proj.weight.t().contiguous(), self.dt_proj.bias,
                       A2.contiguous(), self.D, self.out_proj.weight.t().contiguous(), self.out_proj.bias,
                       W_u.contiguous(), b_u, W_h, W_r2, b_r2, W_c.contiguous(), self.W_hh, W_w, b_w)
        self._step_cache = (key, weights)
        return weights

    def train(self, mode: bool = True) -> MARU:
        self._step_cache = None
        return super().train(mode)

    # -- step ---------------------------------------------------------------------------------
    def step(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One token in O(1): the state carries the conv window, the SSM state, h and Mem.

        Without autograd (inference) one scripted function does the whole step with cached fused
        weights; with gradients it is ``forward`` on a length-1 sequence.
        """
        if (torch.is_grad_enabled() and (x_t.requires_grad or any(p.requires_grad for p in self.parameters())
                                         or (state is not None and any(s.requires_grad for s in state)))) \
                or self.parallel_scan_on(x_t.device):
            y, state = self.forward(x_t.unsqueeze(1), state)
            return y[:, 0], state
        B = x_t.shape[0]
        if state is None:
            state = self.initial_state(B, x_t.device, x_t.dtype)
        conv_win, ssm, h, mem = state  # type: ignore[misc]
        enhanced = self.router == "enhanced"
        lfb = self.lfb_bias.to(x_t.dtype) if enhanced else torch.zeros_like(self.lfb_bias, dtype=x_t.dtype)
        noise, tau, use_noise, update = self._router_inputs(B, 1, x_t)
        h, conv_win, ssm, mem, lfb, ema = _maru_step(
            x_t, conv_win, ssm, h, mem, *self._step_weights(), lfb, self.load_ema.to(x_t.dtype),
            noise[0] if use_noise else noise, tau[0] if use_noise else tau, use_noise, update)
        if update:
            self._update_router_state(lfb, ema, 1)
        return h.clone(), (conv_win, ssm, h, mem)  # the output does not alias the state

    # -- pieces -------------------------------------------------------------------------------
    def _router_inputs(self, B: int, T: int, ref: Tensor) -> tuple[Tensor, Tensor, bool, bool]:
        stochastic = self.router == "enhanced" and (self.training or self.eval_gumbel)
        if not stochastic:
            return ref.new_empty(0), ref.new_empty(0), False, False
        u = torch.rand(T, B, self.K, device=ref.device, dtype=ref.dtype)
        noise = -torch.log(-torch.log(u + 1e-8) + 1e-8)
        n = self.router_step.to(torch.float64) + torch.arange(T, device=ref.device, dtype=torch.float64)
        decay = TAU_DECAY ** n
        tau = (TAU_INIT * decay + TAU_FINAL * (1 - decay)).clamp(min=TAU_MIN).to(ref.dtype)
        return noise, tau, True, True

    def _update_router_state(self, lfb: Tensor, ema: Tensor, T: int) -> None:
        with torch.no_grad():
            self.lfb_bias.copy_(lfb)
            self.load_ema.copy_(ema)
            if self.training:
                self.router_step.add_(T)

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        self._step_cache = None
        B, T, I = x.shape
        if state is None:
            state = self.initial_state(B, x.device, x.dtype)
        conv_win, ssm, h, mem = state  # type: ignore[misc]
        E = self.d_inner
        W_f, b_f, W_u, b_u, W_h, W_r2, b_r2, W_c, W_w, b_w = self._fused_weights()
        # Time-major from here on: every per-step slice the loops touch is contiguous.
        xz = torch.addmm(b_f, x.transpose(0, 1).reshape(T * B, I), W_f).view(T, B, 2 * E)
        core = _mamba_core_autograd if self.parallel_scan_on(x.device) else mamba_core
        g, conv_win, ssm = core(xz, conv_win, self.conv1d.weight.view(E, -1), self.conv1d.bias,
                                self.x_proj.weight, self.dt_proj.weight, self.dt_proj.bias,
                                -torch.exp(self.A_log).t(), self.D, ssm)
        m = torch.addmm(self.out_proj.bias, g.reshape(T * B, E), self.out_proj.weight.t())
        X = torch.addmm(b_u, m, W_u).view(T, B, -1)
        enhanced = self.router == "enhanced"
        lfb = self.lfb_bias.to(x.dtype) if enhanced else torch.zeros_like(self.lfb_bias, dtype=x.dtype)
        noise, tau, use_noise, update = self._router_inputs(B, T, x)
        hs, h, mem, lfb, ema = mom_gru(X, h, mem, W_h, W_r2, b_r2, W_c, self.W_hh, W_w, b_w,
                                       lfb, self.load_ema.to(x.dtype), noise, tau, use_noise, update)
        if update:
            self._update_router_state(lfb, ema, T)
        return hs.transpose(0, 1).contiguous(), (conv_win, ssm, h, mem)
