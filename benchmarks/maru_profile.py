"""Where MARU's time goes: per stage and per component, forward, backward and step().

    python benchmarks/maru_profile.py --impl v1 --threads 1 --out benchmarks/results/maru_profile_v1.json
    python benchmarks/maru_profile.py --impl current --threads 1 --out benchmarks/results/maru_profile.json

``--impl v1`` profiles the frozen pre-issue-22 cell (tests/maru_reference_v1.py), ``current`` the
shipped plugins/maru/. B=32, input 64, hidden 128 (arena bench's defaults), training mode with the
enhanced router for forward+backward, eval mode for step().

Two measurements, both paired with torch.nn.GRU timed in the same rounds (the machine is shared, so
absolute times drift; ratios much less):

1. Stages, by wall clock, no profiler: the cell's forward is cut at its stage boundaries (inputs of
   each stage detached), every stage's forward and backward timed on its own (median over rounds).
   The stages are the implementation's own (``STAGES`` below); their sum is close to, not equal
   to, one whole call (no cut tensors, no autograd graph across stages in the whole call).
2. Components inside the recurrent loops, by torch.profiler: the loop functions are recompiled
   from their own source with ``record_function`` markers inserted before anchor lines (nothing
   else changes), and the profiler's total per marker range is reported, also as a share of the
   loop. The profiler adds about a microsecond per operator, so components made of many small
   operators look somewhat more expensive than they are: read the shares, not the microseconds.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.profiler import profile

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

B, I, H = 32, 64, 128

# Component markers: (function name, [(component, first line of that component's code), ...]).
# A marker closes the previous range and opens the next; "-" only closes. Anchors are matched as the
# first line, at or after the previous anchor, that starts with the given text (after indentation).
ANCHORS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "v1": {
        "_mom_forward": [
            ("fwd.h_proj (h·[W_hr|W_hz|R1_h|Q_h])", "hp = torch.mm(h, W_h)"),
            ("fwd.router", "r1 = torch.relu("),
            ("fwd.memory_read", "q = x[:, 3 * H + R:]"),
            ("fwd.gru_update", "gc = torch.mm(c, W_c)"),
            ("fwd.memory_write", "kvg = torch.addmm(b_w, h, W_w)"),
            ("fwd.save_for_backward", "if save:"),
            ("-", "hs.append(h)"),
            ("fwd.stack_saved", "out = [torch.stack(hs, 1)"),
            ("-", "return out"),
        ],
        "_mom_backward": [
            ("bwd.memory_write", "hprev = h0 if t == 0"),
            ("bwd.gru_update", "z = Zs[t]"),
            ("bwd.memory_read", "att = ATTs[t]"),
            ("bwd.router", "g_l = w * (g_w"),
            ("bwd.h_proj", "gh = torch.addmm(gh, g_hp, W_hT)"),
            ("-", "# Weight gradients"),
            ("bwd.weight_grads_after_loop", "BT = B * T"),
            ("-", "return ["),
        ],
    },
    "current": {
        "_mom_fwd": [
            ("fwd.h_proj (h·[R1_h|Q_h|W_hr|W_hz])", "pre = torch.addmm(x[:, :P], h, W_h)"),
            ("fwd.router", "r1 = torch.relu("),
            ("fwd.memory_read", "memT = mem.transpose(1, 2)"),
            ("fwd.gru_update", "rz = torch.sigmoid("),
            ("fwd.memory_write", "kvg = torch.addmm(b_w, h, W_w)"),
            ("fwd.save_for_backward", "if save:"),
            ("-", "out = [hs, h.clone()"),
            ("fwd.stack_saved", "if save:"),
            ("-", "return out"),
        ],
        "_mom_bwd": [
            ("bwd.memory_recompute", "MB[0].copy_(ck[c])"),
            ("-", "for i in range(n - 1, -1, -1):"),
            ("bwd.memory_write", "mf = MB[i]"),
            ("bwd.gru_update", "# GRU: h_t"),
            ("bwd.memory_read", "# read: c ="),
            ("bwd.router", "# router"),
            ("bwd.h_proj", "gh = torch.addmm(gh, gx[:, :P], W_hT)"),
            ("-", "# Weight gradients"),
            ("bwd.weight_grads_after_loop", "TB = T * B"),
            ("-", "return ["),
        ],
        "_maru_step": [
            ("step.in_proj_conv", "xz = torch.addmm(b_f, x, W_f)"),
            ("step.x_proj_dt_proj", "dbc = torch.mm(xi, W_xp)"),
            ("step.scan", "s = torch.mul(delta.unsqueeze(1), A2)"),
            ("step.gate_out_proj", "z = xz[:, E:]"),
            ("step.h_proj", "pre = torch.addmm(X[:, :P], h, W_h)"),
            ("step.router", "logits = torch.addmm("),
            ("step.memory_read", "mf = mem.reshape(B, KS, Dm)"),
            ("step.gru_update", "rz = torch.sigmoid("),
            ("step.memory_write", "kvg = torch.addmm(b_w, h, W_w)"),
            ("-", "return [h, new_win"),
        ],
    },
}


def load_impl(name: str) -> Any:
    if name == "v1":
        return importlib.import_module("tests.maru_reference_v1")
    return importlib.import_module("arena.plugins.maru")


module_of: dict[int, Any] = {}


def function_source(mod: Any, name: str) -> str:
    """The source of top-level function ``name`` of ``mod``, without decorators."""
    src = inspect.getsource(mod)
    node = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = src.splitlines()
    return "\n".join(lines[node.lineno - 1:node.end_lineno])


def instrument(fn: Any, anchors: list[tuple[str, str]]) -> Any:
    """``fn`` (a scripted function) recompiled with profiler markers before the anchor lines."""
    lines = function_source(module_of[id(fn)], fn.name).splitlines()
    out: list[str] = []
    i = 0
    open_, open_indent = False, ""
    for comp, anchor in anchors:
        while not lines[i].strip().startswith(anchor):
            out.append(lines[i])
            i += 1
            if i >= len(lines):
                raise ValueError(f"anchor not found: {anchor!r}")
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        if open_:  # closed at the indentation it was opened at (the end of a loop body closes there)
            out.append(f"{open_indent}torch.ops.profiler._record_function_exit(_rf)")
        if comp != "-":
            out.append(f'{indent}_rf = torch.ops.profiler._record_function_enter_new("{comp}", None)')
        open_, open_indent = comp != "-", indent
    out.extend(lines[i:])
    cu = torch.jit.CompilationUnit("\n".join(out) + "\n")
    return getattr(cu, fn.name)


def median_times(fns: dict[str, Callable[[], None]], rounds: int, warmup: int = 2) -> dict[str, float]:
    for f in fns.values():
        for _ in range(warmup):
            f()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            fns[k]()
            samples[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in samples.items()}


# --- stages -------------------------------------------------------------------------------------
# Each stage: (name, fn(cell, mod, inputs) -> outputs). Inputs of a stage are the previous stage's
# outputs, detached and requiring grad where they are floating tensors.

def stages_v1(cell: Any, mod: Any, x: torch.Tensor) -> list[tuple[str, Callable[..., Any]]]:
    E, N = cell.d_inner, cell.d_state

    def mamba_in(x):
        st = cell.initial_state(B, x.device, x.dtype)
        e = cell.in_lin(x) if cell.in_lin is not None else x
        xs, z = cell.in_proj(e).chunk(2, -1)
        T = x.shape[1]
        xp = torch.cat([st[0], xs], 1)
        xi = F.silu(mod._causal_depthwise_conv(xp, cell.conv1d.weight.view(E, -1), cell.conv1d.bias, T))
        dt, Bm, C = cell.x_proj(xi).split([cell.dt_rank, N, N], -1)
        delta = F.softplus(cell.dt_proj(dt))
        return delta, xi, Bm, C, z

    def scan(delta, xi, Bm, C, z):
        At = -torch.exp(cell.A_log).t()
        s0 = torch.zeros(B, N, E)
        y, _ = mod.selective_scan(delta, xi, Bm, C, At, s0, False)
        return y, xi, z

    def mamba_out(y, xi, z):
        H_ = cell.hidden_size
        m = cell.out_proj(torch.addcmul(y, xi, cell.D) * F.silu(z))
        u = cell.to_hidden(m)
        r1, q = cell.router_net[0], cell.read_query
        W_x = torch.cat([cell.W_xr[:H_], cell.W_xz[:H_], cell.W_xh[:H_], r1.weight[:, :H_].t(), q.weight[:, :H_].t()], 1)
        b_x = torch.cat([cell.b_r, cell.b_z, cell.b_h, r1.bias, q.bias])
        return (torch.addmm(b_x, u.reshape(-1, H_), W_x).view(B, -1, W_x.shape[1]),)

    def mom(X):
        H_ = cell.hidden_size
        r1, q, r2 = cell.router_net[0], cell.read_query, cell.router_net[2]
        W_h = torch.cat([cell.W_hr, cell.W_hz, r1.weight[:, H_:].t(), q.weight[:, H_:].t()], 1)
        W_c = torch.cat([cell.W_xr[H_:], cell.W_xz[H_:], cell.W_xh[H_:]], 1)
        W_w = torch.cat([cell.write_key.weight, cell.write_value.weight, cell.write_gate.weight], 0).t()
        b_w = torch.cat([cell.write_key.bias, cell.write_value.bias, cell.write_gate.bias])
        st = cell.initial_state(B, X.device, X.dtype)
        noise, tau, use_noise, _ = cell._router_inputs(B, X.shape[1], X)
        hs, *_ = mod.mom_gru(X, st[2], st[3], W_h, r2.weight.t().contiguous(), r2.bias, W_c, cell.W_hh,
                             W_w.contiguous(), b_w, cell.lfb_bias.clone(), cell.load_ema.clone(), noise, tau,
                             use_noise, False, 1.0 / math.sqrt(cell.Dm))
        return (hs,)

    return [("mamba_input_block (in_lin, in_proj, conv, SiLU, x_proj, dt_proj, softplus)", mamba_in),
            ("selective_scan", scan),
            ("mamba_output_block (D skip, SiLU(z) gate, out_proj, to_hidden, hoisted x-projections)", mamba_out),
            ("mom_gru_loop (router, memory read, GRU update, memory write)", mom)]


def stages_current(cell: Any, mod: Any, x: torch.Tensor) -> list[tuple[str, Callable[..., Any]]]:
    E, T = cell.d_inner, x.shape[1]
    st = cell.initial_state(B, x.device, x.dtype)

    def in_proj(x):
        W_f, b_f = cell._fused_weights()[:2]
        return (torch.addmm(b_f, x.transpose(0, 1).reshape(T * B, -1), W_f).view(T, B, 2 * E),)

    def core(xz):
        g, _, _ = mod.mamba_core(xz, st[0], cell.conv1d.weight.view(E, -1), cell.conv1d.bias, cell.x_proj.weight,
                                 cell.dt_proj.weight, cell.dt_proj.bias, -torch.exp(cell.A_log).t(), cell.D, st[1])
        return (g,)

    def out_proj(g):
        W_u, b_u = cell._fused_weights()[2:4]
        m = torch.addmm(cell.out_proj.bias, g.reshape(T * B, E), cell.out_proj.weight.t())
        return (torch.addmm(b_u, m, W_u).view(T, B, -1),)

    def mom(X):
        _, _, _, _, W_h, W_r2, b_r2, W_c, W_w, b_w = cell._fused_weights()
        noise, tau, use_noise, _ = cell._router_inputs(B, T, X)
        hs, *_ = mod.mom_gru(X, st[2], st[3], W_h, W_r2, b_r2, W_c, cell.W_hh, W_w, b_w, cell.lfb_bias.clone(),
                             cell.load_ema.clone(), noise, tau, use_noise, False)
        return (hs,)

    return [("input projection (embed_proj∘in_proj fused)", in_proj),
            ("mamba core (conv, SiLU, x_proj, dt_proj, softplus, selective scan, D skip, SiLU(z) gate)", core),
            ("output projections (out_proj, to_hidden∘x-projections fused)", out_proj),
            ("mom_gru_loop (router, memory read, GRU update, memory write)", mom)]


def time_stages(cell: Any, mod: Any, impl: str, x: torch.Tensor, gru: torch.nn.Module, rounds: int) -> dict[str, Any]:
    stages = (stages_v1 if impl == "v1" else stages_current)(cell, mod, x)
    inputs: tuple[Any, ...] = (x,)
    fns: dict[str, Callable[[], None]] = {}
    for name, fn in stages:
        ins = tuple(t.detach().requires_grad_(t.is_floating_point()) if torch.is_tensor(t) else t for t in inputs)
        outs = fn(*ins)
        cot = [torch.randn_like(o) for o in outs]
        diff = [i for i in ins if torch.is_tensor(i) and i.requires_grad] + [p for p in cell.parameters()]

        def fwd(fn=fn, ins=ins) -> None:
            fn(*ins)

        def fwdbwd(fn=fn, ins=ins, cot=cot, diff=diff) -> None:
            outs = fn(*ins)
            torch.autograd.grad([o for o in outs], diff, cot, allow_unused=True)

        fns[f"{name}|fwd"] = fwd
        fns[f"{name}|fwd+bwd"] = fwdbwd
        inputs = tuple(o.detach() for o in outs)

    def whole() -> None:
        y, _ = cell(x)
        y.sum().backward()
        for p in cell.parameters():
            p.grad = None

    def gru_fb() -> None:
        y, _ = gru(x)
        y.sum().backward()
        for p in gru.parameters():
            p.grad = None

    fns["whole cell|fwd+bwd"] = whole
    fns["nn.GRU|fwd+bwd"] = gru_fb
    t = median_times(fns, rounds)
    g = t["nn.GRU|fwd+bwd"]
    out: dict[str, Any] = {"nn.GRU fwd+bwd ms": round(g * 1e3, 2),
                           "whole MARU fwd+bwd ms": round(t["whole cell|fwd+bwd"] * 1e3, 2),
                           "whole MARU fwd+bwd / nn.GRU": round(t["whole cell|fwd+bwd"] / g, 2),
                           "stages": []}
    for name, _ in stages:
        f, fb = t[f"{name}|fwd"], t[f"{name}|fwd+bwd"]
        out["stages"].append({"stage": name, "fwd_ms": round(f * 1e3, 2), "bwd_ms": round((fb - f) * 1e3, 2),
                              "fwd_per_gru_fwdbwd": round(f / g, 3), "bwd_per_gru_fwdbwd": round((fb - f) / g, 3)})
    return out


# --- components inside the loops ------------------------------------------------------------------

def binding_modules(mod: Any, name: str) -> list[Any]:
    """``mod`` and, when it is a package (arena.plugins.maru), every submodule that binds ``name`` to the
    same object: callers look the function up in their own module, so each binding must be patched."""
    obj, prefix = getattr(mod, name), mod.__name__ + "."
    return [mod] + [m for n, m in sorted(sys.modules.items()) if n.startswith(prefix) and getattr(m, name, None) is obj]


def defining_module(mods: list[Any], name: str) -> Any:
    """The module among ``mods`` whose source holds ``def name`` (the one ``function_source`` can read)."""
    return next(m for m in mods if any(isinstance(n, ast.FunctionDef) and n.name == name
                                       for n in ast.parse(inspect.getsource(m)).body))


def component_profile(cell: Any, mod: Any, impl: str, x: torch.Tensor, mode: str) -> dict[str, Any]:
    anchors = ANCHORS[impl]
    saved = {name: getattr(mod, name) for name in anchors}
    bound = {name: binding_modules(mod, name) for name in anchors}
    try:
        for name, marks in anchors.items():
            module_of[id(saved[name])] = defining_module(bound[name], name)
            fn = instrument(saved[name], marks)
            for m in bound[name]:
                setattr(m, name, fn)
        if mode == "fwd-bwd":
            def call() -> None:
                y, _ = cell(x)
                y.sum().backward()
        else:
            steps = x.unbind(1)

            def call() -> None:
                with torch.no_grad():
                    st = None
                    for xt in steps:
                        _, st = cell.step(xt, st)
        for _ in range(2):
            call()
        with profile() as prof:
            call()
    finally:
        for name, fn in saved.items():
            for m in bound[name]:
                setattr(m, name, fn)
    tot: dict[str, float] = {}
    for ev in prof.key_averages():
        if ev.key.startswith(("fwd.", "bwd.", "step.")) or ev.key in FUNCTIONS:
            tot[ev.key] = ev.cpu_time_total
    return tot


FUNCTIONS = ("_mom_forward", "_mom_backward", "_ssm_fwd", "_ssm_bwd", "_maru_step", "_scan_fwd", "_scan_bwd",
             "_mom_fwd", "_mom_bwd")


def step_profile(cell: Any, x: torch.Tensor, gru: torch.nn.Module, rounds: int) -> dict[str, Any]:
    steps = x.unbind(1)

    def run(c: Any) -> Callable[[], None]:
        def f() -> None:
            with torch.no_grad():
                st = None
                for xt in steps:
                    _, st = c.step(xt, st)
        return f

    t = median_times({"maru": run(cell), "gru": run(gru)}, rounds)
    with torch.no_grad():
        st = cell.step(steps[0], None)[1]
    # operators per step() call, from one profiled call with a carried state
    with profile() as prof, torch.no_grad():
        cell.step(steps[1], st)
    n_ops = sum(1 for e in prof.events() if e.name.startswith("aten::")
                and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")))
    return {"maru step ms per sequence": round(t["maru"] * 1e3, 2), "nn.GRU step ms per sequence": round(t["gru"] * 1e3, 2),
            "maru / nn.GRU": round(t["maru"] / t["gru"], 2), "maru us per step() call": round(t["maru"] / len(steps) * 1e6, 1),
            "nn.GRU us per step() call": round(t["gru"] / len(steps) * 1e6, 1),
            "aten operators per maru step() call (top level)": n_ops}


# --- operation counts per step and the floor they imply -----------------------------------------

LOOPS = ("_ssm_fwd", "_ssm_bwd", "_mom_forward", "_mom_backward", "_scan_fwd", "_scan_bwd", "_mom_fwd", "_mom_bwd")
VIEWS = {"aten::view", "aten::slice", "aten::select", "aten::unsqueeze", "aten::squeeze", "aten::transpose",
         "aten::t", "aten::as_strided", "aten::expand", "aten::reshape", "aten::detach", "aten::alias",
         "aten::unbind", "aten::split", "aten::chunk", "aten::narrow", "aten::permute", "aten::_unsafe_view",
         "aten::contiguous", "aten::empty", "aten::lift_fresh", "aten::numel", "aten::size", "aten::dim"}


def op_counts(cell: Any, x: torch.Tensor) -> dict[str, dict[str, float]]:
    """Top-level operators per time step inside each recurrent loop of one forward+backward,
    by kind: ``state`` (an input of ≥ half the SSM state's or the memory's size: one pass over
    a (B, N, E) or (B, K, S, Dm) tensor), ``exp``/``exp2`` (over state-sized tensors), ``small``
    (everything else that computes), ``view`` (metadata only: slicing, views, empty)."""
    T = x.shape[1]
    big = B * cell.d_state * cell.d_inner // 2

    def call() -> None:
        y, _ = cell(x)
        y.sum().backward()

    call()
    with profile(record_shapes=True) as prof:
        call()
    counts: dict[str, dict[str, float]] = {}
    for ev in prof.events():
        if not ev.name.startswith("aten::") or ev.cpu_parent is None or ev.cpu_parent.name not in LOOPS:
            continue
        sizes = [math.prod(s) for s in ev.input_shapes if isinstance(s, (list, tuple)) and s]
        if ev.name in VIEWS:
            kind = "view"
        elif max(sizes, default=0) >= big:
            kind = ("exp2" if ev.name.startswith("aten::exp2") else "exp" if ev.name.startswith("aten::exp")
                    else "state")
        else:
            kind = "small"
        c = counts.setdefault(ev.cpu_parent.name, {"state": 0.0, "exp": 0.0, "exp2": 0.0, "small": 0.0, "view": 0.0})
        c[kind] += 1.0 / T
    return {k: {kk: round(vv, 2) for kk, vv in v.items()} for k, v in sorted(counts.items())}


@torch.jit.script
def _loop_op(a: Tensor, b: Tensor, out: Tensor, n: int) -> Tensor:
    for _ in range(n):
        torch.mul(a, b, out=out)
    return out


@torch.jit.script
def _loop_op_rotating(ts: list[Tensor], n: int) -> Tensor:
    k = len(ts)
    for i in range(n):
        torch.mul(ts[i % k], ts[(i + 1) % k], out=ts[(i + 2) % k])
    return ts[0]


@torch.jit.script
def _loop_exp2(a: Tensor, out: Tensor, n: int) -> Tensor:
    for _ in range(n):
        torch.exp2(a, out=out)
    return out


@torch.jit.script
def _loop_exp(a: Tensor, out: Tensor, n: int) -> Tensor:
    for _ in range(n):
        torch.exp(a, out=out)
    return out


@torch.jit.script
def _loop_view(a: Tensor, n: int) -> Tensor:
    b = a
    for _ in range(n):
        b = a[:, 1:]
    return b


def primitive_costs(cell: Any) -> dict[str, float]:
    """Microseconds per operator inside a TorchScript loop, and GEMM throughput, measured now."""
    N, E, H = cell.d_state, cell.d_inner, cell.hidden_size
    st = torch.rand(B, N, E)
    sm = torch.rand(B, H)
    n = 400

    def per_op(f: Callable[[], Any]) -> float:
        f()
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            f()
            ts.append((time.perf_counter() - t0) / n * 1e6)
        return round(statistics.median(ts), 2)

    def gflops(m: int, k: int, nn: int, reps: int) -> float:
        a, b, o = torch.randn(m, k), torch.randn(k, nn), torch.empty(m, nn)
        torch.mm(a, b, out=o)
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b, out=o)
            ts.append((time.perf_counter() - t0) / reps)
        return round(2 * m * k * nn / statistics.median(ts) / 1e9, 1)

    rot = [torch.rand(B, N, E) for _ in range(8)]  # 8 state-sized tensors: 4 MiB, more than L2
    return {"state_pass_us": per_op(lambda: _loop_op(st, st, torch.empty_like(st), n)),
            "state_pass_us_4MiB_working_set": per_op(lambda: _loop_op_rotating(rot, n)),
            "exp_state_us": per_op(lambda: _loop_exp(st, torch.empty_like(st), n)),
            "exp2_state_us": per_op(lambda: _loop_exp2(st, torch.empty_like(st), n)),
            "small_op_us": per_op(lambda: _loop_op(sm, sm, torch.empty_like(sm), n)),
            "view_op_us": per_op(lambda: _loop_view(sm, n)),
            "gemm_big_gflops": gflops(8192, 128, 448, 10),
            "gemm_step_gflops": gflops(B, 128, 320, 400)}


def rec_macs(cell: Any) -> int:
    """Per-token multiply-adds of the MoM-GRU's recurrent products (h·W_h, c·W_c, (r⊙h)·W_hh, R2, h·W_w)."""
    H_, R, K, Dm = cell.hidden_size, cell.R, cell.K, cell.Dm
    return H_ * (R + Dm + 2 * H_) + Dm * 3 * H_ + H_ * H_ + R * K + H_ * (2 * Dm + 1)


def macs_per_token(cell: Any, impl: str) -> dict[str, int]:
    """Multiply-adds per token of the matrix products (memory bmms are counted as state passes).

    ``hoisted``: products over all B·T rows at once (input side, and weight gradients after the
    loops); ``recurrent``: products inside the time loop (B rows per step). MARU as this
    implementation computes it (embed_proj∘in_proj fused to I→2E when I ≠ M, to_hidden∘x-parts
    fused to M→R+Dm+3H); nn.GRU: input projection I→3H hoisted, recurrent H→3H per step, its
    weight gradients counted as hoisted, no input gradient (x does not require grad in the bench).
    """
    I_, H_, M, E = cell.input_size, cell.hidden_size, cell.d_model, cell.d_inner
    N, Rdt, R, Dm = cell.d_state, cell.dt_rank, cell.R, cell.Dm
    Fx = R + Dm + 3 * H_
    if impl == "v1":  # embed_proj, in_proj, out_proj, to_hidden and the x-projections one by one
        first = (I_ * M if cell.in_lin is not None else 0) + M * 2 * E
        mamba = E * (Rdt + 2 * N) + Rdt * E + E * M + M * H_ + H_ * Fx
        # in_proj's input gradient is needed when embed_proj is there
        return {"maru_hoisted_fwd": first + mamba, "maru_recurrent_fwd": rec_macs(cell),
                "maru_hoisted_bwd": first + (M * 2 * E if cell.in_lin is not None else 0) + 2 * mamba + rec_macs(cell),
                "maru_recurrent_bwd": rec_macs(cell),
                "gru_hoisted_fwd": I_ * 3 * H_, "gru_recurrent_fwd": H_ * 3 * H_,
                "gru_hoisted_bwd": (I_ + H_) * 3 * H_, "gru_recurrent_bwd": H_ * 3 * H_}
    first = I_ * 2 * E if cell.in_lin is not None else M * 2 * E
    mamba = E * (Rdt + 2 * N) + Rdt * E + E * M + M * Fx
    rec = rec_macs(cell)
    return {"maru_hoisted_fwd": first + mamba, "maru_recurrent_fwd": rec,
            "maru_hoisted_bwd": first + 2 * mamba + rec, "maru_recurrent_bwd": rec,
            "gru_hoisted_fwd": I_ * 3 * H_, "gru_recurrent_fwd": H_ * 3 * H_,
            "gru_hoisted_bwd": (I_ + H_) * 3 * H_, "gru_recurrent_bwd": H_ * 3 * H_}


def floor_estimate(cell: Any, x: torch.Tensor, counts: dict[str, dict[str, float]], costs: dict[str, float],
                   macs: dict[str, int], gru_ms: float, maru_ms: float) -> dict[str, Any]:
    """What this design costs if every operator ran at its measured standalone speed: the GEMM
    MACs at the measured throughputs plus, per step, the counted operators at their measured
    cost. Everything outside the loops except GEMMs (conv, SiLU, softplus, gating: a few passes
    over (T, B, E) tensors) and allocator effects are left out, so this is a lower bound."""
    T = x.shape[1]
    BT = B * T
    mm_ms = (2 * BT * (macs["maru_hoisted_fwd"] + macs["maru_hoisted_bwd"]) / costs["gemm_big_gflops"]
             + 2 * BT * (macs["maru_recurrent_fwd"] + macs["maru_recurrent_bwd"]) / costs["gemm_step_gflops"]) / 1e6
    loop_ms = {}
    for fn, c in counts.items():
        loop_ms[fn] = round(T * (c["state"] * costs["state_pass_us"] + c["exp"] * costs["exp_state_us"]
                                 + c["exp2"] * costs["exp2_state_us"]
                                 + c["small"] * costs["small_op_us"] + c["view"] * costs["view_op_us"]) / 1e3, 1)
    total = mm_ms + sum(loop_ms.values())
    # the same with state-sized operators at their cost when the working set exceeds L2, as in the loops
    slow = costs["state_pass_us_4MiB_working_set"] / costs["state_pass_us"]
    total_l3 = mm_ms + sum(T * (c["state"] * costs["state_pass_us_4MiB_working_set"]
                                + (c["exp"] * costs["exp_state_us"] + c["exp2"] * costs["exp2_state_us"]) * slow
                                + c["small"] * costs["small_op_us"] + c["view"] * costs["view_op_us"]) / 1e3
                           for c in counts.values())
    return {"gemm_ms": round(mm_ms, 1), "gemm / nn.GRU fwd+bwd": round(mm_ms / gru_ms, 2),
            "loop_operators_ms": loop_ms, "floor_ms": round(total, 1),
            "floor / nn.GRU fwd+bwd": round(total / gru_ms, 2),
            "floor_with_state_operators_beyond_L2 / nn.GRU fwd+bwd": round(total_l3 / gru_ms, 2),
            "measured / nn.GRU fwd+bwd": round(maru_ms / gru_ms, 2),
            "maru MACs per token / nn.GRU's": round(
                (sum(v for k, v in macs.items() if k.startswith("maru"))
                 / sum(v for k, v in macs.items() if k.startswith("gru"))), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--impl", choices=("v1", "current"), default="current")
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    mod = load_impl(a.impl)
    from arena.plugins.baselines import GRU

    torch.manual_seed(0)
    x = torch.randn(B, a.seq_len, I)
    cell = mod.MARU(I, H).train()
    gru = GRU(I, H).train()
    result: dict[str, Any] = {
        "command": "python benchmarks/maru_profile.py " + " ".join(sys.argv[1:]),
        "impl": a.impl, "cell_impl_string": cell.impl, "batch": B, "input": I, "hidden": H, "seq_len": a.seq_len,
        "threads": a.threads, "torch": torch.__version__, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_1_5_15min_at_start": [round(v, 2) for v in os.getloadavg()],
        "note": "on a shared machine absolute times drift with other jobs' load; compare ratios and shares",
    }
    result["fwd_bwd_stages"] = time_stages(cell, mod, a.impl, x, gru, a.rounds)
    if a.impl in ANCHORS:
        comp = component_profile(cell, mod, a.impl, x, "fwd-bwd")
        result["loop_components_fwd_bwd_profiler_us"] = {k: round(v) for k, v in sorted(comp.items())}
        for fn, prefix in (("_mom_forward", "fwd."), ("_mom_backward", "bwd."), ("_mom_fwd", "fwd."),
                           ("_mom_bwd", "bwd.")):
            if fn in comp:
                result[f"{fn} component shares"] = {k: round(v / comp[fn], 3) for k, v in sorted(comp.items())
                                                    if k.startswith(prefix)}
    counts = op_counts(cell, x)
    costs = primitive_costs(cell)
    macs = macs_per_token(cell, a.impl)
    st = result["fwd_bwd_stages"]
    result["loop_operators_per_step"] = counts
    result["primitive_costs_measured"] = costs
    result["macs_per_token"] = macs
    result["floor_estimate_fwd_bwd"] = floor_estimate(cell, x, counts, costs, macs, st["nn.GRU fwd+bwd ms"],
                                                      st["whole MARU fwd+bwd ms"])
    cell.eval()
    gru.eval()
    result["step"] = step_profile(cell, x, gru, a.rounds)
    if a.impl in ANCHORS:
        comp = component_profile(cell, mod, a.impl, x, "step")
        result["step_components_profiler_us"] = {k: round(v) for k, v in sorted(comp.items())}
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
