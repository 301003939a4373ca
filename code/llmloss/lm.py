"""Language-modelling losses, section 4.5.1, equations (4.5.2)-(4.5.5).

Convention: ``logits[..., t, :]`` scores ``targets[..., t]``. For next-token
prediction the caller builds the targets with ``next_token_targets`` so that
the logits at position t, which have seen tokens 1..t, score token t+1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100
REDUCTIONS = ("mean", "sum", "none")
HALF_DTYPES = (torch.float16, torch.bfloat16)


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype in which the book's losses are computed and returned.

    float32 for half-precision inputs (float16 overflows past 65,504 and
    bfloat16 keeps ~3 significant digits), as ``torch.autocast`` runs
    cross-entropy in float32; float32 and float64 stay as they are.
    """
    return torch.float32 if dtype in HALF_DTYPES else dtype


def as_token_ids(name: str, ids: torch.Tensor) -> torch.Tensor:
    """Integer token ids (any integer dtype) as int64; ``ValueError`` naming ``name`` otherwise.

    Comparing a ``uint8`` tensor with -100 wraps to 156, and with 256 to 0; in
    int64 every comparison means what it says.
    """
    if not isinstance(ids, torch.Tensor) or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer token ids, got {getattr(ids, 'dtype', type(ids).__name__)}")
    return ids.long()


def check_reduction(reduction: str) -> None:
    """Raise ``ValueError`` unless ``reduction`` is "mean", "sum" or "none"."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def as_bool_mask(name: str, mask, shape) -> torch.Tensor:
    """A mask of ``shape`` as bool: bool, or any tensor holding only 0 and 1.

    ``ValueError`` naming ``name`` for anything else (another shape, other
    values, not a tensor), never a silent broadcast or a cast of 2 to True.
    """
    if not isinstance(mask, torch.Tensor) or mask.shape != torch.Size(shape):
        raise ValueError(f"{name} must be a tensor of shape {tuple(shape)}, got {getattr(mask, 'shape', mask)}")
    if mask.dtype == torch.bool:
        return mask
    if mask.is_complex() or not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{name} must be bool or hold only 0 and 1")
    return mask != 0


def apply_reduction(values: torch.Tensor, reduction: str, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Reduce per-item losses the PyTorch way; the mean of no item is 0, not NaN.

    The book's one convention for every loss helper: "sum" adds, "mean" divides
    the sum by the number of counted items, "none" returns the per-item values.
    mask: optional bool of ``values``' shape, True where an item counts; items
    outside it are exactly 0 (value and gradient, also where they are inf or
    NaN). Values are converted to ``accumulation_dtype`` first, so half-precision
    losses are summed, averaged and returned in float32; the count is an integer.
    """
    check_reduction(reduction)
    values = values.to(accumulation_dtype(values.dtype))
    if mask is not None:
        if mask.dtype != torch.bool or mask.shape != values.shape:
            raise ValueError(f"mask must be bool of shape {tuple(values.shape)}, got {mask.dtype} {tuple(mask.shape)}")
        values = torch.where(mask, values, torch.zeros((), dtype=values.dtype, device=values.device))
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    count = values.numel() if mask is None else int(mask.sum())
    return total / max(count, 1)


def _check_logits_targets(logits: torch.Tensor, targets: torch.Tensor) -> None:
    if logits.dim() < 1 or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating tensor (..., V), got {logits.dtype} {tuple(logits.shape)}")
    as_token_ids("targets", targets)
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits (..., V) and targets (...) do not match: logits {tuple(logits.shape)}, "
            f"targets {tuple(targets.shape)}"
        )


def token_log_probs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log Softmax(z_t)[x_t], eq. (4.5.3), for every position.

    logits: ``(..., T, V)``; targets: ``(..., T)`` integer ids in ``[0, V)``
    (any integer dtype). Returns ``(..., T)`` in ``accumulation_dtype(logits.dtype)``
    (float32 for half-precision logits). Computed with ``log_softmax``, so
    logits of any finite size give a finite result.
    """
    _check_logits_targets(logits, targets)
    targets = as_token_ids("targets", targets)
    vocab = logits.shape[-1]
    if targets.numel() and (targets.min() < 0 or targets.max() >= vocab):
        raise ValueError(f"targets must lie in [0, {vocab}), got values in [{targets.min()}, {targets.max()}]")
    log_probs = F.log_softmax(logits, dim=-1, dtype=accumulation_dtype(logits.dtype))
    return log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def next_token_targets(tokens: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """The targets of next-token prediction: ``targets[..., t] = tokens[..., t+1]``.

    tokens: ``(..., T)`` integer ids; returns int64 ``(..., T)`` whose last position holds
    ``ignore_index`` (nothing follows the last token). Feeding ``tokens`` to a
    causal model and scoring its logits against these targets is eq. (4.5.2).
    """
    tokens = as_token_ids("tokens", tokens)
    if tokens.dim() < 1:
        raise ValueError(f"tokens must be an integer tensor (..., T), got shape {tuple(tokens.shape)}")
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

    Half-precision logits are computed, reduced and returned in float32
    (``accumulation_dtype``); targets may have any integer dtype.
    """
    check_reduction(reduction)
    _check_logits_targets(logits, targets)
    targets = as_token_ids("targets", targets)
    counted = targets != ignore_index
    if mask is not None:
        mask = as_bool_mask("mask", mask, targets.shape)  # the M_t of eq. (4.5.5)
        counted = counted & mask
    safe_targets = torch.where(counted, targets, torch.zeros_like(targets))
    return apply_reduction(-token_log_probs(logits, safe_targets), reduction, mask=counted)


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


def valid_target_mask(lengths: torch.Tensor, seq_len: int) -> torch.Tensor:
    """Which next-token targets are real tokens, the M of eq. (4.5.5): bool ``(N, seq_len)``.

    lengths: ``(N,)`` integer numbers of real tokens per right-padded row. With
    the targets of ``next_token_targets``, position t scores token t+1, so it
    counts when t + 1 < length. Built from the lengths, not from the token ids:
    a padding id equal to the end-of-text id cannot drop the real end-of-text target.
    """
    lengths = as_token_ids("lengths", lengths)
    if lengths.dim() != 1:
        raise ValueError(f"lengths must have shape (N,), got {tuple(lengths.shape)}")
    if seq_len < 0 or bool((lengths < 0).any()) or bool((lengths > seq_len).any()):
        raise ValueError(f"lengths must lie in [0, seq_len={seq_len}], got {lengths.tolist()}")
    return torch.arange(seq_len, device=lengths.device) + 1 < lengths[:, None]


def shifted_lm_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    reduction: str = "mean",
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """Next-token loss with the shift inside, eqs. (4.5.2)/(4.5.5), the labels being the inputs.

    The convention of Hugging Face causal LMs: ``labels`` ``(..., T)`` are the
    input ids themselves (``ignore_index`` where a token must not be scored), and
    the logits ``(..., T, V)`` at position t score ``labels[..., t+1]``. Passing
    labels that are already shifted (``next_token_targets``) shifts them twice.
    """
    if logits.dim() < 2 or logits.shape[:-1] != labels.shape:
        raise ValueError(
            f"logits (..., T, V) and labels (..., T) do not match: logits {tuple(logits.shape)}, "
            f"labels {tuple(labels.shape)}"
        )
    return lm_loss(logits[..., :-1, :], labels[..., 1:], reduction=reduction, ignore_index=ignore_index)
