"""The adversarial suite: every loss helper under bad input, low precision and
extreme values (issue 15).

What it covers, for the public losses of ``llmloss``:
- the eight defects found by an adversarial battery, one regression test each
  (float16 counts and sums, uint8 token ids, NaN dropped by the normalised
  gradient, PPO ratio overflow and padding, checks under ``python -O``,
  integer input to RoPE, sparsemax on NaN/inf);
- wrong shapes and dtypes give a ``ValueError`` naming the argument;
- NaN in gives NaN out (or an error), never a finite wrong number;
- empty and fully ignored batches give 0 with a zero gradient;
- extreme magnitudes stay finite; float16/bfloat16 inputs over 100,000 items
  agree with a float64 reference and come back in float32;
- non-contiguous views give the contiguous result; inputs are never mutated;
- ``gradcheck`` in float64 for every differentiable loss;
- bounded hypothesis properties against float64 references written from the
  formulas (not from the helpers);
- generator isolation: helpers that draw random numbers use only the generator
  they are given, never the global one.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from llmloss import attention, checks, dpo, frontiers, lm, mlm, multitask, rlhf

F64 = torch.float64
HALF = [torch.float16, torch.bfloat16]
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def lm_batch(n: int, vocab: int, dtype=torch.float32, seed: int = 0, scale: float = 2.0):
    g = gen(seed)
    logits = (scale * torch.randn(n, vocab, generator=g)).to(dtype)
    targets = torch.randint(0, vocab, (n,), generator=g)
    return [logits, targets]


def four_logps(n: int, dtype=torch.float32, seed: int = 0, scale: float = 3.0):
    g = gen(seed)
    return [(scale * torch.randn(n, generator=g) - 20).to(dtype) for _ in range(4)]


# ------------------------------------------------------------------ the losses under test
# name -> (call(inputs, reduction), make(n, dtype, seed) -> inputs, float64 reference(inputs) per item)


def _ppo_reference(logp_new, logp_old, adv, eps=0.2):
    ratio = torch.exp(logp_new.double() - logp_old.double())
    adv = adv.double()
    return -torch.minimum(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv)


def _softplus64(x):
    """log(1 + e^x) in float64, written out (not F.softplus)."""
    x = x.double()
    return torch.where(x > 0, x + torch.log1p(torch.exp(-x)), torch.log1p(torch.exp(x)))


def _margin64(pc, pr, rc, rr):
    return (pc.double() - rc.double()) - (pr.double() - rr.double())


def _sparsemax_loss_reference(z, y):
    """-z_y + 1/2 sum_{z_j > tau} (z_j^2 - tau^2) + 1/2, tau found by bisection (no sort)."""
    z = z.double()
    lo, hi = z.min(-1, keepdim=True).values - 1, z.max(-1, keepdim=True).values
    for _ in range(200):
        tau = (lo + hi) / 2
        over = (z - tau).clamp(min=0).sum(-1, keepdim=True) > 1
        lo, hi = torch.where(over, tau, lo), torch.where(over, hi, tau)
    tau = (lo + hi) / 2
    support = z > tau
    half = 0.5 * torch.where(support, z.square() - tau.square(), 0).sum(-1)
    return half + 0.5 - z.gather(-1, y[:, None]).squeeze(-1)


def _lengths(n, seed):
    return torch.randint(1, 9, (n,), generator=gen(seed))


LOSSES = {
    "lm_loss": (
        lambda x, r: lm.lm_loss(x[0], x[1], reduction=r),
        lambda n, d, s: lm_batch(n, 8, d, s),
        lambda x: (
            -torch.log(torch.exp(x[0].double()) / torch.exp(x[0].double()).sum(-1, keepdim=True))
            .gather(-1, x[1][:, None])
            .squeeze(-1)
        ),
    ),
    "mlm_loss": (
        lambda x, r: mlm.mlm_loss(x[0], x[1], reduction=r),
        lambda n, d, s: lm_batch(n, 8, d, s),
        lambda x: F.cross_entropy(x[0].double(), x[1], reduction="none"),
    ),
    "bradley_terry_loss": (
        lambda x, r: rlhf.bradley_terry_loss(x[0], x[1], reduction=r),
        lambda n, d, s: four_logps(n, d, s)[:2],
        lambda x: torch.log1p(torch.exp(-(x[0].double() - x[1].double()))),
    ),
    "dpo_loss": (
        lambda x, r: dpo.dpo_loss(*x, beta=0.5, reduction=r),
        lambda n, d, s: four_logps(n, d, s),
        lambda x: torch.log1p(torch.exp(-0.5 * ((x[0].double() - x[2].double()) - (x[1].double() - x[3].double())))),
    ),
    "ipo_loss": (
        lambda x, r: dpo.ipo_loss(*x, beta=0.5, reduction=r),
        lambda n, d, s: four_logps(n, d, s, scale=1.0),
        lambda x: ((x[0].double() - x[2].double()) - (x[1].double() - x[3].double()) - 1.0) ** 2,
    ),
    "ppo_clip_loss": (
        lambda x, r: rlhf.ppo_clip_loss(*x, reduction=r),
        lambda n, d, s: [
            (0.3 * torch.randn(n, generator=gen(s)) - 2).to(d),
            torch.full((n,), -2.0).to(d),
            torch.randn(n, generator=gen(s + 1)).to(d),
        ],
        lambda x: _ppo_reference(*x),
    ),
    "info_nce_loss": (
        lambda x, r: dpo.info_nce_loss(x[0], x[1], reduction=r),
        lambda n, d, s: lm_batch(n, 4, d, s),
        lambda x: torch.logsumexp(x[0].double(), -1) - x[0].double().gather(-1, x[1][:, None]).squeeze(-1),
    ),
    "cdpo_loss": (
        lambda x, r: dpo.cdpo_loss(*x, beta=0.5, label_smoothing=0.2, reduction=r),
        lambda n, d, s: four_logps(n, d, s),
        lambda x: 0.8 * _softplus64(-0.5 * _margin64(*x)) + 0.2 * _softplus64(0.5 * _margin64(*x)),
    ),
    "robust_dpo_loss": (
        lambda x, r: dpo.robust_dpo_loss(*x, beta=0.5, flip_rate=0.2, reduction=r),
        lambda n, d, s: four_logps(n, d, s),
        lambda x: (0.8 * _softplus64(-0.5 * _margin64(*x)) - 0.2 * _softplus64(0.5 * _margin64(*x))) / 0.6,
    ),
    "simpo_loss": (
        lambda x, r: dpo.simpo_loss(*x, beta=2.0, gamma=1.0, reduction=r),
        lambda n, d, s: [*four_logps(n, d, s)[:2], _lengths(n, s + 7), _lengths(n, s + 8)],
        lambda x: _softplus64(-(2.0 * (x[0].double() / x[2] - x[1].double() / x[3]) - 1.0)),
    ),
    "sparsemax_loss": (
        lambda x, r: frontiers.sparsemax_loss(x[0], x[1], reduction=r),
        lambda n, d, s: lm_batch(n, 8, d, s),
        lambda x: _sparsemax_loss_reference(*x),
    ),
    "chunked_linear_cross_entropy": (
        lambda x, r: frontiers.chunked_linear_cross_entropy(x[0], x[1], x[2], chunk_size=4096, reduction=r),
        lambda n, d, s: [
            torch.randn(n, 4, generator=gen(s)).to(d),
            torch.randn(8, 4, generator=gen(s + 1)).to(d),
            torch.randint(0, 8, (n,), generator=gen(s + 2)),
        ],
        lambda x: F.cross_entropy(x[0].double() @ x[1].double().T, x[2], reduction="none"),
    ),
}
LOSS_NAMES = sorted(LOSSES)


def call(name, inputs, reduction="mean"):
    return LOSSES[name][0](inputs, reduction)


def make(name, n, dtype=torch.float32, seed=0):
    return LOSSES[name][1](n, dtype, seed)


def reference(name, inputs):
    return LOSSES[name][2](inputs)


def floating(inputs):
    return [x for x in inputs if x.is_floating_point()]


# ------------------------------------------------------------------ defect 1 and 2: half precision


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_half_precision_over_100k_items_matches_float64(name, dtype):
    """Defects 1-2: counts past 65,504 and sums past float16's range stay exact
    (mean and sum computed in float32, compared with float64 on the same inputs)."""
    inputs = make(name, 100_000, dtype)
    ref = reference(name, inputs)
    for reduction, expected in (("mean", ref.mean()), ("sum", ref.sum())):
        got = call(name, inputs, reduction)
        assert got.dtype == torch.float32, f"{name} {reduction}: returned {got.dtype}, expected float32"
        assert torch.isfinite(got), f"{name} {reduction} in {dtype}: {got}"
        assert abs(got.double().item() - expected.item()) <= 1e-5 * max(1.0, abs(expected.item())), (
            f"{name} {reduction} in {dtype}: {got.item()} vs float64 {expected.item()}"
        )


def test_float16_token_count_beyond_float16_range():
    """Defect 1 exactly as found: 70,000 counted tokens, mean ~ log V, not 0.0 or NaN."""
    logits = torch.zeros(70_000, 8, dtype=torch.float16)
    targets = torch.zeros(70_000, dtype=torch.long)
    for loss in (lm.lm_loss(logits, targets), mlm.mlm_loss(logits, targets)):
        assert abs(loss.item() - math.log(8)) < 1e-6


@pytest.mark.parametrize("name", ["bradley_terry_loss", "dpo_loss", "ppo_clip_loss", "info_nce_loss"])
def test_float16_sum_beyond_float16_range_is_finite(name):
    """Defect 2: 30,000 items at ~3 each sum to ~90,000 > 65,504."""
    inputs = make(name, 30_000, torch.float16)
    total = call(name, inputs, "sum")
    assert torch.isfinite(total) and total.dtype == torch.float32


# ------------------------------------------------------------------ defect 3: integer dtypes of token ids


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64], ids=str)
def test_token_ids_of_every_integer_dtype(dtype):
    logits, targets = lm_batch(64, 100)
    expected = F.cross_entropy(logits, targets)
    torch.testing.assert_close(lm.lm_loss(logits, targets.to(dtype)), expected)
    torch.testing.assert_close(mlm.mlm_loss(logits, targets.to(dtype)), expected)
    torch.testing.assert_close(lm.next_token_targets(targets.to(dtype)), lm.next_token_targets(targets))


def test_uint8_id_156_is_not_ignore_index():
    """Defect 3: uint8 156 == -100 modulo 256 was silently ignored."""
    logits, _ = lm_batch(1, 200)
    target = torch.tensor([156], dtype=torch.uint8)
    expected = F.cross_entropy(logits, target.long())
    assert lm.lm_loss(logits, target).item() == pytest.approx(expected.item())
    assert mlm.mlm_loss(logits, target).item() == pytest.approx(expected.item())


def test_uint8_errors_do_not_contradict_themselves():
    """Defect 3: with a vocabulary of 256 a valid uint8 id was reported out of range."""
    logits, _ = lm_batch(3, 256)
    ids = torch.tensor([0, 199, 255], dtype=torch.uint8)
    assert torch.isfinite(lm.lm_loss(logits, ids))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 200\), got values in \[0, 255\]"):
        lm.lm_loss(logits[:, :200], ids)
    tokens = torch.arange(256, dtype=torch.int64).to(torch.uint8)
    inputs, labels = mlm.bert_mask(tokens, mask_token_id=255, vocab_size=256, generator=gen())
    assert inputs.dtype == torch.uint8 and labels.dtype == torch.long


@pytest.mark.parametrize("bad", [torch.tensor([0.0, 1.0]), torch.tensor([True, False])], ids=["float", "bool"])
def test_non_integer_token_ids_rejected_with_one_message(bad):
    logits, _ = lm_batch(2, 4)
    for fn, arg in ((lambda t: lm.lm_loss(logits, t), "targets"), (lambda t: mlm.mlm_loss(logits, t), "labels")):
        with pytest.raises(ValueError, match=f"{arg} must hold integer token ids"):
            fn(bad)
    with pytest.raises(ValueError, match="tokens must hold integer token ids"):
        lm.next_token_targets(bad)


# ------------------------------------------------------------------ defect 4: NaN never dropped


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_normalized_gradient_propagates_non_finite(bad):
    grads = [torch.tensor([1.0, 2.0]), torch.tensor([bad, 0.0])]
    assert torch.isnan(multitask.normalized_gradient(grads)).all()


# ------------------------------------------------------------------ defect 5: PPO overflow and padding


@pytest.mark.parametrize(("dtype", "log_ratio"), [(torch.float32, 100.0), (torch.float16, 12.0), (F64, 800.0)])
def test_ppo_overflowing_ratio_outside_trust_region_has_zero_gradient(dtype, log_ratio):
    logp_new = torch.tensor([log_ratio, 0.05], dtype=dtype, requires_grad=True)
    logp_old = torch.zeros(2, dtype=dtype)
    adv = torch.tensor([1.0, 1.0], dtype=dtype)
    loss = rlhf.ppo_clip_loss(logp_new, logp_old, adv, reduction="sum")
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logp_new.grad).all()
    assert logp_new.grad[0] == 0  # clipped: ratio > 1 + eps with A > 0
    assert logp_new.grad[1] == pytest.approx(-math.exp(0.05), rel=1e-3)  # inside: d(-rho A)/d logp = -rho A


@pytest.mark.parametrize("pad", [float("-inf"), -1e9, float("nan")])
def test_ppo_padding_mask_gives_exact_zero(pad):
    logp_new = torch.tensor([-1.0, -2.0, 0.0], requires_grad=True)
    logp_old = torch.tensor([-1.1, -2.0, pad])
    adv = torch.tensor([0.5, -1.0, 3.0])
    mask = torch.tensor([True, True, False])
    loss = rlhf.ppo_clip_loss(logp_new, logp_old, adv, mask=mask)
    loss.backward()
    expected = rlhf.ppo_clip_loss(logp_new[:2].detach(), logp_old[:2], adv[:2])
    assert loss.item() == pytest.approx(expected.item())
    assert logp_new.grad[2] == 0 and torch.isfinite(logp_new.grad).all()
    per_sample = rlhf.ppo_clip_loss(logp_new.detach(), logp_old, adv, mask=mask, reduction="none")
    assert per_sample[2] == 0


def test_ppo_all_padding_mean_is_zero():
    x = torch.zeros(3, requires_grad=True)
    loss = rlhf.ppo_clip_loss(x, x.detach(), torch.ones(3), mask=torch.zeros(3, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0 and (x.grad == 0).all()


def test_ppo_mask_rejects_wrong_shape_and_values():
    x = torch.zeros(3)
    with pytest.raises(ValueError, match="mask"):
        rlhf.ppo_clip_loss(x, x, x, mask=torch.ones(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        rlhf.ppo_clip_loss(x, x, x, mask=torch.tensor([0, 2, 1]))


# ------------------------------------------------------------------ defect 6: checks under python -O


@pytest.mark.parametrize(
    "statement",
    [
        "checks.check_true('claim', False)",
        "checks.check_close('claim', torch.ones(2), torch.zeros(2), tol=1e-3)",
        "checks.check_identity('claim', sympy.Symbol('x'), sympy.Symbol('y'))",
    ],
)
def test_checks_fail_under_python_O(statement):
    code = f"import sympy, torch\nfrom llmloss import checks\n{statement}"
    result = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True)
    assert result.returncode != 0 and "AssertionError" in result.stderr, result.stdout + result.stderr


# ------------------------------------------------------------------ defects 7 and 8: integer and non-finite input


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool], ids=str)
def test_apply_rope_rejects_integer_input(dtype):
    with pytest.raises(ValueError, match="x must be a floating tensor"):
        attention.apply_rope(torch.ones(1, 4, 8, dtype=dtype))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_sparsemax_rejects_nan_and_inf(bad):
    with pytest.raises(ValueError, match="z must not hold NaN or \\+inf"):
        frontiers.sparsemax(torch.tensor([0.5, bad, 0.1]))


def test_sparsemax_minus_inf_masks_and_all_masked_raises():
    p = frontiers.sparsemax(torch.tensor([1.0, float("-inf"), 0.5]))
    torch.testing.assert_close(p, torch.tensor([0.75, 0.0, 0.25]))
    with pytest.raises(ValueError, match="finite entry"):
        frontiers.sparsemax(torch.full((2, 3), float("-inf")))


# ------------------------------------------------------------------ the battery over every loss


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_nan_in_gives_nan_out_or_error(name):
    for k in range(len(floating(make(name, 6)))):
        inputs = make(name, 6)
        floating(inputs)[k][2] = float("nan")
        try:
            value = call(name, inputs)
        except ValueError:
            continue
        assert torch.isnan(value), f"{name}: NaN in input {k} gave the finite {value}"


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_empty_batch_mean_is_zero_with_zero_gradient(name):
    inputs = make(name, 0)
    for x in floating(inputs):
        x.requires_grad_(True)
    value = call(name, inputs)
    assert value.item() == 0
    value.backward()
    for x in floating(inputs):
        assert x.grad is None or (x.grad == 0).all()


@pytest.mark.parametrize("name", ["lm_loss", "mlm_loss", "chunked_linear_cross_entropy"])
def test_fully_ignored_batch_is_zero(name):
    inputs = make(name, 5)
    inputs[-1] = torch.full_like(inputs[-1], lm.IGNORE_INDEX)
    for x in floating(inputs):
        x.requires_grad_(True)
    value = call(name, inputs)
    value.backward()
    assert value.item() == 0 and all((x.grad == 0).all() for x in floating(inputs))


@pytest.mark.parametrize("name", [n for n in LOSS_NAMES if n != "ppo_clip_loss"])
def test_extreme_magnitudes_stay_finite(name):
    """Inputs of size 1e4 (margins of 1e4 nats, logits of 1e4). PPO's extreme
    case is the overflowing ratio above: zero gradient on the clipped side; on
    the other side (A < 0) the objective itself is unbounded in the ratio."""
    big = [x * 1e4 if x.is_floating_point() else x for x in make(name, 16)]
    for x in floating(big):
        x.requires_grad_(True)
    value = call(name, big, "sum")
    value.backward()
    assert torch.isfinite(value), f"{name}: {value}"
    assert all(torch.isfinite(x.grad).all() for x in floating(big))


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_wrong_dtype_and_shape_raise_value_error(name):
    inputs = make(name, 6)
    as_int = [x.long() if x.is_floating_point() else x for x in inputs]
    with pytest.raises(ValueError):
        call(name, as_int)
    shorter = [inputs[0][:-1], *inputs[1:]]
    with pytest.raises(ValueError):
        call(name, shorter)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_non_contiguous_views_and_inputs_unchanged(name):
    wide = make(name, 12)
    strided = [x[::2] if x.dim() == 1 or x.shape[0] == 12 else x for x in wide]
    assert any(not x.is_contiguous() for x in strided)
    before = [x.clone() for x in strided]
    got = call(name, strided, "none")
    expected = call(name, [x.contiguous() for x in strided], "none")
    torch.testing.assert_close(got, expected)
    for x, y in zip(strided, before, strict=True):
        assert torch.equal(x, y), f"{name} mutated an input"


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_gradcheck_float64(name):
    inputs = [x.double() if x.is_floating_point() else x for x in make(name, 5, seed=3)]
    grads = [i for i, x in enumerate(inputs) if x.is_floating_point()]

    def fn(*xs):
        full = list(inputs)
        for i, x in zip(grads, xs, strict=True):
            full[i] = x
        return call(name, full, "none")

    leaves = tuple(inputs[i].clone().requires_grad_(True) for i in grads)
    assert torch.autograd.gradcheck(fn, leaves, eps=1e-6, atol=1e-6)


# ------------------------------------------------------------------ properties against float64 formulas


@PROPERTY
@given(st.integers(1, 40), st.integers(2, 12), st.floats(0.1, 30.0), st.integers(0, 10_000))
def test_lm_loss_matches_formula(n, vocab, scale, seed):
    logits, targets = lm_batch(n, vocab, F64, seed, scale)
    shifted = logits - logits.max(-1, keepdim=True).values
    formula = (torch.log(torch.exp(shifted).sum(-1)) - shifted.gather(-1, targets[:, None]).squeeze(-1)).mean()
    assert lm.lm_loss(logits, targets).item() == pytest.approx(formula.item(), rel=1e-12, abs=1e-12)


@PROPERTY
@given(st.integers(1, 40), st.floats(0.01, 10.0), st.floats(0.1, 50.0), st.integers(0, 10_000))
def test_dpo_loss_matches_formula(n, beta, scale, seed):
    pc, pr, rc, rr = four_logps(n, F64, seed, scale)
    z = beta * ((pc - rc) - (pr - rr))
    formula = torch.where(z > 0, torch.log1p(torch.exp(-z)), -z + torch.log1p(torch.exp(z)))
    got = dpo.dpo_loss(pc, pr, rc, rr, beta=beta, reduction="none")
    torch.testing.assert_close(got, formula, rtol=1e-12, atol=1e-12)


@PROPERTY
@given(st.integers(1, 40), st.floats(0.0, 0.9), st.floats(0.01, 5.0), st.integers(0, 10_000))
def test_ppo_clip_loss_matches_formula(n, eps, spread, seed):
    g = gen(seed)
    logp_new, logp_old = (
        spread * torch.randn(n, generator=g, dtype=F64),
        spread * torch.randn(n, generator=g, dtype=F64),
    )
    adv = torch.randn(n, generator=g, dtype=F64)
    got = rlhf.ppo_clip_loss(logp_new, logp_old, adv, clip_eps=eps, reduction="none")
    torch.testing.assert_close(got, _ppo_reference(logp_new, logp_old, adv, eps), rtol=1e-12, atol=1e-12)


@PROPERTY
@given(st.integers(1, 30), st.integers(1, 9), st.floats(0.1, 20.0), st.integers(0, 10_000))
def test_chunked_linear_cross_entropy_matches_formula(n, chunk, scale, seed):
    g = gen(seed)
    hidden, weight = scale * torch.randn(n, 3, generator=g, dtype=F64), torch.randn(5, 3, generator=g, dtype=F64)
    targets = torch.randint(0, 5, (n,), generator=g)
    logits = hidden @ weight.T
    top = logits.max(-1, keepdim=True).values
    formula = top.squeeze(-1) + torch.log(torch.exp(logits - top).sum(-1)) - logits.gather(-1, targets[:, None])[:, 0]
    got = frontiers.chunked_linear_cross_entropy(hidden, weight, targets, chunk_size=chunk, reduction="none")
    torch.testing.assert_close(got, formula, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ generator isolation


def _global_state_unchanged(fn) -> bool:
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    fn()
    return torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize(
    "draw",
    [
        lambda: mlm.bert_mask(torch.arange(50), mask_token_id=1, vocab_size=50, generator=gen()),
        lambda: mlm.sample_span_lengths(20, generator=gen()),
        lambda: mlm.span_mask(64, generator=gen()),
        lambda: attention.TinyTransformer(11, dim=8, n_layers=1, n_heads=2, seed=0),
    ],
    ids=["bert_mask", "sample_span_lengths", "span_mask", "TinyTransformer"],
)
def test_random_helpers_leave_the_global_generator_alone(draw):
    assert _global_state_unchanged(draw)


def test_same_generator_seed_same_draw():
    a = mlm.bert_mask(torch.arange(200), mask_token_id=1, vocab_size=200, generator=gen(7))
    b = mlm.bert_mask(torch.arange(200), mask_token_id=1, vocab_size=200, generator=gen(7))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_check_close_rejects_non_finite():
    with pytest.raises(AssertionError, match="non-finite"):
        checks.check_close("x", torch.tensor([float("nan")]), torch.tensor([0.0]), tol=1.0)
