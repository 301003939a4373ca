"""Beyond the plain softmax, section 4.5.6: eqs. (4.5.29), (4.5.30), and the
memory cost of the softmax over a large vocabulary.

The adaptive weights of eqs. (4.5.27)-(4.5.28) live in ``llmloss.multitask``
(``inverse_norm_weights``).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from llmloss.lm import IGNORE_INDEX, check_reduction


def _check_logits(z: torch.Tensor, dim: int, name: str = "z") -> int:
    """Validate a floating tensor of scores; return the size of ``dim``."""
    if not isinstance(z, torch.Tensor) or not z.is_floating_point():
        raise ValueError(f"{name} must be a floating tensor, got {type(z).__name__}")
    if z.dim() == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    if not -z.dim() <= dim < z.dim():
        raise ValueError(f"dim must lie in [{-z.dim()}, {z.dim()}) for {name} of shape {tuple(z.shape)}, got {dim}")
    size = z.shape[dim]
    if size == 0:
        raise ValueError(f"{name} must have at least one entry along dim {dim}, got shape {tuple(z.shape)}")
    return size


def topk_mask(z: torch.Tensor, k: int, dim: int = -1) -> torch.Tensor:
    """The set top-k of eq. (4.5.29) as a boolean mask of the shape of ``z``.

    Exactly ``k`` entries along ``dim`` are True. Ties at the k-th value are
    broken towards the lower index (a stable descending sort), so the set is
    always well defined.
    """
    size = _check_logits(z, dim)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= size:
        raise ValueError(f"k must be an integer in [1, {size}], got {k!r}")
    order = torch.sort(z.detach(), dim=dim, descending=True, stable=True).indices
    mask = torch.zeros(z.shape, dtype=torch.bool, device=z.device)
    return mask.scatter(dim, order.narrow(dim, 0, k), True)


def topk_softmax(z: torch.Tensor, k: int, dim: int = -1) -> torch.Tensor:
    """Sparse (top-k) softmax, eq. (4.5.29).

    z: ``(..., V, ...)`` logits, normalised along ``dim``; k in ``[1, V]``.
    p_i = exp(z_i) / sum_{j in top-k} exp(z_j) for i in top-k, exactly 0
    elsewhere (ties broken as in ``topk_mask``). ``k = V`` gives the softmax.
    Same shape, dtype and device as ``z``.
    """
    mask = topk_mask(z, k, dim)
    return torch.softmax(z.masked_fill(~mask, float("-inf")), dim=dim)


def gated_softmax(z: torch.Tensor, g: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Gated softmax as the text defines it, eq. (4.5.30): Softmax(g * z).

    z: logits; g: the gate, of z's shape or broadcastable to it without
    changing it (e.g. ``(V,)`` for z of shape ``(..., V)``). Note that this
    is a per-logit inverse temperature 1/g_i, not a gate: g_i = 0 sets z_i to
    0, which *raises* p_i when z_i < 0. See ``gate_weighted_softmax``.
    """
    _check_logits(z, dim)
    g = _check_gate(g, z)
    return torch.softmax(g * z, dim=dim)


def gate_weighted_softmax(z: torch.Tensor, gate: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """A real gate on the softmax: p_i = gate_i exp(z_i) / sum_j gate_j exp(z_j).

    Equals Softmax(z + log gate); gate_i = 0 gives p_i = 0 exactly and
    gate = 1 gives the softmax. gate: non-negative, broadcastable to z's shape
    without changing it, and not all zero along ``dim`` anywhere.
    """
    _check_logits(z, dim)
    gate = _check_gate(gate, z, name="gate")
    if (gate < 0).any():
        raise ValueError("gate must be non-negative")
    full = gate.expand_as(z)
    if (full == 0).all(dim=dim).any():
        raise ValueError(f"gate must have a positive entry along dim {dim} in every slice")
    # gate * exp(z - m), m = the largest logit whose gate is open: the value of
    # softmax(z + log gate), but with the exact (finite) gradient for a gate at 0. Closed
    # entries may have z - m > 0; capping the exponent at half the dtype's range keeps
    # 0 * exp(...) from becoming 0 * inf = NaN without changing any representable gradient.
    top = torch.where(full > 0, z, float("-inf")).amax(dim=dim, keepdim=True).detach()
    cap = math.log(torch.finfo(z.dtype).max) / 2
    weights = full * torch.exp(torch.clamp(z - top, max=cap))
    return weights / weights.sum(dim=dim, keepdim=True)


def _check_gate(g: torch.Tensor, z: torch.Tensor, name: str = "g") -> torch.Tensor:
    if not isinstance(g, torch.Tensor):
        g = torch.as_tensor(g, dtype=z.dtype, device=z.device)
    if not g.is_floating_point():
        raise ValueError(f"{name} must be a floating tensor, got {g.dtype}")
    try:
        shape = torch.broadcast_shapes(g.shape, z.shape)
    except RuntimeError:
        shape = None
    if shape != z.shape:
        raise ValueError(f"{name} of shape {tuple(g.shape)} does not broadcast to z's shape {tuple(z.shape)}")
    if g.device != z.device:
        raise ValueError(f"{name} is on {g.device} but z is on {z.device}")
    return g.to(z.dtype)


def sparsemax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Sparsemax (Martins and Astudillo, 2016), for comparison with eq. (4.5.29).

    The Euclidean projection of z onto the probability simplex:
    p_i = max(z_i - tau, 0) with tau chosen so that sum_i p_i = 1. Unlike
    top-k, the size of the support adapts to the logits. Shape, dtype and
    device of ``z``; differentiable almost everywhere through autograd.
    """
    size = _check_logits(z, dim)
    z = z - z.amax(dim=dim, keepdim=True).detach()  # sparsemax is shift-invariant
    z_sorted = torch.sort(z, dim=dim, descending=True).values
    shape = [1] * z.dim()
    shape[dim] = size
    ranks = torch.arange(1, size + 1, dtype=z.dtype, device=z.device).view(shape)
    cumsum = z_sorted.cumsum(dim)
    support = 1 + ranks * z_sorted > cumsum  # True for the first k(z) sorted entries
    k_z = support.sum(dim=dim, keepdim=True)
    tau = (cumsum.gather(dim, k_z - 1) - 1) / k_z.to(z.dtype)
    return torch.clamp(z - tau, min=0)


def _check_linear_ce(hidden, weight, targets, chunk_size, reduction):
    if not isinstance(hidden, torch.Tensor) or not hidden.is_floating_point() or hidden.dim() < 1:
        raise ValueError("hidden must be a floating tensor of shape (..., D)")
    if not isinstance(weight, torch.Tensor) or not weight.is_floating_point() or weight.dim() != 2:
        raise ValueError("weight must be a floating tensor of shape (V, D)")
    if weight.shape[1] != hidden.shape[-1]:
        raise ValueError(
            f"hidden (..., D) and weight (V, D) disagree on D: {tuple(hidden.shape)}, {tuple(weight.shape)}"
        )
    if weight.shape[0] == 0:
        raise ValueError("weight must have at least one row (V >= 1)")
    if weight.dtype != hidden.dtype or weight.device != hidden.device:
        raise ValueError(
            f"weight ({weight.dtype}, {weight.device}) must match hidden ({hidden.dtype}, {hidden.device})"
        )
    if not isinstance(targets, torch.Tensor) or targets.is_floating_point() or targets.is_complex():
        raise ValueError("targets must be an integer tensor of token ids")
    if targets.dtype == torch.bool:
        raise ValueError("targets must be an integer tensor of token ids, got bool")
    if targets.device != hidden.device:
        raise ValueError(f"targets are on {targets.device} but hidden is on {hidden.device}")
    if targets.shape != hidden.shape[:-1]:
        raise ValueError(
            f"targets {tuple(targets.shape)} must have the shape of hidden without D, {tuple(hidden.shape)}"
        )
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    check_reduction(reduction)


class _ChunkedLinearCE(torch.autograd.Function):
    """Per-token loss of cross_entropy(hidden @ weight.T, targets), chunk by chunk.

    Forward keeps only the (N,) log-sum-exp; backward recomputes each chunk's
    logits, so no (N, V) tensor ever exists, only (chunk_size, V) blocks.
    """

    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk_size, ignore_index):
        n = hidden.shape[0]
        losses = hidden.new_zeros(n)
        lse = hidden.new_zeros(n)
        valid = targets != ignore_index
        safe = torch.where(valid, targets, 0)
        for start in range(0, n, chunk_size):
            sl = slice(start, start + chunk_size)
            logits = hidden[sl] @ weight.T
            target_logit = logits.gather(1, safe[sl, None]).squeeze(1)
            # log-sum-exp in place: one (chunk, V) block, no temporary of the same size.
            top = logits.amax(dim=1)
            lse[sl] = top + logits.sub_(top[:, None]).exp_().sum(dim=1).log()
            losses[sl] = torch.where(valid[sl], lse[sl] - target_logit, 0)
            del logits
        ctx.save_for_backward(hidden, weight, safe, valid, lse)
        ctx.chunk_size = chunk_size
        return losses

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_losses):
        hidden, weight, safe, valid, lse = ctx.saved_tensors
        need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_h = torch.zeros_like(hidden) if need_h else None
        grad_w = torch.zeros_like(weight) if need_w else None
        scale = torch.where(valid, grad_losses, 0)
        for start in range(0, hidden.shape[0], ctx.chunk_size):
            sl = slice(start, start + ctx.chunk_size)
            # d loss_t / d z_t = softmax(z_t) - onehot(y_t), times the incoming gradient.
            grad_logits = (hidden[sl] @ weight.T).sub_(lse[sl, None]).exp_()
            grad_logits.scatter_add_(1, safe[sl, None], -torch.ones_like(lse[sl, None]))
            grad_logits.mul_(scale[sl, None])
            if need_h:
                grad_h[sl] = grad_logits @ weight
            if need_w:
                grad_w.addmm_(grad_logits.T, hidden[sl])
            del grad_logits
        return grad_h, grad_w, None, None, None


def chunked_linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    targets: torch.Tensor,
    chunk_size: int = 1024,
    ignore_index: int = IGNORE_INDEX,
    reduction: str = "mean",
) -> torch.Tensor:
    """Softmax cross-entropy of a linear head without the full logits (eq. (4.5.3) at scale).

    hidden: ``(..., D)``; weight: ``(V, D)``; targets: ``(...)`` ids in
    ``[0, V)`` or ``ignore_index``. Equal in value and in the gradients for
    ``hidden`` and ``weight`` to
    ``F.cross_entropy(hidden @ weight.T, targets, ignore_index=..., reduction=...)``,
    but it holds at most ``(chunk_size, V)`` logits at a time (the forward
    pass over token chunks, a backward pass that recomputes each chunk's
    logits). reduction "mean" averages over non-ignored tokens and gives 0
    (not NaN) when there are none; "none" returns ``(...)``, 0 at ignored tokens.
    First derivatives only: the backward pass is not itself differentiable.
    """
    _check_linear_ce(hidden, weight, targets, chunk_size, reduction)
    vocab = weight.shape[0]
    flat_targets = targets.reshape(-1).long()
    counted = flat_targets != ignore_index
    if counted.any():
        bad = flat_targets[counted]
        if bad.min() < 0 or bad.max() >= vocab:
            raise ValueError(f"targets must lie in [0, {vocab}) or equal ignore_index={ignore_index}")
    flat_hidden = hidden.reshape(-1, hidden.shape[-1])
    losses = _ChunkedLinearCE.apply(flat_hidden, weight, flat_targets, chunk_size, ignore_index)
    if reduction == "none":
        return losses.reshape(targets.shape)
    total = losses.sum()
    if reduction == "sum":
        return total
    return total / counted.sum().clamp(min=1).to(total.dtype)


def plain_linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    targets: torch.Tensor,
    ignore_index: int = IGNORE_INDEX,
    reduction: str = "mean",
) -> torch.Tensor:
    """The reference for ``chunked_linear_cross_entropy``: the full ``(..., V)``
    logits ``hidden @ weight.T``, then ``F.cross_entropy`` (eq. (4.5.3))."""
    _check_linear_ce(hidden, weight, targets, 1, reduction)
    logits = hidden @ weight.T
    return F.cross_entropy(
        logits.reshape(-1, weight.shape[0]), targets.reshape(-1).long(), ignore_index=ignore_index, reduction=reduction
    ).reshape(targets.shape if reduction == "none" else ())


def logits_bytes(tokens: int, vocab: int, dtype: torch.dtype = torch.float32) -> int:
    """Bytes of one ``(tokens, vocab)`` logits tensor: tokens * vocab * element size."""
    if tokens < 0 or vocab < 0:
        raise ValueError(f"tokens and vocab must be >= 0, got tokens={tokens}, vocab={vocab}")
    return tokens * vocab * torch.empty((), dtype=dtype).element_size()


# Size of the probe allocation that measure_peak_memory makes inside the profiled region to
# check that allocation records are really being collected (an odd size, unlikely to collide).
_PROBE_BYTES = 1_048_583


def measure_peak_memory(fn: Callable[[], object], device: torch.device | str = "cpu") -> int:
    """Peak bytes allocated by PyTorch while ``fn()`` runs, above what was
    allocated before it (the memory side of the cost of eq. (4.5.3) at scale).

    On CUDA: ``torch.cuda.max_memory_allocated`` after one warm-up call of
    ``fn`` (so that one-time allocations such as cuBLAS workspaces are not
    counted). On the CPU PyTorch has no public peak-memory counter, so the
    peak is replayed from the allocation records of ``torch.profiler``
    (``profile_memory=True``), read through the profiler's undocumented
    ``kineto_results``. To fail loudly rather than report nonsense, a probe
    allocation of known size is made inside the profiled region; if this
    PyTorch no longer exposes the records, or they do not show the probe,
    ``RuntimeError`` is raised instead of a number. Allocations outside the
    PyTorch allocator (a library's own ``malloc``) are not seen on either device.
    """
    device = torch.device(device)
    if device.type == "cuda":
        fn()
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    if device.type != "cpu":
        raise ValueError(f"device must be cpu or cuda, got {device}")
    if not torch.autograd.kineto_available():
        raise RuntimeError(
            "measure_peak_memory: this PyTorch build has no Kineto profiler, CPU peak memory cannot be measured"
        )
    activities = [torch.profiler.ProfilerActivity.CPU]
    with _quiet_stderr(), torch.profiler.profile(activities=activities, profile_memory=True) as prof:
        probe = torch.empty(_PROBE_BYTES, dtype=torch.uint8)
        del probe
        fn()
    sizes = [nbytes for _, nbytes in _cpu_memory_records(prof)]
    # The probe's allocation and its release must appear as two consecutive records;
    # fn's allocations are the records after them.
    after_probe = next(
        (i + 2 for i in range(len(sizes) - 1) if sizes[i : i + 2] == [_PROBE_BYTES, -_PROBE_BYTES]), None
    )
    if after_probe is None:
        raise RuntimeError(
            "measure_peak_memory: the profiler did not record the probe allocation of "
            f"{_PROBE_BYTES} bytes, so its CPU allocation records cannot be trusted "
            "(is another profiler running, or has torch.profiler changed?)"
        )
    current = peak = 0
    for nbytes in sizes[after_probe:]:
        current += nbytes
        peak = max(peak, current)
    return peak


def _cpu_memory_records(prof) -> list[tuple[int, int]]:
    """(time in ns, +/- bytes) of every CPU allocation and release in time order.

    Relies on ``prof.profiler.kineto_results.events()`` and the ``[memory]``
    events' ``start_ns``, ``nbytes`` and ``device_type`` methods, which are not
    a documented API: any change shows as ``RuntimeError``, never as a number.
    """
    try:
        events = prof.profiler.kineto_results.events()
        records = [
            (e.start_ns(), i, e.nbytes())
            for i, e in enumerate(events)
            if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU
        ]
    except (AttributeError, TypeError) as err:
        raise RuntimeError(
            f"measure_peak_memory: this PyTorch's profiler no longer exposes allocation records ({err})"
        ) from err
    return [(t, nbytes) for t, _, nbytes in sorted(records)]


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (the profiler's C++ start/stop log lines)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def measure_time(fn: Callable[[], object], device: torch.device | str = "cpu", repeats: int = 3) -> float:
    """The fastest wall-clock time of ``repeats`` calls of ``fn()`` in seconds
    (after one warm-up call), synchronising CUDA around each call."""
    device = torch.device(device)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda *_: None)
    fn()
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best
