"""Tests of llmloss.dpo: sequence log-probs, the DPO loss, the implicit reward,
InfoNCE and IPO (section 4.5.5, eqs. (4.5.21)-(4.5.26))."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from llmloss.dpo import dpo_loss, implicit_reward, info_nce_loss, ipo_loss, log_ratio_margin, sequence_logps

F64 = torch.float64


def _four(n=5, seed=0, dtype=F64, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return [scale * torch.randn(n, generator=g, dtype=dtype) for _ in range(4)]


# ---------------------------------------------------------------- sequence_logps


def test_sequence_logps_is_masked_sum_of_log_softmax():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 4, 6, generator=g, dtype=F64)
    labels = torch.randint(0, 6, (3, 4), generator=g)
    mask = torch.tensor([[0, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 1]], dtype=torch.bool)
    out = sequence_logps(logits, labels, mask)
    expected = torch.stack(
        [sum(torch.log_softmax(logits[b, t], -1)[labels[b, t]] for t in range(4) if mask[b, t]) for b in range(3)]
    )
    assert out.shape == (3,)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-13)


def test_sequence_logps_ignores_labels_outside_mask_and_accepts_01_mask():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 3, 5, generator=g, dtype=F64)
    labels = torch.tensor([[-100, 2, 4], [1, -100, -100]])
    mask = torch.tensor([[0, 1, 1], [1, 0, 0]])
    out = sequence_logps(logits, labels, mask)
    manual = torch.tensor(
        [
            torch.log_softmax(logits[0, 1], -1)[2] + torch.log_softmax(logits[0, 2], -1)[4],
            torch.log_softmax(logits[1, 0], -1)[1],
        ],
        dtype=F64,
    )
    torch.testing.assert_close(out, manual, rtol=0, atol=1e-13)


def test_sequence_logps_empty_mask_is_zero_with_zero_gradient():
    logits = torch.randn(2, 3, 4, dtype=F64, requires_grad=True)
    out = sequence_logps(logits, torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.bool))
    assert torch.equal(out, torch.zeros(2, dtype=F64))
    out.sum().backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_sequence_logps_extreme_logits_finite():
    logits = torch.tensor([[[1e4, -1e4, 0.0]]], dtype=torch.float32)
    out = sequence_logps(logits, torch.tensor([[1]]), torch.tensor([[True]]))
    assert torch.isfinite(out).all() and out.item() == pytest.approx(-2e4, rel=1e-6)


def test_sequence_logps_gradcheck():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 3, 4, generator=g, dtype=F64, requires_grad=True)
    labels = torch.randint(0, 4, (2, 3), generator=g)
    mask = torch.tensor([[1, 1, 0], [0, 1, 1]], dtype=torch.bool)
    assert torch.autograd.gradcheck(lambda z: sequence_logps(z, labels, mask), (logits,))


# ---------------------------------------------------------------- dpo_loss


def test_dpo_loss_against_one_line_formula():
    pc, pr, rc, rr = _four()
    beta = 0.7
    expected = torch.log1p(torch.exp(-beta * ((pc - rc) - (pr - rr))))
    torch.testing.assert_close(dpo_loss(pc, pr, rc, rr, beta=beta, reduction="none"), expected, rtol=1e-13, atol=0)
    torch.testing.assert_close(dpo_loss(pc, pr, rc, rr, beta=beta), expected.mean(), rtol=1e-13, atol=0)
    torch.testing.assert_close(dpo_loss(pc, pr, rc, rr, beta=beta, reduction="sum"), expected.sum())


def test_dpo_loss_hand_value():
    # h = (-1 - -2) - (-3 - -1) = 1 + 2 = 3; beta = 0.5 -> log(1 + e^{-1.5})
    val = dpo_loss(
        torch.tensor([-1.0], dtype=F64),
        torch.tensor([-3.0], dtype=F64),
        torch.tensor([-2.0], dtype=F64),
        torch.tensor([-1.0], dtype=F64),
        beta=0.5,
    )
    assert val.item() == pytest.approx(math.log1p(math.exp(-1.5)), rel=1e-14)


def test_dpo_loss_is_log2_at_reference():
    pc, pr, _, _ = _four(seed=4)
    out = dpo_loss(pc, pr, pc.clone(), pr.clone(), beta=0.3, reduction="none")
    torch.testing.assert_close(out, torch.full_like(out, math.log(2)), rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_dpo_loss_stable_for_huge_gaps(dtype):
    zero = torch.zeros(2, dtype=dtype)
    pc = torch.tensor([1e5, -1e5], dtype=dtype)
    out = dpo_loss(pc, zero, zero, zero, beta=1.0, reduction="none")
    assert out.dtype == dtype and torch.isfinite(out).all()
    assert out[0].item() == 0.0
    assert out[1].item() == pytest.approx(1e5, rel=1e-6)
    x = pc.clone().requires_grad_()
    dpo_loss(x, zero, zero, zero, beta=1.0, reduction="sum").backward()
    assert torch.isfinite(x.grad).all()


def test_dpo_loss_equals_bce_with_logits():
    pc, pr, rc, rr = _four(seed=5)
    h = log_ratio_margin(pc, pr, rc, rr)
    bce = F.binary_cross_entropy_with_logits(0.2 * h, torch.ones_like(h))
    torch.testing.assert_close(dpo_loss(pc, pr, rc, rr, beta=0.2), bce, rtol=1e-13, atol=0)


def test_dpo_loss_gradcheck():
    tensors = [t.requires_grad_() for t in _four(n=4, seed=6)]
    assert torch.autograd.gradcheck(lambda *x: dpo_loss(*x, beta=0.4), tensors)


def test_dpo_loss_empty_batch_is_zero():
    e = torch.zeros(0, dtype=F64)
    assert dpo_loss(e, e, e, e).item() == 0.0


@settings(max_examples=40, deadline=None)
@given(
    h=st.floats(-50, 50, allow_nan=False),
    beta=st.floats(0.01, 5.0),
)
def test_dpo_loss_below_log2_iff_positive_margin(h, beta):
    z = torch.zeros(1, dtype=F64)
    loss = dpo_loss(torch.tensor([h], dtype=F64), z, z, z, beta=beta)
    assert loss.item() >= 0
    if beta * h > 1e-9:
        assert loss.item() < math.log(2)
    elif beta * h < -1e-9:
        assert loss.item() > math.log(2)


@settings(max_examples=30, deadline=None)
@given(shift=st.floats(-20, 20), seed=st.integers(0, 1000))
def test_dpo_loss_invariant_to_common_shift_of_policy_logps(shift, seed):
    pc, pr, rc, rr = _four(seed=seed)
    torch.testing.assert_close(
        dpo_loss(pc + shift, pr + shift, rc, rr, reduction="none"),
        dpo_loss(pc, pr, rc, rr, reduction="none"),
        rtol=1e-9,
        atol=1e-9,
    )


# ---------------------------------------------------------------- implicit reward, InfoNCE, IPO


def test_implicit_reward_and_dpo_as_bradley_terry():
    pc, pr, rc, rr = _four(seed=7)
    beta = 0.25
    rw_c, rw_r = implicit_reward(pc, rc, beta), implicit_reward(pr, rr, beta)
    torch.testing.assert_close(rw_c, beta * (pc - rc))
    torch.testing.assert_close(
        dpo_loss(pc, pr, rc, rr, beta=beta, reduction="none"), -F.logsigmoid(rw_c - rw_r), rtol=1e-13, atol=0
    )


def test_info_nce_matches_cross_entropy_and_gradient():
    g = torch.Generator().manual_seed(8)
    s = torch.randn(4, 5, generator=g, dtype=F64, requires_grad=True)
    t = torch.tensor([0, 3, 4, 1])
    tau = 0.5
    loss = info_nce_loss(s, t, reduction="sum", temperature=tau)
    torch.testing.assert_close(loss, F.cross_entropy(s / tau, t, reduction="sum"))
    loss.backward()
    expected = (torch.softmax(s.detach() / tau, -1) - F.one_hot(t, 5).to(F64)) / tau
    torch.testing.assert_close(s.grad, expected, rtol=0, atol=1e-14)


def test_dpo_is_two_way_info_nce():
    pc, pr, rc, rr = _four(seed=9)
    beta = 0.3
    scores = torch.stack([implicit_reward(pc, rc, beta), implicit_reward(pr, rr, beta)], dim=-1)
    torch.testing.assert_close(
        info_nce_loss(scores, torch.zeros(5, dtype=torch.long), reduction="none"),
        dpo_loss(pc, pr, rc, rr, beta=beta, reduction="none"),
        rtol=1e-13,
        atol=1e-15,
    )


def test_info_nce_extreme_scores_finite():
    s = torch.tensor([[1e5, -1e5, 0.0]], dtype=torch.float32)
    out = info_nce_loss(s, torch.tensor([1]))
    assert torch.isfinite(out) and out.item() == pytest.approx(2e5, rel=1e-6)


def test_ipo_loss_value_and_minimum():
    z = torch.zeros(3, dtype=F64)
    beta = 0.25
    h = torch.tensor([0.0, 2.0, 5.0], dtype=F64)
    torch.testing.assert_close(ipo_loss(h, z, z, z, beta=beta, reduction="none"), (h - 2.0) ** 2)
    assert ipo_loss(torch.tensor([2.0], dtype=F64), z[:1], z[:1], z[:1], beta=beta).item() == 0.0


def test_ipo_loss_gradcheck():
    tensors = [t.requires_grad_() for t in _four(n=3, seed=10)]
    assert torch.autograd.gradcheck(lambda *x: ipo_loss(*x, beta=0.5, reduction="sum"), tensors)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [dpo_loss, ipo_loss])
@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_beta(fn, beta):
    with pytest.raises(ValueError, match="beta"):
        fn(*_four(), beta=beta)


def test_implicit_reward_bad_beta():
    with pytest.raises(ValueError, match="beta"):
        implicit_reward(torch.zeros(2), torch.zeros(2), 0.0)


@pytest.mark.parametrize("which", range(4))
def test_dpo_shape_mismatch_names_argument(which):
    names = ["policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps", "ref_rejected_logps"]
    tensors = _four()
    tensors[which] = torch.zeros(4, dtype=F64)
    expected = names[which] if which else names[1]
    with pytest.raises(ValueError, match=expected):
        dpo_loss(*tensors)


def test_implicit_reward_shape_mismatch():
    with pytest.raises(ValueError, match="ref_logps"):
        implicit_reward(torch.zeros(3), torch.zeros(2), 0.1)


@pytest.mark.parametrize("fn", [dpo_loss, ipo_loss])
def test_bad_reduction(fn):
    with pytest.raises(ValueError, match="reduction"):
        fn(*_four(), reduction="avg")


def test_info_nce_bad_input():
    s = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="reduction"):
        info_nce_loss(s, torch.tensor([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="targets"):
        info_nce_loss(s, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="targets"):
        info_nce_loss(s, torch.tensor([0]))
    with pytest.raises(ValueError, match="scores"):
        info_nce_loss(torch.zeros(3), torch.tensor([0]))
    with pytest.raises(ValueError, match="temperature"):
        info_nce_loss(s, torch.tensor([0, 1]), temperature=0.0)


def test_sequence_logps_bad_input():
    logits = torch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="mask"):
        sequence_logps(logits, torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="labels"):
        sequence_logps(logits, torch.zeros(2, 2, dtype=torch.long), torch.ones(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        sequence_logps(logits, torch.zeros(2, 3, dtype=torch.long), torch.full((2, 3), 2))
    with pytest.raises(ValueError, match="logits"):
        sequence_logps(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3, dtype=torch.bool))


# ---------------------------------------------------------------- added in review


def test_sequence_logps_matches_cross_entropy_with_ignore_index():
    # independent reference: PyTorch's own cross-entropy, -100 outside the completion, summed per sequence
    g = torch.Generator().manual_seed(11)
    logits = torch.randn(4, 7, 9, generator=g, dtype=F64)
    labels = torch.randint(0, 9, (4, 7), generator=g)
    mask = torch.rand(4, 7, generator=g) < 0.6
    mask[3] = False
    ce = F.cross_entropy(logits.transpose(1, 2), labels.masked_fill(~mask, -100), reduction="none")
    torch.testing.assert_close(sequence_logps(logits, labels, mask), -ce.sum(-1), rtol=0, atol=1e-12)


def test_sequence_logps_sum_not_mean_over_tokens():
    # a completion twice as long, same per-token log-prob, has twice the log-prob
    logits = torch.zeros(2, 4, 3, dtype=F64)  # uniform: every token log(1/3)
    labels = torch.zeros(2, 4, dtype=torch.long)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    torch.testing.assert_close(sequence_logps(logits, labels, mask), torch.tensor([2, 4], dtype=F64) * -math.log(3))


def test_sequence_logps_bad_labels_named():
    logits = torch.zeros(1, 2, 3)
    mask = torch.tensor([[True, False]])
    with pytest.raises(ValueError, match="labels"):
        sequence_logps(logits, torch.tensor([[-100, 0]]), mask)  # -100 where the mask is True
    with pytest.raises(ValueError, match="labels"):
        sequence_logps(logits, torch.tensor([[3, 0]]), mask)  # id >= vocabulary size
    with pytest.raises(ValueError, match="labels"):
        sequence_logps(logits, torch.zeros(1, 2), mask)  # float labels


@pytest.mark.parametrize("fn", [dpo_loss, ipo_loss])
def test_bool_beta_rejected(fn):
    with pytest.raises(ValueError, match="beta"):
        fn(*_four(), beta=True)


def test_ipo_shape_mismatch_names_argument():
    t = _four()
    with pytest.raises(ValueError, match="ref_rejected_logps"):
        ipo_loss(t[0], t[1], t[2], torch.zeros(3, dtype=F64))


def test_dpo_loss_result_keeps_dtype_and_reduction_none_shape():
    for dtype in (torch.float32, F64):
        t = _four(n=3, dtype=dtype)
        assert dpo_loss(*t, reduction="none").shape == (3,)
        assert dpo_loss(*t).dtype == dtype and dpo_loss(*t).dim() == 0


# ---------------------------------------------------------------- the DPO family

from llmloss.dpo import (  # noqa: E402
    cdpo_loss,
    dpop_loss,
    kto_loss,
    log_odds,
    orpo_loss,
    robust_dpo_loss,
    rpo_loss,
    simpo_loss,
)


def _ell(z):
    return torch.log1p(torch.exp(-z))  # -log sigma(z), independent of logsigmoid


def test_cdpo_formula_and_finite_minimiser():
    pc, pr, rc, rr = _four(seed=11)
    beta, eps = 0.7, 0.2
    h = (pc - rc) - (pr - rr)
    expected = (1 - eps) * _ell(beta * h) + eps * _ell(-beta * h)
    torch.testing.assert_close(cdpo_loss(pc, pr, rc, rr, beta=beta, label_smoothing=eps, reduction="none"), expected)
    h_star = math.log((1 - eps) / eps) / beta
    hh = torch.tensor([h_star - 1e-3, h_star, h_star + 1e-3], dtype=F64)
    z = torch.zeros(3, dtype=F64)
    values = cdpo_loss(hh, z, z, z, beta=beta, label_smoothing=eps, reduction="none")
    assert values[1] < values[0] and values[1] < values[2]
    no_smoothing = cdpo_loss(pc, pr, rc, rr, beta=beta, label_smoothing=0.0)
    torch.testing.assert_close(no_smoothing, dpo_loss(pc, pr, rc, rr, beta))


def test_robust_dpo_is_unbiased_under_flips():
    pc, pr, rc, rr = _four(seed=12)
    beta, eps = 0.3, 0.25
    kept = robust_dpo_loss(pc, pr, rc, rr, beta=beta, flip_rate=eps, reduction="none")
    flipped = robust_dpo_loss(pr, pc, rr, rc, beta=beta, flip_rate=eps, reduction="none")
    clean = dpo_loss(pc, pr, rc, rr, beta=beta, reduction="none")
    torch.testing.assert_close((1 - eps) * kept + eps * flipped, clean, rtol=0, atol=1e-12)
    h = (pc - rc) - (pr - rr)
    torch.testing.assert_close(kept, ((1 - eps) * _ell(beta * h) - eps * _ell(-beta * h)) / (1 - 2 * eps))


def test_simpo_formula_and_length_invariance():
    g = torch.Generator().manual_seed(13)
    per_tok_c, per_tok_r = -torch.rand(4, generator=g, dtype=F64), -2 * torch.rand(4, generator=g, dtype=F64)
    beta, gamma = 2.5, 0.8
    expected = _ell(beta * per_tok_c - beta * per_tok_r - gamma)
    for n_c, n_r in [(1, 1), (5, 40), (100, 3)]:
        nc, nr = torch.full((4,), n_c, dtype=F64), torch.full((4,), n_r, dtype=F64)
        out = simpo_loss(n_c * per_tok_c, n_r * per_tok_r, nc, nr, beta=beta, gamma=gamma, reduction="none")
        torch.testing.assert_close(out, expected)
    ints = torch.tensor([2, 3, 4, 5])
    torch.testing.assert_close(
        simpo_loss(ints * per_tok_c, ints * per_tok_r, ints, ints, beta=beta, gamma=gamma, reduction="none"), expected
    )


def test_orpo_formula_and_log_odds():
    m = torch.tensor([-1e-300, -1e-8, -0.3, -2.0, -50.0], dtype=F64)
    naive = torch.log(m.exp() / (1 - m.exp()))
    torch.testing.assert_close(log_odds(m[2:]), naive[2:])
    assert torch.isfinite(log_odds(torch.tensor([0.0, -1e-300], dtype=F64))).all()
    assert torch.isfinite(log_odds(torch.tensor([0.0], dtype=torch.float32))).all()
    lp_c, lp_r = torch.tensor([-3.0, -10.0], dtype=F64), torch.tensor([-6.0, -4.0], dtype=F64)
    n_c, n_r = torch.tensor([3, 5]), torch.tensor([2, 8])
    p_c, p_r = (lp_c / n_c).exp(), (lp_r / n_r).exp()
    odds_ratio = (p_c / (1 - p_c)) / (p_r / (1 - p_r))
    expected = -lp_c / n_c + 0.25 * torch.log1p(1 / odds_ratio)
    torch.testing.assert_close(orpo_loss(lp_c, lp_r, n_c, n_r, lam=0.25, reduction="none"), expected)
    torch.testing.assert_close(orpo_loss(lp_c, lp_r, n_c, n_r, lam=0.0, reduction="none"), -lp_c / n_c)


def test_kto_formula_bounded_and_unpaired():
    g = torch.Generator().manual_seed(14)
    pol, ref = 4 * torch.randn(7, generator=g, dtype=F64), 4 * torch.randn(7, generator=g, dtype=F64)
    good = torch.tensor([True, True, True, True, True, False, False])
    beta, z0, ld, lu = 0.5, 0.3, 1.0, 1.5
    out = kto_loss(pol, ref, good, z0, beta=beta, lambda_desirable=ld, lambda_undesirable=lu, reduction="none")
    r = pol - ref
    expected = torch.where(good, ld * (1 - torch.sigmoid(beta * (r - z0))), lu * (1 - torch.sigmoid(beta * (z0 - r))))
    torch.testing.assert_close(out, expected)
    big = torch.tensor([1e4, -1e4], dtype=F64)
    both = kto_loss(big, torch.zeros(2, dtype=F64), torch.tensor([True, False]), 0.0, beta=beta, reduction="none")
    assert ((both >= 0) & (both <= 1)).all()


def test_kto_reference_point_is_a_constant():
    pol = torch.tensor([0.5, -0.2], dtype=F64, requires_grad=True)
    z0 = torch.tensor(0.4, dtype=F64, requires_grad=True)
    kto_loss(pol, torch.zeros(2, dtype=F64), torch.tensor([True, False]), z0).backward()
    assert z0.grad is None and pol.grad is not None


def test_rpo_and_dpop_formulas():
    pc, pr, rc, rr = _four(seed=15)
    beta = 0.4
    h = (pc - rc) - (pr - rr)
    lengths = torch.tensor([1, 2, 3, 4, 5])
    torch.testing.assert_close(
        rpo_loss(pc, pr, rc, rr, lengths, beta=beta, alpha=0.5, reduction="none"),
        -pc / lengths + 0.5 * _ell(beta * h),
    )
    shortfall = torch.clamp(rc - pc, min=0)
    torch.testing.assert_close(
        dpop_loss(pc, pr, rc, rr, beta=beta, lam=5.0, reduction="none"), _ell(beta * (h - 5.0 * shortfall))
    )
    above = rc - 1.0  # policy above the reference on y+: DPOP is DPO
    torch.testing.assert_close(dpop_loss(above + 2.0, pr, rc, rr, beta), dpo_loss(above + 2.0, pr, rc, rr, beta))


@pytest.mark.parametrize("fn", [cdpo_loss, robust_dpo_loss, rpo_loss, dpop_loss])
def test_family_gradcheck(fn):
    tensors = [t.requires_grad_() for t in _four(n=3, seed=16, scale=1.0)]
    extra = (torch.tensor([1.0, 2.0, 3.0], dtype=F64),) if fn is rpo_loss else ()
    assert torch.autograd.gradcheck(lambda *x: fn(*x, *extra, beta=0.7, reduction="sum"), tensors)


def test_family_gradcheck_reference_free():
    g = torch.Generator().manual_seed(17)
    lp = [(-1 - torch.rand(3, generator=g, dtype=F64)).requires_grad_() for _ in range(2)]
    n = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    assert torch.autograd.gradcheck(lambda a, b: simpo_loss(a, b, n, n, reduction="sum"), lp)
    assert torch.autograd.gradcheck(lambda a, b: orpo_loss(a, b, n, n, lam=0.3, reduction="sum"), lp)


def test_family_bad_input_named():
    pc, pr, rc, rr = _four(n=3)
    n = torch.ones(3)
    for bad in (-0.1, 0.5, True):
        with pytest.raises(ValueError, match="label_smoothing"):
            cdpo_loss(pc, pr, rc, rr, label_smoothing=bad)
        with pytest.raises(ValueError, match="flip_rate"):
            robust_dpo_loss(pc, pr, rc, rr, flip_rate=bad)
    with pytest.raises(ValueError, match="chosen_lengths"):
        simpo_loss(pc, pr, torch.zeros(3), n)
    with pytest.raises(ValueError, match="rejected_lengths"):
        orpo_loss(pc, pr, n, torch.ones(2))
    with pytest.raises(ValueError, match="gamma"):
        simpo_loss(pc, pr, n, n, gamma=-1.0)
    with pytest.raises(ValueError, match="desirable"):
        kto_loss(pc, rc, torch.ones(3), 0.0)
    with pytest.raises(ValueError, match="reference_point"):
        kto_loss(pc, rc, torch.ones(3, dtype=torch.bool), -1.0)
    with pytest.raises(ValueError, match="alpha"):
        rpo_loss(pc, pr, rc, rr, n, alpha=-1.0)
    with pytest.raises(ValueError, match="lam"):
        dpop_loss(pc, pr, rc, rr, lam=float("inf"))
    with pytest.raises(ValueError, match="beta"):
        dpop_loss(pc, pr, rc, rr, beta=0.0)
    with pytest.raises(ValueError, match="reduction"):
        simpo_loss(pc, pr, n, n, reduction="avg")
