"""RLHF losses, section 4.5.4, equations (4.5.14)-(4.5.20).

Supervised fine-tuning, eq. (4.5.13), needs no helper of its own: it is
``llmloss.lm.lm_loss`` with the prompt's targets masked out
(``llmloss.lm.prefix_loss_mask``).

Policies over a finite action (response) set are probability tensors whose
entries along ``dim`` sum to 1; rewards have the same shape. Everything that
involves ``exp(r / beta)`` is computed in log space, so rewards of any finite
size give finite results.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from llmloss.lm import accumulation_dtype, apply_reduction, as_bool_mask, check_reduction

SIMPLEX_TOL = 1e-5
"""How far the entries of a policy may sum away from 1 along ``dim``."""


# ---------------------------------------------------------------- input checks


def _check_float(name: str, x) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"{name} must be a floating tensor, got {type(x).__name__} {getattr(x, 'dtype', '')}")


def _check_same_shape(**tensors: torch.Tensor) -> None:
    names = list(tensors)
    first = tensors[names[0]]
    for name in names[1:]:
        if tensors[name].shape != first.shape:
            raise ValueError(
                f"{name} must have the shape of {names[0]} {tuple(first.shape)}, got {tuple(tensors[name].shape)}"
            )


def check_beta(beta):
    """Validate the KL weight beta > 0 of eq. (4.5.16) and return it as a Python number or a 0-d tensor.

    A one-element tensor is reshaped to 0-d, so that a ``beta`` of shape
    ``(1,)`` or ``(1, 1)`` cannot silently broadcast the result to a new shape.
    """
    value = beta
    if isinstance(beta, torch.Tensor):
        if beta.numel() != 1:
            raise ValueError(f"beta must be a scalar, got shape {tuple(beta.shape)}")
        value = beta.item()
        beta = beta.reshape(())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"beta must be a positive number, got {type(value).__name__}")
    if not (value > 0 and value < float("inf")):
        raise ValueError(f"beta must be positive and finite, got {value}")
    return beta


def _check_dim(dim: int, x: torch.Tensor) -> None:
    if x.dim() == 0 or not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} is out of range for a tensor of shape {tuple(x.shape)}")


def _check_distribution(name: str, p: torch.Tensor, dim: int) -> None:
    """Non-negative entries summing to 1 (within ``SIMPLEX_TOL``) along ``dim``."""
    _check_float(name, p)
    _check_dim(dim, p)
    if p.shape[dim] == 0:
        raise ValueError(f"{name} must have at least one action along dim={dim}")
    if not bool(torch.isfinite(p).all()):
        raise ValueError(f"{name} must be finite")
    if bool((p < 0).any()):
        raise ValueError(f"{name} has negative entries; a policy must be a probability distribution")
    if p.numel() and bool(((p.sum(dim) - 1).abs() > SIMPLEX_TOL).any()):
        raise ValueError(f"{name} must sum to 1 along dim={dim} (tolerance {SIMPLEX_TOL:g})")


def _policy_inputs(pi_ref, reward, beta, dim):
    """Validate the inputs of (4.5.17)-(4.5.19); return beta (see ``check_beta``)."""
    _check_distribution("pi_ref", pi_ref, dim)
    _check_float("reward", reward)
    _check_same_shape(pi_ref=pi_ref, reward=reward)
    return check_beta(beta)


# ---------------------------------------------------------------- reward model


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Reward-model loss, eq. (4.5.14): ``-log sigmoid(r+ - r-)``.

    r_chosen, r_rejected: ``(...)`` rewards of the preferred and the rejected
    response, same shape. Computed with ``logsigmoid``, so reward gaps of any
    finite size (1e4 and beyond) give a finite loss and gradient. ``"mean"`` of
    no pairs is 0.
    """
    check_reduction(reduction)
    _check_float("r_chosen", r_chosen)
    _check_float("r_rejected", r_rejected)
    _check_same_shape(r_chosen=r_chosen, r_rejected=r_rejected)
    acc = accumulation_dtype(r_chosen.dtype)
    return apply_reduction(-F.logsigmoid(r_chosen.to(acc) - r_rejected.to(acc)), reduction)


# ---------------------------------------------------------------- KL-regularised objective and its optimum


def kl_regularized_objective(
    pi: torch.Tensor, pi_ref: torch.Tensor, reward: torch.Tensor, beta: float, dim: int = -1
) -> torch.Tensor:
    """KL-regularised objective of one prompt, eq. (4.5.17).

    ``sum_y pi(y) r(y) - beta * sum_y pi(y) log(pi(y) / pi_ref(y))``.

    pi, pi_ref: policies ``(..., A, ...)``, distributions along ``dim``;
    reward: same shape. Returns the shape with ``dim`` removed. Uses
    ``0 log 0 = 0`` (``xlogy``); it is ``-inf`` where ``pi`` puts mass on an
    action that ``pi_ref`` excludes (the KL divergence is infinite there).
    """
    _check_distribution("pi", pi, dim)
    beta = _policy_inputs(pi_ref, reward, beta, dim)
    _check_same_shape(pi=pi, pi_ref=pi_ref)
    kl = (torch.xlogy(pi, pi) - torch.xlogy(pi, pi_ref)).sum(dim)
    return (pi * reward).sum(dim) - beta * kl


def log_partition(pi_ref: torch.Tensor, reward: torch.Tensor, beta: float, dim: int = -1) -> torch.Tensor:
    """log Z of eq. (4.5.19): ``log sum_y pi_ref(y) exp(r(y) / beta)``.

    pi_ref: ``(..., A, ...)`` distribution along ``dim``; reward: same shape.
    Returns the shape with ``dim`` removed, by ``logsumexp`` (finite for
    ``r / beta`` of 1e4; actions with ``pi_ref = 0`` contribute nothing).
    ``beta * log_partition`` is the optimal value of eq. (4.5.17).
    """
    beta = _policy_inputs(pi_ref, reward, beta, dim)
    return torch.logsumexp(torch.log(pi_ref) + reward / beta, dim=dim)


def log_optimal_policy(pi_ref: torch.Tensor, reward: torch.Tensor, beta: float, dim: int = -1) -> torch.Tensor:
    """log pi*, eq. (4.5.19): ``log pi_ref(y) + r(y) / beta - log Z``.

    Same shapes as ``pi_ref``; ``-inf`` exactly where ``pi_ref = 0``.
    """
    beta = _policy_inputs(pi_ref, reward, beta, dim)
    return torch.log_softmax(torch.log(pi_ref) + reward / beta, dim=dim)


def optimal_policy(pi_ref: torch.Tensor, reward: torch.Tensor, beta: float, dim: int = -1) -> torch.Tensor:
    """Optimal KL-regularised policy, eq. (4.5.18): ``pi_ref exp(r / beta) / Z``.

    pi_ref: ``(..., A, ...)`` distribution along ``dim``; reward: same shape;
    beta > 0. Returns a distribution of the same shape, computed in log space
    (a softmax of ``log pi_ref + r / beta``): finite for ``r / beta`` of 1e4,
    and 0 for actions with ``pi_ref = 0``.
    """
    return log_optimal_policy(pi_ref, reward, beta, dim).exp()


# ---------------------------------------------------------------- PPO


def ppo_clip_loss(
    logp_new: torch.Tensor,
    logp_old: torch.Tensor,
    advantages: torch.Tensor,
    clip_eps: float = 0.2,
    reduction: str = "mean",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Negated clipped surrogate of PPO, eq. (4.5.20).

    ``-min(rho A, clip(rho, 1 - eps, 1 + eps) A)`` with the ratio
    ``rho = exp(logp_new - logp_old)``. logp_new: ``(...)`` log-probabilities of
    the sampled actions under the current policy (carries the gradient);
    logp_old: same shape, under the policy that *sampled* them; advantages:
    same shape; mask: optional, same shape, bool or 0/1, True where a sample
    (token) counts: padding contributes exactly 0 to the loss and its gradient,
    whatever its log-probabilities (-inf, -1e9, NaN), and ``"mean"`` divides by
    the number of counted samples (0 when there are none).

    Computed as ``A * min(rho, 1 + eps)`` for A > 0 and ``A * max(rho, 1 - eps)``
    for A < 0 (the same function), with the log-ratio capped *before* the
    exponential: outside the trust region the term is constant with a zero
    gradient, never ``0 * inf = NaN``, however large the ratio. A zero advantage
    gives a zero term. (For A < 0 the objective itself grows without bound in
    rho, so a ratio beyond the dtype's range gives an infinite loss there.)
    Half-precision inputs are computed and returned in float32.
    """
    check_reduction(reduction)
    for name, x in (("logp_new", logp_new), ("logp_old", logp_old), ("advantages", advantages)):
        _check_float(name, x)
    _check_same_shape(logp_new=logp_new, logp_old=logp_old, advantages=advantages)
    if isinstance(clip_eps, bool) or not isinstance(clip_eps, (int, float)) or not clip_eps >= 0:
        raise ValueError(f"clip_eps must be a number >= 0, got {clip_eps!r}")
    acc = accumulation_dtype(logp_new.dtype)
    log_ratio = logp_new.to(acc) - logp_old.to(acc)
    advantages = advantages.to(acc)
    if mask is not None:
        mask = as_bool_mask("mask", mask, logp_new.shape)
        zero = torch.zeros((), dtype=acc, device=log_ratio.device)
        log_ratio, advantages = torch.where(mask, log_ratio, zero), torch.where(mask, advantages, zero)
    upper = math.log1p(clip_eps)
    lower = math.log1p(-clip_eps) if clip_eps < 1 else -math.inf
    bounded = torch.where(advantages > 0, log_ratio.clamp(max=upper), log_ratio.clamp(min=lower))
    surrogate = advantages * bounded.exp()
    surrogate = torch.where(advantages == 0, torch.zeros_like(surrogate), surrogate)
    return apply_reduction(-surrogate, reduction, mask=mask)


class KLEstimates(NamedTuple):
    """Per-sample estimators of KL(pi || pi_ref) from samples of pi."""

    k1: torch.Tensor
    k2: torch.Tensor
    k3: torch.Tensor


def kl_estimators(logp: torch.Tensor, logp_ref: torch.Tensor) -> KLEstimates:
    """Schulman's estimators of KL(pi || pi_ref), the penalty of eqs. (4.5.15)-(4.5.17).

    logp, logp_ref: ``(...)`` log pi(y) and log pi_ref(y) of samples y ~ pi.
    With ``log w = logp_ref - logp`` (w = pi_ref / pi), per sample:
    ``k1 = -log w`` (unbiased), ``k2 = (log w)^2 / 2`` (biased, small variance),
    ``k3 = (w - 1) - log w`` (unbiased, >= 0, accurate to full relative
    precision also for ``w`` near 1, where it is about ``(log w)^2 / 2``).
    """
    _check_float("logp", logp)
    _check_float("logp_ref", logp_ref)
    _check_same_shape(logp=logp, logp_ref=logp_ref)
    log_w = logp_ref - logp
    return KLEstimates(k1=-log_w, k2=0.5 * log_w.square(), k3=_exp_minus_one_minus(log_w))


_K3_SERIES_BELOW = 1e-2
"""Below this abs(log w), k3 is evaluated by its Taylor series (see ``_exp_minus_one_minus``)."""


def _exp_minus_one_minus(u: torch.Tensor) -> torch.Tensor:
    """``exp(u) - 1 - u`` to full relative precision, also for tiny ``abs(u)``.

    ``expm1(u) - u`` cancels to ``u^2 / 2`` and loses ``log10(2 / abs(u))``
    digits (about 6 at ``u = 1e-10``). For ``abs(u) < 1e-2`` the Taylor series
    ``u^2/2 + u^3/6 + ... + u^7/5040`` is used instead (truncation error
    below ``u^6 / 20160``, i.e. 5e-17 relative); elsewhere the cancellation
    costs at most two to three digits.
    """
    small = u.abs() < _K3_SERIES_BELOW
    v = torch.where(small, u, torch.zeros_like(u))  # keep the unused branch finite, also for autograd
    series = v.square() * (0.5 + v * (1 / 6 + v * (1 / 24 + v * (1 / 120 + v * (1 / 720 + v / 5040)))))
    return torch.where(small, series, torch.expm1(u) - u)


# ---------------------------------------------------------------- sequence-level PPO: token rewards and GAE


def _check_unit_interval(name: str, x) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 <= x <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {x!r}")
    return float(x)


def _check_response_mask(mask, shape) -> torch.Tensor:
    """A bool ``(B, T)`` mask of right-padded responses: each row is ones, then zeros, with >= 1 one."""
    mask = as_bool_mask("mask", mask, shape)
    if not bool(mask[..., 0].all()):
        raise ValueError("mask must count the first token of every response (no empty responses)")
    if bool((mask[..., 1:] & ~mask[..., :-1]).any()):
        raise ValueError("mask must be right-padded: ones, then zeros, along the last dim")
    return mask


def token_rewards(
    score: torch.Tensor,
    logp: torch.Tensor,
    logp_ref: torch.Tensor,
    beta: float,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-token rewards of the KL-penalised objective, eq. (4.5.15), as PPO uses them.

    ``rewards[b, t] = -beta * (logp[b, t] - logp_ref[b, t])`` (``-beta * k1`` of
    the sampled token), plus the reward model's ``score[b]`` at the last
    counted token of response ``b``. score: ``(B,)``; logp, logp_ref:
    ``(B, T)`` log-probabilities of the sampled tokens under the sampling policy
    and the reference; mask: optional ``(B, T)``, right-padded (True for the
    response's tokens). Padding gets reward 0. Summed over ``t``, the rewards are
    ``score - beta * log(pi(y | x) / pi_ref(y | x))``, the per-sample value of
    eq. (4.5.17) for the whole response.
    """
    for name, x in (("score", score), ("logp", logp), ("logp_ref", logp_ref)):
        _check_float(name, x)
    if logp.dim() != 2 or logp.shape[1] == 0:
        raise ValueError(f"logp must have shape (B, T) with T >= 1, got {tuple(logp.shape)}")
    _check_same_shape(logp=logp, logp_ref=logp_ref)
    if score.shape != logp.shape[:1]:
        raise ValueError(f"score must have shape {tuple(logp.shape[:1])}, got {tuple(score.shape)}")
    beta = check_beta(beta)
    if mask is None:
        mask = torch.ones(logp.shape, dtype=torch.bool, device=logp.device)
    mask = _check_response_mask(mask, logp.shape)
    zero = torch.zeros((), dtype=logp.dtype, device=logp.device)
    rewards = torch.where(mask, -beta * (logp - logp_ref), zero)
    last = mask.sum(-1) - 1  # index of each response's last token
    return rewards.scatter_add(1, last[:, None], score[:, None].to(rewards.dtype))


class AdvantageEstimates(NamedTuple):
    """Advantages and value targets of ``gae``."""

    advantages: torch.Tensor
    returns: torch.Tensor


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 1.0,
    mask: torch.Tensor | None = None,
) -> AdvantageEstimates:
    """Generalised advantage estimation of the advantages A_t in eq. (4.5.20).

    ``A_t = sum_k (gamma lam)^k delta_{t+k}`` with the temporal-difference
    errors ``delta_t = r_t + gamma V(s_{t+1}) - V(s_t)`` and ``V = 0`` after the
    last token (the episode ends with the response) {Schulman et al. 2016}.
    rewards, values: ``(B, T)``, ``values[b, t]`` the value of the state before
    token t; mask: optional ``(B, T)`` right-padded response mask. Returns
    ``advantages`` and ``returns = advantages + values`` (the value targets),
    both 0 at padding. ``lam = 1`` gives the Monte Carlo return minus the value,
    ``lam = 0`` the one-step error delta_t.
    """
    _check_float("rewards", rewards)
    _check_float("values", values)
    if rewards.dim() != 2 or rewards.shape[1] == 0:
        raise ValueError(f"rewards must have shape (B, T) with T >= 1, got {tuple(rewards.shape)}")
    _check_same_shape(rewards=rewards, values=values)
    gamma = _check_unit_interval("gamma", gamma)
    lam = _check_unit_interval("lam", lam)
    if mask is None:
        mask = torch.ones(rewards.shape, dtype=torch.bool, device=rewards.device)
    mask = _check_response_mask(mask, rewards.shape)
    zero = torch.zeros((), dtype=rewards.dtype, device=rewards.device)
    rewards, values = torch.where(mask, rewards, zero), torch.where(mask, values, zero)
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[:, 0])
    next_advantage = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        next_advantage = torch.where(mask[:, t], delta + gamma * lam * next_advantage, zero)
        advantages[:, t] = next_advantage
        next_value = values[:, t]
    return AdvantageEstimates(advantages, advantages + values)
