"""Multi-task helpers of section 4.5.3: eqs. (4.5.11), (4.5.12) and two-task MGDA."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmloss.multitask import (
    flat_task_gradients,
    min_norm_alpha,
    min_norm_direction,
    normalized_gradient,
    set_flat_gradient,
    weighted_loss,
)

F64 = torch.float64
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


def vec(*xs):
    return torch.tensor(xs, dtype=F64)


# ---------------------------------------------------------------- weighted_loss, eq. (4.5.11)


def test_weighted_loss_hand_value():
    assert weighted_loss(vec(2.0, 3.0, 0.5), [1.0, 0.5, 4.0]).item() == pytest.approx(2.0 + 1.5 + 2.0)


def test_weighted_loss_accepts_scalar_sequence_and_keeps_dtype():
    out = weighted_loss([torch.tensor(1.0, dtype=F64), torch.tensor(2.0, dtype=F64)], torch.tensor([3.0, 1.0]))
    assert out.dtype == F64 and out.dim() == 0 and out.item() == 5.0


def test_weighted_loss_accepts_plain_numbers():
    out = weighted_loss([1.5, 2], [2.0, 0.25])
    assert out.dtype == torch.get_default_dtype() and out.item() == 3.5


def test_weighted_loss_zero_weight_drops_a_task_from_the_gradient():
    losses = vec(1.0, 4.0).requires_grad_()
    weighted_loss(losses, [0.0, 2.0]).backward()
    torch.testing.assert_close(losses.grad, vec(0.0, 2.0), rtol=0, atol=0)


def test_weighted_loss_gradcheck_in_losses_and_weights():
    g = torch.Generator().manual_seed(1)
    losses = torch.rand(4, generator=g, dtype=F64, requires_grad=True)
    weights = torch.rand(4, generator=g, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(weighted_loss, (losses, weights))


@settings(max_examples=50, deadline=None)
@given(st.lists(finite, min_size=1, max_size=6), st.floats(0, 10))
def test_weighted_loss_with_equal_weights_is_scaled_sum(values, w):
    losses = torch.tensor(values, dtype=F64)
    out = weighted_loss(losses, [w] * len(values))
    assert out.item() == pytest.approx(w * sum(values), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize(
    ("losses", "weights", "match"),
    [
        (vec(1.0, 2.0), [1.0], "weights"),
        (vec(1.0, 2.0), [1.0, -0.1], "weights"),
        (vec(1.0, 2.0), [1.0, math.nan], "weights"),
        (vec(1.0, 2.0), [[1.0, 1.0]], "weights"),
        (vec(1.0, 2.0), [1.0, 1.0, 1.0], "one weight per entry of losses"),
        (vec(1.0, 2.0), ["a", "b"], "weights"),
        (vec(1.0, 2.0), [1.0, math.inf], "weights"),
        (torch.ones(2, 2, dtype=F64), [1.0, 1.0], "losses"),
        ([], [], "losses"),
        ([torch.ones(2)], [1.0], "losses"),
        ([torch.tensor(1.0), 2.0], [1.0, 1.0], "losses"),
        (torch.tensor([1, 2]), [1.0, 1.0], "losses"),
    ],
)
def test_weighted_loss_bad_input(losses, weights, match):
    with pytest.raises(ValueError, match=match):
        weighted_loss(losses, weights)


# ---------------------------------------------------------------- normalized_gradient, eq. (4.5.12)


def test_normalized_gradient_hand_value():
    out = normalized_gradient([vec(3.0, 4.0), vec(0.0, -2.0)], [2.0, 1.0])
    torch.testing.assert_close(out, vec(1.2, 1.6 - 1.0), rtol=0, atol=1e-15)


def test_zero_gradient_contributes_nothing():
    out = normalized_gradient([torch.zeros(3, dtype=F64), vec(0.0, 0.0, 5.0)], [7.0, 1.0])
    torch.testing.assert_close(out, vec(0.0, 0.0, 1.0))
    assert torch.isfinite(normalized_gradient([torch.zeros(2), torch.zeros(2)])).all()


def test_normalized_gradient_default_weights_and_shape():
    g = torch.Generator().manual_seed(2)
    grads = [torch.randn(2, 3, generator=g, dtype=F64) for _ in range(3)]
    out = normalized_gradient(grads)
    assert out.shape == (2, 3) and out.dtype == F64
    torch.testing.assert_close(out, sum(x / x.norm() for x in grads))


def test_normalized_gradient_tiny_and_huge_scales():
    out = normalized_gradient([vec(1e-300, 0.0), vec(0.0, 1e300)], [1.0, 1.0])
    torch.testing.assert_close(out, vec(1.0, 1.0))


def test_normalized_gradient_gradcheck():
    g = torch.Generator().manual_seed(3)
    g1 = torch.randn(4, generator=g, dtype=F64, requires_grad=True)
    g2 = torch.randn(4, generator=g, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: normalized_gradient([a, b], [0.3, 2.0]), (g1, g2))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.lists(st.floats(-10, 10), min_size=3, max_size=3), min_size=1, max_size=4),
    st.floats(0.01, 100),
)
def test_normalized_gradient_is_scale_invariant_and_bounded(rows, scale):
    grads = [torch.tensor(r, dtype=F64) for r in rows]
    weights = [0.5 + k for k in range(len(grads))]
    out = normalized_gradient(grads, weights)
    scaled = normalized_gradient([scale * x for x in grads], weights)
    torch.testing.assert_close(out, scaled, rtol=1e-9, atol=1e-9)
    assert out.norm().item() <= sum(weights) + 1e-9


@pytest.mark.parametrize(
    ("grads", "weights", "match"),
    [
        ([vec(1.0, 0.0), vec(0.0, 1.0)], [1.0], "one weight per entry of grads"),
        ([vec(1.0, 0.0), vec(0.0, 1.0)], [1.0, 1.0, 1.0], "weights"),
        ([vec(1.0, 0.0), vec(0.0, 1.0)], [1.0, -1.0], "weights"),
        ([vec(1.0, 0.0), vec(0.0, 1.0)], [1.0, math.nan], "weights"),
        ([vec(1.0, 0.0), torch.ones(2, 1, dtype=F64)], [1.0, 1.0], "grads"),
        ([vec(1.0, 0.0), vec(0.0, 1.0, 2.0)], [1.0, 1.0], "grads"),
        ([], [], "grads"),
        ([torch.tensor([1, 2])], [1.0], "grads"),
    ],
)
def test_normalized_gradient_bad_input(grads, weights, match):
    with pytest.raises(ValueError, match=match):
        normalized_gradient(grads, weights)


# ---------------------------------------------------------------- min_norm_alpha (MGDA, two tasks)


@pytest.mark.parametrize(
    ("g1", "g2", "alpha"),
    [
        (vec(1.0, 0.0), vec(0.0, 1.0), 0.5),  # orthogonal, equal norms: midpoint
        (vec(2.0, 0.0), vec(0.0, 1.0), 0.2),  # (g2-g1).g2 / |g1-g2|^2 = 1/5
        (vec(1.0, 0.0), vec(3.0, 0.0), 1.0),  # g1 is the shorter, same direction: clipped at 1
        (vec(3.0, 0.0), vec(1.0, 0.0), 0.0),  # clipped at 0
        (vec(1.0, 0.0), vec(-1.0, 0.0), 0.5),  # opposite: zero vector reached
    ],
)
def test_min_norm_alpha_hand_cases(g1, g2, alpha):
    assert min_norm_alpha(g1, g2).item() == pytest.approx(alpha, abs=1e-15)


def test_identical_gradients_give_a_valid_alpha():
    a = min_norm_alpha(vec(1.0, 2.0), vec(1.0, 2.0))
    assert torch.isfinite(a) and 0 <= a.item() <= 1
    torch.testing.assert_close(min_norm_direction(vec(1.0, 2.0), vec(1.0, 2.0)), vec(1.0, 2.0))
    assert min_norm_alpha(torch.zeros(2), torch.zeros(2)).item() == 0.5


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_min_norm_alpha_extreme_scales(scale):
    assert min_norm_alpha(scale * vec(2.0, 0.0), scale * vec(0.0, 1.0)).item() == pytest.approx(0.2, abs=1e-15)


def test_min_norm_alpha_matches_a_grid_search():
    g = torch.Generator().manual_seed(4)
    grid = torch.linspace(0, 1, 20001, dtype=F64)
    for _ in range(20):
        g1, g2 = torch.randn(2, 5, generator=g, dtype=F64)
        a = min_norm_alpha(g1, g2)
        norms = (grid[:, None] * g1 + (1 - grid[:, None]) * g2).norm(dim=-1)
        assert (a * g1 + (1 - a) * g2).norm() <= norms.min() + 1e-12
        assert abs(a - grid[norms.argmin()]) <= 1e-4


def test_min_norm_alpha_gradcheck_in_the_interior():
    g1 = vec(1.0, 0.2, -0.3).requires_grad_()
    g2 = vec(-0.1, 1.0, 0.4).requires_grad_()
    assert 0 < min_norm_alpha(g1, g2).item() < 1
    assert torch.autograd.gradcheck(min_norm_alpha, (g1, g2))


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=4, max_size=4), st.lists(finite, min_size=4, max_size=4))
def test_min_norm_direction_is_a_common_descent_direction(x1, x2):
    g1, g2 = torch.tensor(x1, dtype=F64), torch.tensor(x2, dtype=F64)
    a = min_norm_alpha(g1, g2)
    assert 0 <= a.item() <= 1
    d = min_norm_direction(g1, g2)
    scale = max(1.0, g1.norm().item(), g2.norm().item()) ** 2
    for gk in (g1, g2):
        assert (gk @ d).item() >= (d @ d).item() - 1e-9 * scale


@pytest.mark.parametrize(
    ("g1", "g2", "match"),
    [
        (vec(1.0, 0.0), vec(1.0, 0.0, 0.0), "g1 and g2 must share one shape"),
        (torch.tensor([1, 0]), vec(0.0, 1.0), "g1"),
        (vec(1.0, 0.0), torch.tensor([0, 1]), "g2"),
        (vec(1.0, 0.0), [0.0, 1.0], "g2"),
    ],
)
def test_min_norm_alpha_bad_input(g1, g2, match):
    with pytest.raises(ValueError, match=match):
        min_norm_alpha(g1, g2)


# ---------------------------------------------------------------- flattening and restoring gradients


def _model():
    torch.manual_seed(0)
    trunk = torch.nn.Linear(3, 4).double()
    heads = torch.nn.Linear(4, 1).double(), torch.nn.Linear(4, 2).double()
    return trunk, heads


def test_flat_task_gradients_match_backward_and_restore():
    trunk, (h1, h2) = _model()
    x = torch.linspace(-1, 1, 15, dtype=F64).reshape(5, 3)
    z = torch.tanh(trunk(x))
    l1, l2 = h1(z).pow(2).mean(), h2(z).logsumexp(-1).mean()
    params = list(trunk.parameters())
    g1, g2 = flat_task_gradients([l1, l2], params)
    assert g1.shape == (sum(p.numel() for p in params),)
    weighted_loss([l1, l2], [0.3, 1.7]).backward()
    expected = torch.nn.utils.parameters_to_vector([p.grad for p in params])
    torch.testing.assert_close(0.3 * g1 + 1.7 * g2, expected, rtol=1e-12, atol=1e-14)
    set_flat_gradient(params, g1)
    torch.testing.assert_close(torch.nn.utils.parameters_to_vector([p.grad for p in params]), g1)


def test_unused_parameter_gets_a_zero_block():
    trunk, (h1, h2) = _model()
    x = torch.ones(2, 3, dtype=F64)
    loss = h1(torch.tanh(trunk(x))).sum()
    (flat,) = flat_task_gradients([loss], [*h1.parameters(), *h2.parameters()])
    assert torch.count_nonzero(flat[5:]) == 0 and torch.count_nonzero(flat[:5]) > 0


@pytest.mark.parametrize(
    ("losses", "params", "match"),
    [
        ([], None, "losses"),
        ([torch.ones(2, requires_grad=True)], None, "losses"),
        ([torch.tensor(1.0, requires_grad=True)], [], "params"),
    ],
)
def test_flat_task_gradients_bad_input(losses, params, match):
    params = [torch.nn.Parameter(torch.ones(2))] if params is None else params
    with pytest.raises(ValueError, match=match):
        flat_task_gradients(losses, params)


@pytest.mark.parametrize(
    ("params", "vector", "match"),
    [
        ([torch.nn.Parameter(torch.ones(2))], torch.ones(3), "vector"),
        ([torch.nn.Parameter(torch.ones(2))], torch.ones(1, 2), "vector"),
        ([torch.nn.Parameter(torch.ones(2))], torch.tensor([1, 2]), "vector"),
        ([], torch.ones(0), "params"),
    ],
)
def test_set_flat_gradient_bad_input(params, vector, match):
    with pytest.raises(ValueError, match=match):
        set_flat_gradient(params, vector)


def test_set_flat_gradient_splits_the_vector_in_parameter_order():
    p1, p2 = torch.nn.Parameter(torch.zeros(2, 2, dtype=F64)), torch.nn.Parameter(torch.zeros(3, dtype=F64))
    set_flat_gradient([p1, p2], torch.arange(7, dtype=F64))
    torch.testing.assert_close(p1.grad, vec(0.0, 1.0, 2.0, 3.0).reshape(2, 2), rtol=0, atol=0)
    torch.testing.assert_close(p2.grad, vec(4.0, 5.0, 6.0), rtol=0, atol=0)


# ---------------------------------------------------------------- claims of chapter 4.5.3


@pytest.mark.parametrize(("a", "b"), [(1.0, 4.0), (3.0, 0.5), (2.0, 2.0)])
def test_min_norm_direction_vanishes_at_a_pareto_stationary_pair(a, b):
    # opposite gradients: 0 lies in their convex hull, so the MGDA certificate is 0
    g1, g2 = vec(a, 0.0, 0.0), vec(-b, 0.0, 0.0)
    assert min_norm_direction(g1, g2).norm().item() < 1e-15
    assert min_norm_alpha(g1, g2).item() == pytest.approx(b / (a + b), rel=1e-12)


def test_worked_example_of_the_chapter():
    g1, g2 = vec(6.0, 0.0), vec(-1.0, 1.0)
    assert min_norm_alpha(g1, g2).item() == pytest.approx(0.16, rel=1e-12)
    torch.testing.assert_close(min_norm_direction(g1, g2), vec(0.12, 0.84), rtol=1e-12, atol=1e-15)
    r = 2**-0.5
    torch.testing.assert_close(normalized_gradient([g1, g2]), vec(1 - r, r), rtol=1e-12, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=3, max_size=3), st.lists(finite, min_size=3, max_size=3))
def test_two_task_equal_weight_normalised_direction_lowers_both_losses(x1, x2):
    g1, g2 = torch.tensor(x1, dtype=F64), torch.tensor(x2, dtype=F64)
    d = normalized_gradient([g1, g2])
    for gk in (g1, g2):
        assert (gk @ d).item() >= -1e-9 * max(1.0, gk.norm().item())


def test_mgda_is_not_scale_invariant_but_stays_a_common_descent_direction():
    g1, g2 = vec(1.0, 0.2, 0.0), vec(-0.3, 1.0, 0.5)
    a1, a100 = min_norm_alpha(g1, g2), min_norm_alpha(100 * g1, g2)
    assert a100.item() < a1.item()  # the min-norm point moves towards the smaller gradient
    d = min_norm_direction(100 * g1, g2)
    assert min((100 * g1) @ d, g2 @ d).item() >= (d @ d).item() * (1 - 1e-12)
