"""Multi-task losses and gradient weighting, sections 4.5.3 and 4.5.6,
equations (4.5.11), (4.5.12), (4.5.27), (4.5.28)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _check_grads(grads: Sequence[torch.Tensor]) -> None:
    if len(grads) == 0:
        raise ValueError("grads must hold at least one gradient tensor")
    shape = grads[0].shape
    for k, g in enumerate(grads):
        if not isinstance(g, torch.Tensor) or not g.is_floating_point():
            raise ValueError(f"grads[{k}] must be a floating tensor")
        if g.shape != shape:
            raise ValueError(f"grads must share one shape: grads[0] {tuple(shape)}, grads[{k}] {tuple(g.shape)}")


def inverse_norm_weights(grads: Sequence[torch.Tensor], eps: float = 1e-8) -> torch.Tensor:
    """Adaptive weights w_k = 1 / (||g_k||_2 + eps), eq. (4.5.28).

    grads: K tensors of one shape (each task's gradient); returns ``(K,)`` in
    their dtype and device. A zero gradient gets the finite weight 1 / eps.
    """
    _check_grads(grads)
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    return 1.0 / (norms + eps)


def _check_weights(weights, k: int, like: torch.Tensor, per: str) -> torch.Tensor:
    try:
        w = torch.as_tensor(weights, dtype=like.dtype, device=like.device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"weights must be {k} real numbers, one per task: {err}") from None
    if w.dim() != 1 or w.shape[0] != k:
        raise ValueError(f"weights must have shape ({k},), one weight per entry of {per}, got shape {tuple(w.shape)}")
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"weights must be finite and >= 0, got {w.tolist()}")
    return w


def weighted_loss(losses, weights) -> torch.Tensor:
    """Multi-task loss L_MTL = sum_k w_k L_k, eq. (4.5.11); eq. (4.5.27) with weights w_k(t).

    losses: ``(K,)`` tensor, a sequence of K scalar tensors (task losses) or
    a sequence of K plain numbers (then in the default dtype); weights:
    ``(K,)`` tensor or sequence of K numbers, each >= 0. Returns a scalar in
    the losses' dtype and device, differentiable in both arguments.
    """
    if isinstance(losses, torch.Tensor):
        stacked = losses
    else:
        losses = list(losses)
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in losses)
        if len(losses) > 0 and numbers:
            stacked = torch.tensor([float(x) for x in losses])
        elif len(losses) > 0 and all(isinstance(x, torch.Tensor) and x.dim() == 0 for x in losses):
            stacked = torch.stack(losses)
        else:
            raise ValueError("losses must be a (K,) tensor or a non-empty sequence of scalar tensors or numbers")
    if stacked.dim() != 1 or stacked.shape[0] == 0 or not stacked.is_floating_point():
        raise ValueError(f"losses must be a non-empty floating (K,) tensor, got shape {tuple(stacked.shape)}")
    w = _check_weights(weights, stacked.shape[0], stacked, "losses")
    return (w * stacked).sum()


def normalized_gradient(grads: Sequence[torch.Tensor], weights=None) -> torch.Tensor:
    """Normalised multi-task direction g_total = sum_k w_k g_k / ||g_k||_2, eq. (4.5.12).

    grads: K tensors of one shape (each task's gradient); weights: K numbers
    >= 0 (default all 1). Returns a tensor of the gradients' shape, dtype and
    device. A task whose gradient is exactly zero contributes nothing (its
    direction is undefined), so the result is never NaN for finite input; a
    gradient holding NaN or inf makes the whole result NaN (never a finite
    direction that silently leaves that task out).
    """
    _check_grads(grads)
    w = _check_weights([1.0] * len(grads) if weights is None else weights, len(grads), grads[0], "grads")
    total = torch.zeros_like(grads[0])
    for wk, gk in zip(w, grads, strict=True):
        scale = gk.abs().max() if gk.numel() else gk.new_zeros(())
        if not torch.isfinite(scale):  # NaN fails "scale > 0" below: propagate it instead of skipping the task
            return torch.full_like(total, float("nan"))
        if scale > 0:  # divide by the largest entry first: no underflow or overflow in the norm
            unit = gk / scale
            total = total + wk * (unit / torch.linalg.vector_norm(unit))
    return total


def min_norm_alpha(g1: torch.Tensor, g2: torch.Tensor) -> torch.Tensor:
    """Two-task MGDA weight: argmin over alpha in [0, 1] of ||alpha g1 + (1 - alpha) g2||_2
    (Pareto stationarity, section 4.5.3).

    Closed form alpha = clip((g2 - g1) . g2 / ||g1 - g2||^2, 0, 1). g1, g2:
    tensors of one shape; returns a scalar in their dtype and device. For
    g1 = g2 every alpha is a minimiser and 1/2 is returned (never NaN).
    """
    for name, g in (("g1", g1), ("g2", g2)):
        if not isinstance(g, torch.Tensor) or not g.is_floating_point():
            raise ValueError(f"{name} must be a floating tensor (a task gradient)")
    if g1.shape != g2.shape:
        raise ValueError(f"g1 and g2 must share one shape, got g1 {tuple(g1.shape)} and g2 {tuple(g2.shape)}")
    scale = torch.maximum(g1.abs().max(), g2.abs().max()) if g1.numel() else g1.new_zeros(())
    if scale > 0:  # alpha is scale-invariant: rescale so that squares neither overflow nor underflow
        g1, g2 = g1 / scale, g2 / scale
    diff = g1 - g2
    denom = (diff * diff).sum()
    if denom == 0:
        return torch.full((), 0.5, dtype=g1.dtype, device=g1.device)
    return ((g2 - g1) * g2).sum().div(denom).clamp(0.0, 1.0)


def min_norm_direction(g1: torch.Tensor, g2: torch.Tensor) -> torch.Tensor:
    """The MGDA common direction d = alpha g1 + (1 - alpha) g2, alpha = min_norm_alpha(g1, g2).

    A step -eta d lowers each task's loss by at least eta ||d||^2 to first
    order: g_k . d >= ||d||^2 for k = 1, 2. Same shape, dtype and device as g1.
    """
    alpha = min_norm_alpha(g1, g2)
    return alpha * g1 + (1 - alpha) * g2


def flat_task_gradients(losses, params) -> list[torch.Tensor]:
    """Per-task gradients g_k = grad_theta L_k over the shared parameters, flattened,
    as used in eqs. (4.5.11)-(4.5.12).

    losses: K scalar tensors; params: an iterable of parameters (theta).
    Returns K vectors of length sum(p.numel()), built with
    ``torch.nn.utils.parameters_to_vector``; a parameter a loss does not use
    gets a zero block. The graph is kept, so the losses can still be
    back-propagated.
    """
    params = list(params)
    losses = list(losses)
    if len(params) == 0:
        raise ValueError("params must hold at least one parameter")
    if len(losses) == 0 or not all(isinstance(x, torch.Tensor) and x.dim() == 0 for x in losses):
        raise ValueError("losses must be a non-empty sequence of scalar tensors")
    flat = []
    for loss in losses:
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]
        flat.append(torch.nn.utils.parameters_to_vector(grads))
    return flat


def set_flat_gradient(params, vector: torch.Tensor) -> None:
    """Write a flat direction (e.g. g_total of eq. (4.5.12)) into ``p.grad`` of each parameter,
    the inverse of ``flat_task_gradients``, via ``torch.nn.utils.vector_to_parameters``.

    params: an iterable of parameters; vector: ``(sum p.numel(),)``.
    """
    params = list(params)
    if len(params) == 0:
        raise ValueError("params must hold at least one parameter")
    n = sum(p.numel() for p in params)
    if not isinstance(vector, torch.Tensor) or not vector.is_floating_point() or vector.shape != (n,):
        raise ValueError(f"vector must be a floating tensor of shape ({n},), the number of parameter entries")
    blocks = [torch.empty_like(p) for p in params]
    torch.nn.utils.vector_to_parameters(vector.detach().to(params[0].dtype).clone(), blocks)
    for p, b in zip(params, blocks, strict=True):
        p.grad = b.to(p.device)
