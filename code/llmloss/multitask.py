"""Multi-task losses and gradient weighting, sections 4.5.3 and 4.5.6:
eqs. (4.5.11), (4.5.12), (4.5.27), (4.5.28)."""

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
