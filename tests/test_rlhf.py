"""Tests of llmloss.rlhf: Bradley-Terry loss, the KL-regularised objective and
its optimum, the PPO clipped loss and the KL estimators (section 4.5.4,
eqs. (4.5.14)-(4.5.20))."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from llmloss.rlhf import (
    SIMPLEX_TOL,
    bradley_terry_loss,
    kl_estimators,
    kl_regularized_objective,
    log_optimal_policy,
    log_partition,
    optimal_policy,
    ppo_clip_loss,
)

D = torch.float64


def _t(*values):
    return torch.tensor(values, dtype=D)


def _policy(shape, seed=0, dtype=D):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)


def _randn(shape, seed=1, dtype=D):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ---------------------------------------------------------------- bradley_terry_loss


def test_bt_known_values():
    # gap 0 -> log 2; gap log 3 -> P(chosen) = 3/4; gap -log 3 -> P = 1/4.
    loss = bradley_terry_loss(_t(0.0, math.log(3), -math.log(3)), _t(0.0, 0.0, 0.0), reduction="none")
    assert torch.allclose(loss, _t(math.log(2), math.log(4 / 3), math.log(4)), atol=1e-15)


def test_bt_equals_bce_with_label_one():
    rc, rr = _randn((50,), 1), _randn((50,), 2)
    expected = F.binary_cross_entropy_with_logits(rc - rr, torch.ones(50, dtype=D))
    assert torch.allclose(bradley_terry_loss(rc, rr), expected, atol=1e-14)


def test_bt_reductions_and_empty():
    rc, rr = _randn((3, 4), 1), _randn((3, 4), 2)
    none = bradley_terry_loss(rc, rr, reduction="none")
    assert none.shape == (3, 4)
    assert torch.allclose(bradley_terry_loss(rc, rr, reduction="sum"), none.sum())
    assert torch.allclose(bradley_terry_loss(rc, rr), none.mean())
    empty = torch.zeros(0, dtype=D)
    assert bradley_terry_loss(empty, empty).item() == 0.0


def test_bt_extreme_gaps_are_finite():
    rc = _t(1e4, -1e4, 1e300)
    rr = _t(0.0, 0.0, -1e300)
    rc.requires_grad_()
    loss = bradley_terry_loss(rc, rr, reduction="none")
    assert torch.isfinite(loss).all()
    assert torch.allclose(loss[:2], _t(0.0, 1e4))
    loss.sum().backward()
    assert torch.isfinite(rc.grad).all()
    assert torch.allclose(rc.grad, _t(0.0, -1.0, 0.0))


def test_bt_float32_dtype_device():
    rc, rr = _randn((5,), 1, torch.float32), _randn((5,), 2, torch.float32)
    out = bradley_terry_loss(rc, rr)
    assert out.dtype == torch.float32 and out.device == rc.device


def test_bt_gradcheck():
    rc = _randn((6,), 3).requires_grad_()
    rr = _randn((6,), 4).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: bradley_terry_loss(a, b), (rc, rr))


@settings(max_examples=50, deadline=None)
@given(st.floats(-50, 50), st.floats(-50, 50), st.floats(-50, 50))
def test_bt_invariant_to_common_shift(a, b, c):
    base = bradley_terry_loss(_t(a), _t(b))
    shifted = bradley_terry_loss(_t(a + c), _t(b + c))
    assert abs(base.item() - shifted.item()) < 1e-9


def test_bt_bad_input():
    with pytest.raises(ValueError, match="r_rejected"):
        bradley_terry_loss(_t(1.0, 2.0), _t(1.0))
    with pytest.raises(ValueError, match="r_chosen"):
        bradley_terry_loss(torch.tensor([1, 2]), _t(1.0, 2.0))
    with pytest.raises(ValueError, match="reduction"):
        bradley_terry_loss(_t(1.0), _t(1.0), reduction="avg")


# ---------------------------------------------------------------- optimal policy, log Z, objective


def test_optimal_policy_known_case():
    # uniform reference, r = beta * (0, log 2, log 3): pi* = (1, 2, 3) / 6, Z = 2.
    beta = 0.7
    q = _t(1 / 3, 1 / 3, 1 / 3)
    r = beta * _t(0.0, math.log(2), math.log(3))
    assert torch.allclose(optimal_policy(q, r, beta), _t(1 / 6, 2 / 6, 3 / 6), atol=1e-15)
    assert abs(log_partition(q, r, beta).item() - math.log(2)) < 1e-15


def test_optimal_policy_matches_formula_and_log_space():
    q, r = _policy((4, 5), 0), _randn((4, 5), 1)
    beta = 0.3
    unnorm = q * torch.exp(r / beta)
    assert torch.allclose(optimal_policy(q, r, beta), unnorm / unnorm.sum(-1, keepdim=True), atol=1e-14)
    assert torch.allclose(log_partition(q, r, beta), unnorm.sum(-1).log(), atol=1e-13)
    log_pi = log_optimal_policy(q, r, beta)
    assert torch.allclose(log_pi, q.log() + r / beta - log_partition(q, r, beta)[:, None], atol=1e-13)


def test_optimal_policy_dim_argument():
    q, r = _policy((3, 4), 2), _randn((3, 4), 3)
    a = optimal_policy(q.T, r.T, 1.5, dim=0)
    assert torch.allclose(a.T, optimal_policy(q, r, 1.5))
    assert torch.allclose(log_partition(q.T, r.T, 1.5, dim=0), log_partition(q, r, 1.5))


def test_optimal_policy_extreme_reward_and_zero_reference():
    q = _t(0.25, 0.25, 0.5, 0.0)
    r = _t(1e4, 0.0, -1e4, 1e6)  # the excluded action has the largest reward
    pi = optimal_policy(q, r, 1.0)
    assert torch.isfinite(pi).all()
    assert torch.equal(pi, _t(1.0, 0.0, 0.0, 0.0))
    assert abs(log_partition(q, r, 1.0).item() - (1e4 + math.log(0.25))) < 1e-9
    q2 = _t(0.5, 0.5, 0.0)
    assert optimal_policy(q2, _t(1.0, 2.0, 3.0), 2.0)[2].item() == 0.0


def test_optimal_policy_limits():
    q, r = _t(0.5, 0.3, 0.2), _t(1.0, 3.0, 2.0)
    assert torch.allclose(optimal_policy(q, r, 1e-3), _t(0.0, 1.0, 0.0), atol=1e-12)
    assert torch.allclose(optimal_policy(q, r, 1e9), q, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.05, 20.0))
def test_optimal_policy_maximises_objective(seed, beta):
    q, r = _policy((5,), seed), _randn((5,), seed + 1)
    pi_star = optimal_policy(q, r, beta)
    best = kl_regularized_objective(pi_star, q, r, beta)
    assert abs(best.item() - beta * log_partition(q, r, beta).item()) < 1e-9 * max(1.0, abs(best.item()))
    for k in range(5):
        other = _policy((5,), seed + 100 + k)
        assert kl_regularized_objective(other, q, r, beta) <= best + 1e-12


def test_objective_known_values_and_zero_log_zero():
    q = _t(0.5, 0.5)
    r = _t(1.0, 0.0)
    # pi = q: no KL, value = expected reward 0.5.
    assert abs(kl_regularized_objective(q, q, r, 2.0).item() - 0.5) < 1e-15
    # pi = (1, 0): reward 1, KL = log 2, 0 log 0 = 0.
    val = kl_regularized_objective(_t(1.0, 0.0), q, r, 2.0)
    assert abs(val.item() - (1.0 - 2.0 * math.log(2))) < 1e-15
    # pi puts mass where pi_ref has none: infinite KL.
    assert kl_regularized_objective(_t(0.5, 0.5), _t(1.0, 0.0), r, 1.0).item() == -math.inf


def test_objective_shape_and_gradcheck():
    q, r = _policy((2, 3), 4), _randn((2, 3), 5)
    assert kl_regularized_objective(q, q, r, 1.0).shape == (2,)
    logits = _randn((3,), 6).requires_grad_()
    q1, r1 = q[0], r[0]
    assert torch.autograd.gradcheck(lambda z: kl_regularized_objective(torch.softmax(z, -1), q1, r1, 0.5), (logits,))
    rr = r1.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda x: log_partition(q1, x, 0.5), (rr,))
    assert torch.autograd.gradcheck(lambda x: optimal_policy(q1, x, 0.5), (rr,))


def test_policy_bad_input():
    q, r = _t(0.5, 0.5), _t(1.0, 2.0)
    for f in (optimal_policy, log_partition, log_optimal_policy):
        with pytest.raises(ValueError, match="beta"):
            f(q, r, 0.0)
        with pytest.raises(ValueError, match="beta"):
            f(q, r, -1.0)
        with pytest.raises(ValueError, match="beta"):
            f(q, r, float("inf"))
        with pytest.raises(ValueError, match="pi_ref"):
            f(_t(1.5, -0.5), r, 1.0)
        with pytest.raises(ValueError, match="pi_ref"):
            f(_t(0.5, 0.5 + 10 * SIMPLEX_TOL), r, 1.0)
        with pytest.raises(ValueError, match="reward"):
            f(q, _t(1.0, 2.0, 3.0), 1.0)
        with pytest.raises(ValueError, match="dim"):
            f(q, r, 1.0, dim=3)
    with pytest.raises(ValueError, match="^pi must sum to 1"):
        kl_regularized_objective(_t(0.7, 0.7), q, r, 1.0)
    with pytest.raises(ValueError, match="^pi has negative entries"):
        kl_regularized_objective(_t(1.2, -0.2), q, r, 1.0)
    with pytest.raises(ValueError, match="^pi_ref must have the shape of pi"):
        kl_regularized_objective(_t(0.2, 0.3, 0.5), _t(0.5, 0.5), r, 1.0)
    with pytest.raises(ValueError, match="pi_ref"):
        kl_regularized_objective(q, _t(0.2, 0.3), r, 1.0)
    with pytest.raises(ValueError, match="pi_ref"):
        kl_regularized_objective(q, _t(0.2, 0.3, 0.5), _t(1.0, 2.0, 3.0), 1.0)
    with pytest.raises(ValueError, match="beta"):
        kl_regularized_objective(q, q, r, 0)
    with pytest.raises(ValueError, match="beta"):
        kl_regularized_objective(q, q, r, torch.ones(2))
    # within the tolerance is accepted
    optimal_policy(_t(0.5, 0.5 + SIMPLEX_TOL / 10), r, 1.0)


def test_tensor_beta_does_not_broadcast():
    q, r = _t(0.2, 0.3, 0.5), _t(1.0, -1.0, 0.5)
    for beta in (torch.tensor(0.7, dtype=D), torch.tensor([0.7], dtype=D), torch.tensor([[0.7]], dtype=D)):
        assert optimal_policy(q, r, beta).shape == (3,)
        assert log_partition(q, r, beta).shape == ()
        assert kl_regularized_objective(q, q, r, beta).shape == ()
        assert torch.allclose(optimal_policy(q, r, beta), optimal_policy(q, r, 0.7), atol=1e-15)
    with pytest.raises(ValueError, match="beta"):
        optimal_policy(q, r, torch.tensor([-0.7]))


# ---------------------------------------------------------------- ppo_clip_loss


def test_ppo_hand_values():
    eps = 0.2
    ratios = _t(0.5, 1.0, 1.1, 1.5, 0.5, 1.1, 1.5)
    adv = _t(1.0, 2.0, 1.0, 1.0, -1.0, -1.0, -1.0)
    # A>0: min(rho, 1.2) A; A<0: max(rho, 0.8) A.
    expected = -_t(0.5, 2.0, 1.1, 1.2, -0.8, -1.1, -1.5)
    out = ppo_clip_loss(ratios.log(), torch.zeros(7, dtype=D), adv, eps, reduction="none")
    assert torch.allclose(out, expected, atol=1e-14)
    assert torch.allclose(ppo_clip_loss(ratios.log(), torch.zeros(7, dtype=D), adv, eps), expected.mean())
    assert torch.allclose(ppo_clip_loss(ratios.log(), torch.zeros(7, dtype=D), adv, eps, "sum"), expected.sum())


def test_ppo_gradient_one_sided():
    eps = 0.2
    ratios = _t(0.5, 1.0, 1.5, 0.5, 1.0, 1.5)
    adv = _t(1.0, 1.0, 1.0, -1.0, -1.0, -1.0)
    logp = ratios.log().requires_grad_()
    ppo_clip_loss(logp, torch.zeros(6, dtype=D), adv, eps, reduction="sum").backward()
    # d(-rho A)/d log rho = -rho A where the unclipped branch is active, 0 where clipped.
    expected = _t(-0.5, -1.0, 0.0, 0.0, 1.0, 1.5)
    assert torch.allclose(logp.grad, expected, atol=1e-14)


def test_ppo_at_old_policy_is_policy_gradient():
    logp_old = _randn((8,), 7)
    adv = _randn((8,), 8)
    logp = logp_old.clone().requires_grad_()
    loss = ppo_clip_loss(logp, logp_old, adv)
    assert abs(loss.item() + adv.mean().item()) < 1e-14
    loss.backward()
    assert torch.allclose(logp.grad, -adv / 8, atol=1e-15)


def test_ppo_zero_eps_zero_adv_empty_extreme():
    assert ppo_clip_loss(_t(0.3), _t(0.0), _t(2.0), clip_eps=0.0).item() == pytest.approx(-2.0)
    out = ppo_clip_loss(_t(1000.0, -1000.0), _t(0.0, 0.0), _t(0.0, 0.0), reduction="none")
    assert torch.equal(out, torch.zeros(2, dtype=D))
    big = ppo_clip_loss(_t(1000.0), _t(0.0), _t(1.0))
    assert big.item() == pytest.approx(-1.2)
    e = torch.zeros(0, dtype=D)
    assert ppo_clip_loss(e, e, e).item() == 0.0


def test_ppo_gradcheck():
    logp_old = _randn((6,), 9)
    adv = _randn((6,), 10)
    # ratios well away from the clip boundaries, where the surrogate is differentiable
    logp = (logp_old + _t(-0.9, -0.5, 0.0, 0.05, 0.5, 0.9)).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: ppo_clip_loss(x, logp_old, adv), (logp,))


@settings(max_examples=50, deadline=None)
@given(st.floats(-3, 3), st.floats(-5, 5), st.floats(0, 0.9))
def test_ppo_is_pessimistic(log_ratio, adv, eps):
    # the clipped surrogate never exceeds the unclipped one: loss >= -rho A
    loss = ppo_clip_loss(_t(log_ratio), _t(0.0), _t(adv), eps).item()
    assert loss >= -math.exp(log_ratio) * adv - 1e-12


def test_ppo_bad_input():
    x = _t(0.0, 0.0)
    with pytest.raises(ValueError, match="clip_eps"):
        ppo_clip_loss(x, x, x, clip_eps=-0.1)
    with pytest.raises(ValueError, match="advantages"):
        ppo_clip_loss(x, x, _t(1.0))
    with pytest.raises(ValueError, match="logp_old"):
        ppo_clip_loss(x, _t(0.0), x)
    with pytest.raises(ValueError, match="logp_new"):
        ppo_clip_loss(torch.zeros(2, dtype=torch.long), x, x)
    with pytest.raises(ValueError, match="reduction"):
        ppo_clip_loss(x, x, x, reduction="batchmean")


# ---------------------------------------------------------------- kl_estimators


def test_kl_estimators_known_values():
    # pi(y) = 1/2, pi_ref(y) = 1/4: log w = -log 2.
    k = kl_estimators(_t(math.log(0.5)), _t(math.log(0.25)))
    assert k.k1.item() == pytest.approx(math.log(2), abs=1e-15)
    assert k.k2.item() == pytest.approx(0.5 * math.log(2) ** 2, abs=1e-15)
    assert k.k3.item() == pytest.approx(-0.5 + math.log(2), abs=1e-15)


def test_kl_estimators_exact_expectations():
    # E_pi[k1] = E_pi[k3] = KL(pi || pi_ref) exactly; E_pi[k2] differs.
    pi, ref = _policy((6,), 11), _policy((6,), 12)
    k = kl_estimators(pi.log(), ref.log())
    kl = (pi * (pi / ref).log()).sum()
    assert abs((pi * k.k1).sum() - kl) < 1e-14
    assert abs((pi * k.k3).sum() - kl) < 1e-14
    assert abs((pi * k.k2).sum() - kl) > 1e-6
    assert (k.k3 >= 0).all()


def test_kl_estimators_k3_full_precision():
    # k3 = exp(u) - 1 - u against 50-digit mpmath, across the series/expm1 switch at abs(u) = 1e-2;
    # a plain expm1(u) - u is off by ~7e-7 (relative) at u = 1e-10.
    import mpmath

    mpmath.mp.dps = 50
    us = [1e-10, -1e-10, 3e-8, -2e-6, 1e-4, 9.9e-3, -9.9e-3, 1.01e-2, -1.01e-2, 0.3, -2.0, 5.0, -40.0]
    k3 = kl_estimators(torch.zeros(len(us), dtype=D), _t(*us)).k3
    for u, got in zip(us, k3.tolist(), strict=True):
        exact = float(mpmath.expm1(mpmath.mpf(u)) - mpmath.mpf(u))
        assert got == pytest.approx(exact, rel=1e-13), u
    assert kl_estimators(_t(0.0), _t(0.0)).k3.item() == 0.0


def test_kl_estimators_gradcheck():
    # gradients through both branches of k3 (series near w = 1, expm1 elsewhere)
    lp = _t(-1.2, -0.7, -0.3, -2.0).requires_grad_()
    lr = (lp.detach() + _t(1e-3, -4e-3, 0.5, -1.5)).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: torch.stack(list(kl_estimators(a, b))), (lp, lr))


def test_kl_estimators_bad_input():
    with pytest.raises(ValueError, match="logp_ref"):
        kl_estimators(_t(0.0, 0.0), _t(0.0))
    with pytest.raises(ValueError, match="logp"):
        kl_estimators(torch.zeros(2, dtype=torch.long), _t(0.0, 0.0))


# ---------------------------------------------------------------- token_rewards and gae (sequence-level PPO)


def test_token_rewards_values_and_sequence_sum():
    from llmloss.rlhf import token_rewards

    logp, logp_ref = _randn((4, 5), 30), _randn((4, 5), 31)
    score = _randn((4,), 32)
    beta = 0.3
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 0]], dtype=torch.bool)
    rew = token_rewards(score, logp, logp_ref, beta, mask)
    assert torch.equal(rew[~mask], torch.zeros(int((~mask).sum()), dtype=D))
    # summed over the tokens: score - beta * (sequence log-ratio), the per-sample value of (4.5.17)
    seq_log_ratio = ((logp - logp_ref) * mask).sum(-1)
    assert torch.allclose(rew.sum(-1), score - beta * seq_log_ratio, atol=1e-14)
    # the score sits on the last counted token only
    last = mask.sum(-1) - 1
    rows = torch.arange(4)
    assert torch.allclose(rew[rows, last], score - beta * (logp - logp_ref)[rows, last], atol=1e-14)
    full = token_rewards(score, logp, logp_ref, beta)
    assert torch.allclose(full[:, :-1], -beta * (logp - logp_ref)[:, :-1], atol=1e-15)


def test_token_rewards_bad_input():
    from llmloss.rlhf import token_rewards

    lp = torch.zeros(2, 3, dtype=D)
    s = torch.zeros(2, dtype=D)
    with pytest.raises(ValueError, match="beta"):
        token_rewards(s, lp, lp, 0.0)
    with pytest.raises(ValueError, match="score"):
        token_rewards(torch.zeros(3, dtype=D), lp, lp, 1.0)
    with pytest.raises(ValueError, match="logp_ref"):
        token_rewards(s, lp, torch.zeros(2, 4, dtype=D), 1.0)
    with pytest.raises(ValueError, match="logp"):
        token_rewards(s, torch.zeros(2, dtype=D), torch.zeros(2, dtype=D), 1.0)
    with pytest.raises(ValueError, match="mask"):
        token_rewards(s, lp, lp, 1.0, mask=torch.tensor([[1, 0, 1], [1, 1, 1]]))
    with pytest.raises(ValueError, match="mask"):
        token_rewards(s, lp, lp, 1.0, mask=torch.tensor([[0, 0, 0], [1, 1, 1]]))
    with pytest.raises(ValueError, match="mask"):
        token_rewards(s, lp, lp, 1.0, mask=torch.ones(2, 2, dtype=torch.bool))


def _gae_by_definition(rewards, values, gamma, lam):
    """A_t = sum_k (gamma lam)^k delta_{t+k}, written out (no recursion)."""
    B, T = rewards.shape
    nxt = torch.cat([values[:, 1:], torch.zeros(B, 1, dtype=values.dtype)], 1)
    delta = rewards + gamma * nxt - values
    adv = torch.zeros_like(rewards)
    for t in range(T):
        for k in range(T - t):
            adv[:, t] += (gamma * lam) ** k * delta[:, t + k]
    return adv


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0, 1), st.floats(0, 1))
def test_gae_matches_definition(seed, gamma, lam):
    from llmloss.rlhf import gae

    rewards, values = _randn((3, 6), seed), _randn((3, 6), seed + 1)
    out = gae(rewards, values, gamma, lam)
    assert torch.allclose(out.advantages, _gae_by_definition(rewards, values, gamma, lam), atol=1e-12)
    assert torch.allclose(out.returns, out.advantages + values, atol=1e-15)


def test_gae_limits_and_mask():
    from llmloss.rlhf import gae

    rewards, values = _randn((2, 4), 40), _randn((2, 4), 41)
    # lam = 1, gamma = 1: return-to-go minus the value
    togo = rewards.flip(-1).cumsum(-1).flip(-1)
    assert torch.allclose(gae(rewards, values, 1.0, 1.0).advantages, togo - values, atol=1e-14)
    # lam = 0: the one-step TD error
    nxt = torch.cat([values[:, 1:], torch.zeros(2, 1, dtype=D)], 1)
    assert torch.allclose(gae(rewards, values, 0.9, 0.0).advantages, rewards + 0.9 * nxt - values, atol=1e-14)
    # a padded row equals the unpadded shorter row, padding gives 0
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    padded = gae(rewards, values, 0.95, 0.9, mask)
    short = gae(rewards[1:, :2], values[1:, :2], 0.95, 0.9)
    assert torch.allclose(padded.advantages[1, :2], short.advantages[0], atol=1e-14)
    assert torch.equal(padded.advantages[1, 2:], torch.zeros(2, dtype=D))
    assert torch.equal(padded.returns[1, 2:], torch.zeros(2, dtype=D))


def test_gae_bad_input():
    from llmloss.rlhf import gae

    x = torch.zeros(2, 3, dtype=D)
    with pytest.raises(ValueError, match="gamma"):
        gae(x, x, gamma=1.5)
    with pytest.raises(ValueError, match="lam"):
        gae(x, x, lam=-0.1)
    with pytest.raises(ValueError, match="values"):
        gae(x, torch.zeros(2, 4, dtype=D))
    with pytest.raises(ValueError, match="rewards"):
        gae(torch.zeros(3, dtype=D), torch.zeros(3, dtype=D))
    with pytest.raises(ValueError, match="rewards"):
        gae(torch.zeros(2, 3, dtype=torch.long), x)
    with pytest.raises(ValueError, match="mask"):
        gae(x, x, mask=torch.tensor([[1, 0, 1], [1, 1, 1]]))
