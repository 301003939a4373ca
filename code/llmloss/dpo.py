"""Direct preference optimisation, section 4.5.5, equations (4.5.21)-(4.5.26).

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

from llmloss.lm import (
    accumulation_dtype,
    apply_reduction,
    as_bool_mask,
    as_token_ids,
    check_reduction,
    token_log_probs,
)
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
    Returns ``(batch,)``, summed in float32 for half-precision logits
    (``lm.accumulation_dtype``); an empty mask gives 0.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3 or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating tensor (batch, T, V), got {getattr(logits, 'shape', logits)}")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels must have shape (batch, T) = {tuple(logits.shape[:-1])}, got {tuple(labels.shape)}")
    labels = as_token_ids("labels", labels)
    mask = as_bool_mask("mask", mask, labels.shape)
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

    All four inputs ``(batch,)`` (any one shape); returns the same shape, in
    float32 for half-precision inputs (``lm.accumulation_dtype``).
    """
    _check_same_shape(
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
        ref_chosen_logps=ref_chosen_logps,
        ref_rejected_logps=ref_rejected_logps,
    )
    acc = accumulation_dtype(policy_chosen_logps.dtype)
    pc, pr = policy_chosen_logps.to(acc), policy_rejected_logps.to(acc)
    return (pc - ref_chosen_logps.to(acc)) - (pr - ref_rejected_logps.to(acc))


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
    targets = as_token_ids("targets", targets)
    if targets.shape != scores.shape[:1]:
        raise ValueError(f"targets must have shape (batch,) = ({scores.shape[0]},), got {tuple(targets.shape)}")
    if targets.numel() and (targets.min() < 0 or targets.max() >= scores.shape[1]):
        raise ValueError(f"targets must lie in [0, {scores.shape[1]}), got [{targets.min()}, {targets.max()}]")
    if isinstance(temperature, bool) or not (
        isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0
    ):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    log_p = F.log_softmax(scores.to(accumulation_dtype(scores.dtype)) / temperature, dim=-1)
    return apply_reduction(-log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1), reduction)


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


# ---------------------------------------------------------------- the DPO family
# Each loss below extends eq. (4.5.21); l(z) = -log sigma(z) is DPO's logistic loss.


def _check_rate(name: str, value, high: float = 0.5) -> float:
    """A rate in [0, high): label-smoothing or flip rate; returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value < high):
        raise ValueError(f"{name} must be a number in [0, {high}), got {value!r}")
    return float(value)


def _check_nonnegative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value < math.inf):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_lengths(name: str, lengths, like: torch.Tensor) -> torch.Tensor:
    """Token counts |y| >= 1, the shape of ``like``; returned in ``like``'s dtype."""
    if not isinstance(lengths, torch.Tensor) or lengths.is_complex() or lengths.dtype == torch.bool:
        raise ValueError(f"{name} must be a real tensor of token counts, got {type(lengths).__name__}")
    if lengths.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(lengths.shape)}")
    if bool((lengths < 1).any()) or not bool(torch.isfinite(lengths.double()).all()):
        raise ValueError(f"{name} must hold finite token counts >= 1")
    return lengths.to(like.dtype)


def cdpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    label_smoothing: float = 0.1,
    reduction: str = "mean",
) -> torch.Tensor:
    """Conservative DPO (Mitchell 2023), extends eq. (4.5.21): smoothed label 1 - eps.

    ``(1 - eps) l(beta h) + eps l(-beta h)`` with ``l(z) = -log sigma(z)``,
    ``0 <= eps < 1/2``: binary cross-entropy (4.5.22) with target ``1 - eps``.
    Its minimiser is finite, ``beta h = log((1 - eps) / eps)``. Inputs and
    shapes as ``dpo_loss``.
    """
    check_reduction(reduction)
    beta = check_beta(beta)
    eps = _check_rate("label_smoothing", label_smoothing)
    h = log_ratio_margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    loss = -(1 - eps) * F.logsigmoid(beta * h) - eps * F.logsigmoid(-beta * h)
    return apply_reduction(loss, reduction)


def robust_dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    flip_rate: float = 0.1,
    reduction: str = "mean",
) -> torch.Tensor:
    """Robust DPO (Chowdhury et al. 2024), extends eq. (4.5.21): unbiased under label flips.

    ``[(1 - eps) l(beta h) - eps l(-beta h)] / (1 - 2 eps)``, ``l(z) = -log sigma(z)``,
    for labels flipped independently with known probability ``eps = flip_rate``
    in ``[0, 1/2)``: its expectation over the flips is the DPO loss of the clean
    label. Inputs and shapes as ``dpo_loss``; a single term can be negative.
    """
    check_reduction(reduction)
    beta = check_beta(beta)
    eps = _check_rate("flip_rate", flip_rate)
    h = log_ratio_margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    loss = (-(1 - eps) * F.logsigmoid(beta * h) + eps * F.logsigmoid(-beta * h)) / (1 - 2 * eps)
    return apply_reduction(loss, reduction)


def simpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    chosen_lengths: torch.Tensor,
    rejected_lengths: torch.Tensor,
    beta: float = 2.0,
    gamma: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """SimPO loss (Meng et al. 2024), extends eq. (4.5.21): no reference, per-token log-probs, margin gamma.

    ``-log sigma(beta log pi(y+) / |y+| - beta log pi(y-) / |y-| - gamma)``.
    Log-probs ``(batch,)`` are sums over tokens (``sequence_logps``); lengths
    ``(batch,)`` are the token counts ``|y| >= 1``; ``gamma >= 0``.
    """
    check_reduction(reduction)
    beta = check_beta(beta)
    gamma = _check_nonnegative("gamma", gamma)
    _check_same_shape(policy_chosen_logps=policy_chosen_logps, policy_rejected_logps=policy_rejected_logps)
    n_chosen = _check_lengths("chosen_lengths", chosen_lengths, policy_chosen_logps)
    n_rejected = _check_lengths("rejected_lengths", rejected_lengths, policy_rejected_logps)
    acc = accumulation_dtype(policy_chosen_logps.dtype)
    z = beta * (policy_chosen_logps.to(acc) / n_chosen - policy_rejected_logps.to(acc) / n_rejected) - gamma
    return apply_reduction(-F.logsigmoid(z), reduction)


def log_odds(mean_token_logps: torch.Tensor) -> torch.Tensor:
    """log(P / (1 - P)) of P = exp(mean_token_logps), the odds used by ORPO, compared with eq. (4.5.21).

    Computed as ``m - log(-expm1(m))``; ``m`` is clamped just below 0 so that
    a log-prob that rounds to 0 gives a large finite value, not inf.
    """
    tiny = torch.finfo(mean_token_logps.dtype).tiny
    m = mean_token_logps.clamp(max=-tiny)
    return m - torch.log(-torch.expm1(m))


def orpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    chosen_lengths: torch.Tensor,
    rejected_lengths: torch.Tensor,
    lam: float = 0.1,
    reduction: str = "mean",
) -> torch.Tensor:
    """ORPO loss (Hong et al. 2024), extends eq. (4.5.21): SFT loss plus lam times an odds-ratio loss.

    With ``m(y) = log pi(y) / |y|`` (mean token log-prob) and ``odds = P / (1 - P)``,
    ``P = exp(m)``: ``-m(y+) - lam log sigma(log odds(y+) - log odds(y-))``. No
    reference model. Log-probs and lengths ``(batch,)`` as in ``simpo_loss``.
    """
    check_reduction(reduction)
    lam = _check_nonnegative("lam", lam)
    _check_same_shape(policy_chosen_logps=policy_chosen_logps, policy_rejected_logps=policy_rejected_logps)
    acc = accumulation_dtype(policy_chosen_logps.dtype)
    n_chosen = _check_lengths("chosen_lengths", chosen_lengths, policy_chosen_logps)
    n_rejected = _check_lengths("rejected_lengths", rejected_lengths, policy_rejected_logps)
    m_chosen, m_rejected = policy_chosen_logps.to(acc) / n_chosen, policy_rejected_logps.to(acc) / n_rejected
    odds_ratio_term = -F.logsigmoid(log_odds(m_chosen) - log_odds(m_rejected))
    return apply_reduction(-m_chosen + lam * odds_ratio_term, reduction)


def kto_loss(
    policy_logps: torch.Tensor,
    ref_logps: torch.Tensor,
    desirable: torch.Tensor,
    reference_point,
    beta: float = 0.1,
    lambda_desirable: float = 1.0,
    lambda_undesirable: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """KTO loss (Ethayarajh et al. 2024), extends eq. (4.5.21): unpaired answers marked good or bad.

    With ``r = log pi(y) - log ref(y)`` and the reference point ``z0`` (an
    estimate of KL(pi || ref) >= 0, treated as a constant):
    ``lambda_D (1 - sigma(beta (r - z0)))`` for a desirable answer,
    ``lambda_U (1 - sigma(beta (z0 - r)))`` for an undesirable one. Each term is
    bounded in ``[0, lambda_D]`` or ``[0, lambda_U]``. policy_logps, ref_logps, desirable (bool):
    ``(batch,)``; reference_point: a number or 0-d tensor (detached here).
    """
    check_reduction(reduction)
    beta = check_beta(beta)
    lambda_d = _check_nonnegative("lambda_desirable", lambda_desirable)
    lambda_u = _check_nonnegative("lambda_undesirable", lambda_undesirable)
    _check_same_shape(policy_logps=policy_logps, ref_logps=ref_logps)
    if not isinstance(desirable, torch.Tensor) or desirable.dtype != torch.bool:
        got = getattr(desirable, "dtype", type(desirable).__name__)
        raise ValueError(f"desirable must be a bool tensor, got {got}")
    if desirable.shape != policy_logps.shape:
        raise ValueError(f"desirable must have shape {tuple(policy_logps.shape)}, got {tuple(desirable.shape)}")
    acc = accumulation_dtype(policy_logps.dtype)
    z0 = torch.as_tensor(reference_point, dtype=acc, device=policy_logps.device).detach()
    if z0.numel() != 1 or not bool(torch.isfinite(z0)) or bool(z0 < 0):
        raise ValueError(f"reference_point must be one finite number >= 0 (a KL estimate), got {reference_point!r}")
    r = policy_logps.to(acc) - ref_logps.to(acc)
    value = torch.where(
        desirable, lambda_d * torch.sigmoid(beta * (r - z0)), lambda_u * torch.sigmoid(beta * (z0 - r))
    )
    weight = torch.where(desirable, torch.full_like(r, lambda_d), torch.full_like(r, lambda_u))
    return apply_reduction(weight - value, reduction)


def rpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    chosen_lengths: torch.Tensor,
    beta: float = 0.1,
    alpha: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """RPO loss (Pang et al. 2024), extends eq. (4.5.21): the chosen answer's NLL plus alpha times DPO.

    ``-log pi(y+) / |y+| + alpha l(beta h)``: the likelihood term anchors the
    chosen answer, which plain DPO may push down. Inputs as ``dpo_loss``;
    chosen_lengths ``(batch,)``, token counts >= 1 (ones: unnormalised NLL).
    """
    check_reduction(reduction)
    alpha = _check_nonnegative("alpha", alpha)
    n_chosen = _check_lengths("chosen_lengths", chosen_lengths, policy_chosen_logps)
    dpo_terms = dpo_loss(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta, reduction="none"
    )
    nll = -policy_chosen_logps.to(dpo_terms.dtype) / n_chosen
    return apply_reduction(nll + alpha * dpo_terms, reduction)


def dpop_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    lam: float = 50.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """DPO-Positive loss (Pal et al. 2024), extends eq. (4.5.21): a penalty once pi(y+) < ref(y+).

    ``-log sigma(beta (h - lam max(0, log ref(y+) - log pi(y+))))``: DPO while
    the chosen answer keeps at least its reference log-prob. Inputs as ``dpo_loss``.
    """
    check_reduction(reduction)
    beta = check_beta(beta)
    lam = _check_nonnegative("lam", lam)
    h = log_ratio_margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    shortfall = torch.clamp(ref_chosen_logps.to(h.dtype) - policy_chosen_logps.to(h.dtype), min=0)
    return apply_reduction(-F.logsigmoid(beta * (h - lam * shortfall)), reduction)
