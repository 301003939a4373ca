"""Direct preference optimisation, section 4.5.5: eqs. (4.5.21)-(4.5.26).

Convention (that of Rafailov et al. 2023): the log-probability of a completion
is the SUM of its token log-probabilities over the completion's positions,
``sequence_logps``. The DPO loss depends on the policy only through the log-ratio
margin

    h = [log pi(y+) - log ref(y+)] - [log pi(y-) - log ref(y-)],

and is ``-log sigmoid(beta h)``, computed with ``logsigmoid`` so that margins of
any finite size give a finite loss.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmloss.lm import apply_reduction, check_reduction, token_log_probs
from llmloss.rlhf import check_beta


def _check_same_shape(**tensors: torch.Tensor) -> None:
    names = list(tensors)
    first = tensors[names[0]]
    for name in names:
        t = tensors[name]
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise ValueError(f"{name} must be a floating tensor, got {type(t).__name__} {getattr(t, 'dtype', '')}")
        if t.shape != first.shape:
            raise ValueError(
                f"{name} has shape {tuple(t.shape)} but {names[0]} has {tuple(first.shape)}: "
                "the log-prob tensors must have one shape"
            )


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log pi(y | x) of each completion: the SUM of token log-probs over ``mask``, used in eq. (4.5.21).

    logits: ``(batch, T, V)``, ``logits[b, t]`` scores ``labels[b, t]`` (shift
    beforehand, e.g. with ``lm.next_token_targets``); labels: ``(batch, T)``
    integer ids; mask: ``(batch, T)``, bool or 0/1, True on the completion's
    tokens (prompt and padding False; labels there may be anything, e.g. -100).
    Returns ``(batch,)`` in the dtype of ``logits``; an empty mask gives 0.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3 or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating tensor (batch, T, V), got {getattr(logits, 'shape', logits)}")
    if labels.shape != mask.shape:
        raise ValueError(f"labels {tuple(labels.shape)} and mask {tuple(mask.shape)} must have one shape")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels must have shape (batch, T) = {tuple(logits.shape[:-1])}, got {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"labels must hold integer token ids, got dtype {labels.dtype}")
    if mask.dtype != torch.bool:
        if mask.is_complex() or not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must be bool or hold only 0 and 1")
        mask = mask != 0
    vocab = logits.shape[-1]
    if bool(((labels < 0) | (labels >= vocab))[mask].any()):
        raise ValueError(f"labels must lie in [0, {vocab}) wherever mask is True (anything, e.g. -100, elsewhere)")
    safe_labels = torch.where(mask, labels, torch.zeros_like(labels))
    # contiguous(): log_softmax is ~100x slower on stride-0 (expanded) logits; a no-op otherwise
    token_lp = token_log_probs(logits.contiguous(), safe_labels)
    return torch.where(mask, token_lp, torch.zeros_like(token_lp)).sum(-1)


def log_ratio_margin(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
) -> torch.Tensor:
    """h = Delta log pi(y+) - Delta log pi(y-), the argument of eq. (4.5.22) divided by beta.

    All four inputs ``(batch,)`` (any one shape); returns the same shape.
    """
    _check_same_shape(
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
        ref_chosen_logps=ref_chosen_logps,
        ref_rejected_logps=ref_rejected_logps,
    )
    return (policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps)


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    reduction: str = "mean",
) -> torch.Tensor:
    """DPO loss, eq. (4.5.21): -log sigmoid(beta h), h the log-ratio margin (eq. (4.5.22)).

    Inputs: sequence log-probs ``(batch,)`` (see ``sequence_logps``), one shape
    for all four. ``reduction="none"`` gives ``(batch,)``. Equals log 2 when the
    policy is the reference; finite for any finite margin (``logsigmoid``).
    """
    check_reduction(reduction)
    beta = check_beta(beta)
    h = log_ratio_margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    return apply_reduction(-F.logsigmoid(beta * h), reduction)


def implicit_reward(policy_logps: torch.Tensor, ref_logps: torch.Tensor, beta: float) -> torch.Tensor:
    """Implicit reward, eq. (4.5.25): r_DPO(x, y) = beta (log pi(y|x) - log ref(y|x)).

    policy_logps, ref_logps: one shape, e.g. ``(batch,)``; returns that shape.
    """
    beta = check_beta(beta)
    _check_same_shape(policy_logps=policy_logps, ref_logps=ref_logps)
    return beta * (policy_logps - ref_logps)


def info_nce_loss(
    scores: torch.Tensor, targets: torch.Tensor, reduction: str = "mean", temperature: float = 1.0
) -> torch.Tensor:
    """InfoNCE loss whose gradient is eq. (4.5.24): -log softmax(scores / temperature)[target].

    scores: ``(batch, candidates)``; targets: ``(batch,)`` integer index of the
    positive candidate. The gradient with respect to the scores is
    ``(softmax(scores / temperature) - onehot(target)) / temperature``.
    """
    check_reduction(reduction)
    if not isinstance(scores, torch.Tensor) or scores.dim() != 2 or not scores.is_floating_point():
        raise ValueError(
            f"scores must be a floating tensor (batch, candidates), got {getattr(scores, 'shape', scores)}"
        )
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise ValueError(f"targets must hold integer indices, got dtype {targets.dtype}")
    if targets.shape != scores.shape[:1]:
        raise ValueError(f"targets must have shape (batch,) = ({scores.shape[0]},), got {tuple(targets.shape)}")
    if targets.numel() and (targets.min() < 0 or targets.max() >= scores.shape[1]):
        raise ValueError(f"targets must lie in [0, {scores.shape[1]}), got [{targets.min()}, {targets.max()}]")
    if isinstance(temperature, bool) or not (
        isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0
    ):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    log_p = F.log_softmax(scores / temperature, dim=-1)
    return apply_reduction(-log_p.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1), reduction)


def ipo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    reduction: str = "mean",
) -> torch.Tensor:
    """IPO loss (Azar et al. 2023), compared with eq. (4.5.21): (h - 1 / (2 beta))^2.

    Same inputs as ``dpo_loss``; h is the log-ratio margin. Unlike DPO it has a
    finite minimiser, h = 1 / (2 beta) for a pair that is always preferred.
    (Azar et al. pass length-averaged log-probs; that choice is the caller's.)
    """
    check_reduction(reduction)
    beta = check_beta(beta)
    h = log_ratio_margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    return apply_reduction((h - 1.0 / (2.0 * beta)) ** 2, reduction)
