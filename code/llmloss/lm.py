"""Language-modelling losses, section 4.5.1: eqs. (4.5.2)-(4.5.5).

Convention: ``logits[..., t, :]`` scores ``targets[..., t]``. For next-token
prediction the caller builds the targets with ``next_token_targets`` so that
the logits at position t, which have seen tokens 1..t, score token t+1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100
REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    """Raise ``ValueError`` unless ``reduction`` is "mean", "sum" or "none"."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def apply_reduction(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-item losses the PyTorch way; the mean of no item is 0, not NaN.

    The book's one convention for every loss helper: "sum" adds, "mean" divides
    the sum by the number of items, "none" returns ``values`` unchanged.
    """
    check_reduction(reduction)
    if reduction == "none":
        return values
    total = values.sum()
    return total if reduction == "sum" else total / max(values.numel(), 1)


def _check_logits_targets(logits: torch.Tensor, targets: torch.Tensor) -> None:
    if logits.dim() < 1 or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating tensor (..., V), got {logits.dtype} {tuple(logits.shape)}")
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise ValueError(f"targets must hold integer token ids, got dtype {targets.dtype}")
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits (..., V) and targets (...) do not match: logits {tuple(logits.shape)}, "
            f"targets {tuple(targets.shape)}"
        )


def token_log_probs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log Softmax(z_t)[x_t], eq. (4.5.3), for every position.

    logits: ``(..., T, V)``; targets: ``(..., T)`` integer ids in ``[0, V)``.
    Returns ``(..., T)`` in the dtype of ``logits``. Computed with
    ``log_softmax``, so logits of any finite size give a finite result.
    """
    _check_logits_targets(logits, targets)
    vocab = logits.shape[-1]
    if targets.numel() and (targets.min() < 0 or targets.max() >= vocab):
        raise ValueError(f"targets must lie in [0, {vocab}), got values in [{targets.min()}, {targets.max()}]")
    log_probs = F.log_softmax(logits, dim=-1)
    return log_probs.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1)


def next_token_targets(tokens: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """The targets of next-token prediction: ``targets[..., t] = tokens[..., t+1]``.

    tokens: ``(..., T)`` integer ids; returns int64 ``(..., T)`` whose last position holds
    ``ignore_index`` (nothing follows the last token). Feeding ``tokens`` to a
    causal model and scoring its logits against these targets is eq. (4.5.2).
    """
    if tokens.dim() < 1 or tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise ValueError(f"tokens must be an integer tensor (..., T), got {tokens.dtype} {tuple(tokens.shape)}")
    targets = torch.full_like(tokens, ignore_index, dtype=torch.long)
    targets[..., :-1] = tokens[..., 1:]
    return targets


def lm_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """Negative log-likelihood of the counted tokens: eqs. (4.5.2), (4.5.4), (4.5.5), (4.5.13).

    logits: ``(..., T, V)``; targets: ``(..., T)``; mask: ``(..., T)``, bool
    or 0/1, True (1) where a token counts (all when ``None``). Positions whose target is
    ``ignore_index`` never count.

    - ``"sum"``: eq. (4.5.2) (eq. (4.5.4) when the mask drops the prefix);
    - ``"mean"``: the sum divided by the number of counted tokens, eq. (4.5.5);
      0, with a zero gradient, when no token counts;
    - ``"none"``: per-token values ``(..., T)``, 0 where a token does not count.
    """
    check_reduction(reduction)
    _check_logits_targets(logits, targets)
    counted = targets != ignore_index
    if mask is not None:
        if mask.shape != targets.shape:
            raise ValueError(f"mask must have the shape of targets {tuple(targets.shape)}, got {tuple(mask.shape)}")
        if mask.dtype != torch.bool:
            if mask.is_complex() or not bool(((mask == 0) | (mask == 1)).all()):
                raise ValueError("mask must be bool or hold only 0 and 1 (the M_t of eq. (4.5.5))")
            mask = mask != 0
        counted = counted & mask
    safe_targets = torch.where(counted, targets, torch.zeros_like(targets))
    nll = -token_log_probs(logits, safe_targets)
    nll = torch.where(counted, nll, torch.zeros_like(nll))
    if reduction == "none":
        return nll
    total = nll.sum()
    if reduction == "sum":
        return total
    return total / counted.sum().clamp(min=1).to(nll.dtype)


def prefix_lm_mask(prefix_len: int, seq_len: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Attention mask of prefix language modelling (Definition 4.5.2).

    Returns bool ``(seq_len, seq_len)``, True where query position i may attend
    to key position j: every pair inside the prefix (bidirectional), and
    j <= i otherwise (causal). ``prefix_len = 0`` gives the causal mask,
    ``prefix_len = seq_len`` the bidirectional one.
    """
    if seq_len < 0:
        raise ValueError(f"seq_len must be >= 0, got {seq_len}")
    if not 0 <= prefix_len <= seq_len:
        raise ValueError(f"prefix_len must lie in [0, seq_len={seq_len}], got {prefix_len}")
    i = torch.arange(seq_len, device=device)
    causal = i[None, :] <= i[:, None]
    in_prefix = i < prefix_len
    return causal | (in_prefix[:, None] & in_prefix[None, :])


def prefix_loss_mask(prefix_len: int, seq_len: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Which targets count in the prefix-LM loss, eq. (4.5.4): bool ``(seq_len,)``.

    With the targets of ``next_token_targets``, position t scores token t+1
    (0-based), so the targets x_{K+1}..x_L are those of positions K-1..L-2.
    ``prefix_len = 0`` (no prefix) counts every position.
    """
    if not 0 <= prefix_len <= seq_len:
        raise ValueError(f"prefix_len must lie in [0, seq_len={seq_len}], got {prefix_len}")
    return torch.arange(seq_len, device=device) >= max(prefix_len - 1, 0)
