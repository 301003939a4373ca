"""inverse_norm_weights, eq. (4.5.28)."""

import pytest
import torch

from llmloss.multitask import inverse_norm_weights


def test_weights_are_inverse_norms():
    grads = [torch.tensor([3.0, 4.0], dtype=torch.float64), torch.tensor([0.0, 0.5], dtype=torch.float64)]
    w = inverse_norm_weights(grads, eps=0.0 + 1e-12)
    torch.testing.assert_close(w, torch.tensor([1 / 5, 2.0], dtype=torch.float64), rtol=1e-9, atol=0)


def test_weighted_gradients_have_unit_norm_up_to_eps():
    g = torch.Generator().manual_seed(0)
    grads = [torch.randn(7, generator=g, dtype=torch.float64) * s for s in (0.01, 1.0, 300.0)]
    w = inverse_norm_weights(grads, eps=1e-10)
    norms = torch.stack([torch.linalg.vector_norm(wk * gk) for wk, gk in zip(w, grads, strict=True)])
    torch.testing.assert_close(norms, torch.ones(3, dtype=torch.float64), rtol=1e-7, atol=0)


def test_zero_gradient_gives_a_finite_weight():
    w = inverse_norm_weights([torch.zeros(3), torch.ones(3)], eps=1e-8)
    assert torch.isfinite(w).all() and w[0] == pytest.approx(1e8)


@pytest.mark.parametrize(
    ("grads", "eps", "match"),
    [([], 1e-8, "grads"), ([torch.ones(2), torch.ones(3)], 1e-8, "grads"), ([torch.ones(2)], 0.0, "eps")],
)
def test_bad_input(grads, eps, match):
    with pytest.raises(ValueError, match=match):
        inverse_norm_weights(grads, eps=eps)
