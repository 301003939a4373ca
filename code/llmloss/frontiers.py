"""Beyond the plain softmax, section 4.5.6, equations (4.5.29), (4.5.30), sparsemax
and its loss, a top-k mixture-of-experts router, and the memory cost of the
softmax over a large vocabulary.

The adaptive weights of eqs. (4.5.27)-(4.5.28) live in ``llmloss.multitask``
(``inverse_norm_weights``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmloss.lm import IGNORE_INDEX, accumulation_dtype, apply_reduction, as_token_ids, check_reduction


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
    is a per-logit temperature 1/g_i, not a gate: g_i = 0 sets z_i to
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
    Entries of -inf (masked logits) get probability 0; NaN, +inf, or a slice
    with no finite entry raise ``ValueError`` (the projection is undefined).
    """
    size = _check_logits(z, dim)
    if bool((torch.isnan(z) | torch.isposinf(z)).any()):
        raise ValueError("z must not hold NaN or +inf (sparsemax is undefined there); -inf masks an entry")
    if z.numel() and bool(torch.isneginf(z).all(dim=dim).any()):
        raise ValueError(f"z needs a finite entry along dim {dim} in every slice, got a slice of only -inf")
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


def sparsemax_loss(z: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Sparsemax loss (Martins and Astudillo, 2016), for comparison with eq. (4.5.29).

    z: ``(..., V)`` logits; target: ``(...)`` integer class ids in ``[0, V)``.
    Per item, with p = sparsemax(z), support S = {j : p_j > 0} and threshold
    tau = (sum_{j in S} z_j - 1) / abs(S):

        L(z, y) = -z_y + 1/2 sum_{j in S} (z_j^2 - tau^2) + 1/2,

    which is >= 0, is 0 exactly when p = onehot(y), stays finite when y lies
    outside S (where -log p_y would be +inf), and has the gradient
    p - onehot(y) with respect to z. It is shift-invariant, so it is computed
    on z - max(z). reduction: "mean" | "sum" | "none" (``(...)``); half
    precision is computed and returned in float32.
    """
    size = _check_logits(z, -1)
    ids = as_token_ids("target", target)
    if ids.shape != z.shape[:-1]:
        raise ValueError(f"target must have shape {tuple(z.shape[:-1])} (z without V), got {tuple(ids.shape)}")
    if ids.device != z.device:
        raise ValueError(f"target is on {ids.device} but z is on {z.device}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"target must lie in [0, {size}), got values in [{int(ids.min())}, {int(ids.max())}]")
    check_reduction(reduction)
    z = z.to(accumulation_dtype(z.dtype))
    shifted = z - z.amax(dim=-1, keepdim=True).detach()
    support = sparsemax(shifted).detach() > 0
    on_support = torch.where(support, shifted, 0)  # also keeps masked -inf logits out of the sums
    size = support.sum(-1, keepdim=True).to(z.dtype)
    tau = (on_support.sum(-1, keepdim=True) - 1) / size
    z_target = shifted.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
    losses = 0.5 * (on_support**2).sum(-1) - 0.5 * size.squeeze(-1) * tau.squeeze(-1) ** 2 - z_target + 0.5
    return apply_reduction(losses, reduction)


def moe_gates(router_logits: torch.Tensor, k: int, renormalize: bool = True) -> torch.Tensor:
    """Gate weights of a top-k mixture-of-experts router, eq. (4.5.29) on router logits.

    router_logits: ``(..., E)``, one score per expert; k in ``[1, E]``.
    renormalize=True: the top-k softmax (4.5.29) (Shazeer et al., 2017;
    Mixtral), the k weights sum to 1. renormalize=False: the softmax over all
    E experts, kept on the top k and not renormalised (Switch Transformer,
    Fedus et al., 2022), which is what lets a top-1 router learn: renormalised,
    a single selected weight is the constant 1. Exactly 0 outside the top k,
    with zero gradient there. Same shape, dtype and device as the logits.
    """
    if not isinstance(renormalize, bool):
        raise ValueError(f"renormalize must be True or False, got {renormalize!r}")
    if renormalize:
        return topk_softmax(router_logits, k)
    mask = topk_mask(router_logits, k)
    return torch.softmax(router_logits, dim=-1) * mask


def linear_moe(
    x: torch.Tensor,
    gate_weight: torch.Tensor,
    expert_weights: torch.Tensor,
    k: int,
    renormalize: bool = True,
    router_noise: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A mixture of E linear experts with a linear top-k router, eq. (4.5.29) as the gate.

    x: ``(N, D)``; gate_weight: ``(E, D)`` (router logits ``x @ gate_weight.T``);
    expert_weights: ``(E, D_out, D)``, expert e maps x to ``expert_weights[e] @ x``;
    router_noise: optional ``(N, E)`` added to the router logits before the
    top-k (noisy top-k gating, Shazeer et al., 2017). Returns ``(output, gates)``:
    ``output[n] = sum_e gates[n, e] * expert_weights[e] @ x[n]``, ``(N, D_out)``,
    and the ``(N, E)`` gates of ``moe_gates``. For clarity every expert is
    evaluated on every token and multiplied by its gate; a real layer sends each
    token only to its k experts, with the same values and gradients.
    """
    for name, t, dims in (("x", x, 2), ("gate_weight", gate_weight, 2), ("expert_weights", expert_weights, 3)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() != dims:
            raise ValueError(f"{name} must be a floating tensor with {dims} dimensions")
    n, d = x.shape
    if gate_weight.shape[1] != d or expert_weights.shape[0] != gate_weight.shape[0] or expert_weights.shape[2] != d:
        raise ValueError(
            "shapes must be x (N, D), gate_weight (E, D), expert_weights (E, D_out, D); got "
            f"{tuple(x.shape)}, {tuple(gate_weight.shape)}, {tuple(expert_weights.shape)}"
        )
    router_logits = x @ gate_weight.T
    if router_noise is not None:
        if not isinstance(router_noise, torch.Tensor) or router_noise.shape != router_logits.shape:
            raise ValueError(f"router_noise must be a tensor of shape {tuple(router_logits.shape)}")
        router_logits = router_logits + router_noise
    gates = moe_gates(router_logits, k, renormalize)
    expert_outputs = torch.einsum("eod,nd->neo", expert_weights, x)  # (N, E, D_out)
    return (gates.unsqueeze(-1) * expert_outputs).sum(dim=1), gates


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


LINEAR_CE_MODES = ("auto", "fused", "recompute")


def _matmul_in(acc: torch.dtype, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` with products summed and returned in ``acc``, not rounded to a half type.

    On CUDA (torch >= 2.8) half-precision operands keep their fast kernels and
    write float32 (``out_dtype``); elsewhere the operands are upcast first.
    """
    if a.dtype == acc:
        return a @ b
    if a.device.type == "cuda":
        try:
            return torch.mm(a, b, out_dtype=acc)
        except (TypeError, RuntimeError):  # an older torch: no out_dtype
            pass
    return a.to(acc) @ b.to(acc)


def _chunk_softmax_grad(hidden_chunk, weight, targets_chunk, valid_chunk, acc, scale=1.0):
    """One chunk of the softmax cross-entropy of a linear head.

    Returns (per-token losses, d loss / d logits) of the chunk, both in the
    accumulation dtype ``acc``: the logits are summed in float32 before the
    log-sum-exp, so bfloat16 inputs still give a float32-accurate loss. The
    gradient, ``scale * (softmax(z) - onehot(y))``, is 0 on rows whose target
    is ignored.
    """
    logits = _matmul_in(acc, hidden_chunk, weight.T)
    target_logit = logits.gather(1, targets_chunk[:, None]).squeeze(1)
    top = logits.amax(dim=1, keepdim=True)
    probs = logits.sub_(top).exp_()  # in place: one (chunk, V) block, no second one
    total = probs.sum(dim=1, keepdim=True)
    losses = torch.where(valid_chunk, (top + total.log()).squeeze(1) - target_logit, 0)
    weight_of_row = valid_chunk[:, None].to(acc) * scale  # 0 on ignored rows
    probs.mul_(weight_of_row / total)  # the softmax, times the row's weight
    probs.scatter_add_(1, targets_chunk[:, None], -weight_of_row)
    return losses, probs


def _add_chunk_grads(grad_logits, hidden_chunk, weight, grad_h, grad_w, rows: slice) -> None:
    """grad_h[rows] = G @ weight and grad_w += G^T @ hidden_chunk for one chunk's
    G = d loss / d logits (either may be None: not needed). G enters the matrix
    products in the inputs' dtype, as autograd's would, and the products are
    summed in ``grad_w``'s float32 for half inputs, so chunking adds no rounding."""
    g = grad_logits.to(hidden_chunk.dtype)
    if grad_w is not None:
        if g.dtype == grad_w.dtype:
            grad_w.addmm_(g.T, hidden_chunk)
        else:
            grad_w.add_(_matmul_in(grad_w.dtype, g.T, hidden_chunk))
    if grad_h is not None:
        grad_h[rows] = _matmul_in(accumulation_dtype(g.dtype), g, weight)


class _FusedLinearCE(torch.autograd.Function):
    """``scale`` times the sum over tokens of cross_entropy(hidden @ weight.T, targets),
    with its gradient computed in the forward pass.

    The loss ends the graph, so its gradient with respect to each chunk's logits
    is known as soon as the chunk's log-sum-exp is: forward computes it and
    multiplies it into the gradients for ``hidden`` and ``weight`` at once (3
    matrix products in all, no second pass over the logits); backward only
    scales them by the incoming scalar gradient (no copy when that is 1, as
    for ``loss.backward()``).
    """

    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk_size, ignore_index, scale):
        acc = accumulation_dtype(hidden.dtype)
        need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_h = torch.empty_like(hidden) if need_h else None
        # float32 accumulator for half inputs: chunk sums would otherwise round to bf16 each time
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device) if need_w else None
        valid = targets != ignore_index
        safe = torch.where(valid, targets, 0)
        total = torch.zeros((), dtype=acc, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk_size):
            sl = slice(start, start + chunk_size)
            losses, grad_logits = _chunk_softmax_grad(hidden[sl], weight, safe[sl], valid[sl], acc, scale)
            total += losses.sum()
            _add_chunk_grads(grad_logits, hidden[sl], weight, grad_h, grad_w, sl)
            del grad_logits
        ctx.save_for_backward(grad_h, grad_w.to(weight.dtype) if need_w else None)
        return total * scale

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_total):
        grads = ctx.saved_tensors
        if not bool(grad_total == 1):
            grads = [g * grad_total.to(g.dtype) if g is not None else None for g in grads]
        return *grads, None, None, None, None


class _ChunkedLinearCE(torch.autograd.Function):
    """Per-token loss of cross_entropy(hidden @ weight.T, targets), chunk by chunk.

    Forward keeps only the (N,) log-sum-exp; backward recomputes each chunk's
    logits (4 matrix products in all), so no (N, V) tensor ever exists, only
    (chunk_size, V) blocks, and the per-token losses may be weighted freely.
    """

    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk_size, ignore_index):
        acc = accumulation_dtype(hidden.dtype)
        valid = targets != ignore_index
        safe = torch.where(valid, targets, 0)
        losses = hidden.new_zeros(hidden.shape[0], dtype=acc)
        for start in range(0, hidden.shape[0], chunk_size):
            sl = slice(start, start + chunk_size)
            losses[sl] = _chunk_softmax_grad(hidden[sl], weight, safe[sl], valid[sl], acc)[0]
        ctx.save_for_backward(hidden, weight, safe, valid)
        ctx.chunk_size = chunk_size
        return losses

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_losses):
        hidden, weight, safe, valid = ctx.saved_tensors
        need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        acc = accumulation_dtype(hidden.dtype)
        grad_h = torch.zeros_like(hidden) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device) if need_w else None
        for start in range(0, hidden.shape[0], ctx.chunk_size):
            sl = slice(start, start + ctx.chunk_size)
            _, grad_logits = _chunk_softmax_grad(hidden[sl], weight, safe[sl], valid[sl], acc)
            grad_logits = grad_logits.mul_(grad_losses[sl, None].to(acc))
            _add_chunk_grads(grad_logits, hidden[sl], weight, grad_h, grad_w, sl)
            del grad_logits
        return grad_h, grad_w.to(weight.dtype) if need_w else None, None, None, None


def chunked_linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    targets: torch.Tensor,
    chunk_size: int = 1024,
    ignore_index: int = IGNORE_INDEX,
    reduction: str = "mean",
    mode: str = "auto",
) -> torch.Tensor:
    """Softmax cross-entropy of a linear head without the full logits (eq. (4.5.3) at scale).

    hidden: ``(..., D)``; weight: ``(V, D)``; targets: ``(...)`` ids in
    ``[0, V)`` or ``ignore_index``. Equal in value and in the gradients for
    ``hidden`` and ``weight`` to
    ``F.cross_entropy(hidden @ weight.T, targets, ignore_index=..., reduction=...)``,
    but it holds at most ``(chunk_size, V)`` logits at a time. reduction
    "mean" averages over non-ignored tokens and gives 0 (not NaN) when there
    are none; "none" returns ``(...)``, 0 at ignored tokens.

    mode:
    - ``"fused"``: the gradient for ``hidden`` and ``weight`` is computed chunk
      by chunk in the forward pass (3 matrix products for forward and
      backward, as fused kernels do); only for reduction "mean" or "sum",
      whose incoming gradient is the same for every token. When neither
      input requires a gradient, only the loss is computed.
    - ``"recompute"``: forward keeps the log-sum-exp, backward recomputes each
      chunk's logits (4 matrix products); the per-token losses stay
      differentiable, so they can be weighted afterwards (reduction "none").
    - ``"auto"`` (default): "fused" for "mean" and "sum", "recompute" for "none".

    Half-precision inputs: log-sum-exp, losses, the reduction and the
    accumulated gradient for ``weight`` in float32 (a ``(V, D)`` float32
    buffer while the loss runs), the loss returned in float32
    (``lm.accumulation_dtype``). First derivatives only.
    """
    _check_linear_ce(hidden, weight, targets, chunk_size, reduction)
    if mode not in LINEAR_CE_MODES:
        raise ValueError(f"mode must be one of {LINEAR_CE_MODES}, got {mode!r}")
    if mode == "auto":
        mode = "recompute" if reduction == "none" else "fused"
    if mode == "fused" and reduction == "none":
        raise ValueError('mode="fused" needs reduction "mean" or "sum": per-token losses need mode="recompute"')
    vocab = weight.shape[0]
    flat_targets = as_token_ids("targets", targets).reshape(-1)
    counted = flat_targets != ignore_index
    if counted.any():
        bad = flat_targets[counted]
        if bad.min() < 0 or bad.max() >= vocab:
            raise ValueError(f"targets must lie in [0, {vocab}) or equal ignore_index={ignore_index}")
    flat_hidden = hidden.reshape(-1, hidden.shape[-1])
    if mode == "fused":
        scale = 1.0 if reduction == "sum" else 1.0 / max(int(counted.sum()), 1)
        return _FusedLinearCE.apply(flat_hidden, weight, flat_targets, chunk_size, ignore_index, scale)
    losses = _ChunkedLinearCE.apply(flat_hidden, weight, flat_targets, chunk_size, ignore_index)
    return apply_reduction(losses.reshape(targets.shape), reduction, mask=counted.reshape(targets.shape))


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
