"""Sparse and gated softmax, the sparsemax loss, the top-k mixture-of-experts router
and the chunked linear cross-entropy, section 4.5.6: eqs. (4.5.29), (4.5.30)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from llmloss.frontiers import (
    chunked_linear_cross_entropy,
    gate_weighted_softmax,
    gated_softmax,
    linear_moe,
    logits_bytes,
    moe_gates,
    plain_linear_cross_entropy,
    sparsemax,
    sparsemax_loss,
    topk_mask,
    topk_softmax,
)

F64 = torch.float64
logit_lists = st.lists(st.floats(-30, 30, allow_nan=False), min_size=1, max_size=12)


def randn(*shape, seed=0, dtype=F64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ---------------------------------------------------------------- top-k softmax, eq. (4.5.29)


def test_topk_softmax_hand_example():
    z = torch.log(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=F64))
    torch.testing.assert_close(topk_softmax(z, 2), torch.tensor([0, 0, 3 / 7, 4 / 7], dtype=F64))
    torch.testing.assert_close(topk_softmax(z, 1), torch.tensor([0, 0, 0, 1.0], dtype=F64))


@settings(max_examples=60, deadline=None)
@given(values=logit_lists, data=st.data())
def test_topk_softmax_normalised_with_k_nonzeros(values, data):
    z = torch.tensor(values, dtype=F64)
    k = data.draw(st.integers(1, len(values)))
    p = topk_softmax(z, k)
    assert torch.isclose(p.sum(), torch.tensor(1.0, dtype=F64), atol=1e-12)
    assert int((p > 0).sum()) <= k and int(topk_mask(z, k).sum()) == k
    assert torch.all(p[~topk_mask(z, k)] == 0)


@settings(max_examples=40, deadline=None)
@given(values=logit_lists)
def test_topk_softmax_with_k_equal_size_is_the_softmax(values):
    z = torch.tensor(values, dtype=F64)
    torch.testing.assert_close(topk_softmax(z, len(values)), torch.softmax(z, -1), rtol=1e-12, atol=1e-14)


def test_topk_ties_go_to_the_lower_index_and_dim_is_respected():
    z = torch.tensor([1.0, 2.0, 2.0, 2.0, 0.0], dtype=F64)
    assert topk_mask(z, 2).tolist() == [False, True, True, False, False]
    x = randn(5, 3, seed=1)
    torch.testing.assert_close(topk_softmax(x, 2, dim=0), topk_softmax(x.T, 2).T)


def test_topk_softmax_extreme_logits_are_finite_and_gradcheck():
    z = torch.tensor([[1e30, -1e30, 0.0, 5.0]], dtype=F64)
    assert torch.isfinite(topk_softmax(z, 3)).all()
    x = randn(3, 6, seed=2).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: topk_softmax(t, 3), (x,))


@pytest.mark.parametrize("k", [0, 5, -1, 2.0, True])
def test_topk_bad_k(k):
    with pytest.raises(ValueError, match="k"):
        topk_softmax(torch.zeros(4), k)


def test_topk_bad_z_and_dim():
    with pytest.raises(ValueError, match="z"):
        topk_softmax(torch.arange(4), 2)
    with pytest.raises(ValueError, match="z"):
        topk_softmax(torch.zeros(3, 0), 1)
    with pytest.raises(ValueError, match="dim"):
        topk_softmax(torch.zeros(3), 1, dim=1)


# ---------------------------------------------------------------- sparsemax


def test_sparsemax_hand_examples():
    # sorted 1, 0.5, -1: support {1, 0.5}, tau = (1.5 - 1) / 2 = 0.25
    torch.testing.assert_close(
        sparsemax(torch.tensor([0.5, -1.0, 1.0], dtype=F64)), torch.tensor([0.25, 0, 0.75], dtype=F64)
    )
    torch.testing.assert_close(sparsemax(torch.zeros(4, dtype=F64)), torch.full((4,), 0.25, dtype=F64))
    torch.testing.assert_close(sparsemax(torch.tensor([3.0, 0.0], dtype=F64)), torch.tensor([1.0, 0.0], dtype=F64))


@settings(max_examples=60, deadline=None)
@given(values=logit_lists)
def test_sparsemax_is_the_projection_onto_the_simplex(values):
    z = torch.tensor(values, dtype=F64)
    p = sparsemax(z)
    assert torch.all(p >= 0) and torch.isclose(p.sum(), torch.tensor(1.0, dtype=F64), atol=1e-10)
    # KKT conditions of min ||p - z||^2 on the simplex: z_i - p_i = tau on the support, z_i <= tau off it.
    support = p > 0
    tau = (z[support] - p[support]).mean()
    torch.testing.assert_close(z[support] - p[support], tau.expand(int(support.sum())), rtol=0, atol=1e-9)
    assert torch.all(z[~support] <= tau + 1e-9)


def test_sparsemax_jacobian_and_dim():
    z = torch.tensor([0.9, 0.1, 0.6, -2.0], dtype=F64, requires_grad=True)
    jac = torch.autograd.functional.jacobian(sparsemax, z)
    s = (sparsemax(z) > 0).to(F64)
    expected = torch.diag(s) - torch.outer(s, s) / s.sum()  # Martins and Astudillo (2016), eq. (12)
    torch.testing.assert_close(jac, expected)
    assert torch.autograd.gradcheck(sparsemax, (z,))
    x = randn(6, 4, seed=3)
    torch.testing.assert_close(sparsemax(x, dim=0), sparsemax(x.T).T)
    assert torch.isfinite(sparsemax(torch.tensor([1e30, -1e30, 0.0], dtype=F64))).all()


def test_sparsemax_bad_input():
    with pytest.raises(ValueError, match="z"):
        sparsemax(torch.arange(3))


# ---------------------------------------------------------------- sparsemax loss


def _sparsemax_loss_reference(z, y):
    """Fenchel-Young form 1/2 ||e_y - z||^2 - 1/2 ||p - z||^2, from the sparsemax output."""
    onehot = F.one_hot(y, z.shape[-1]).to(z.dtype)
    return 0.5 * ((onehot - z) ** 2).sum(-1) - 0.5 * ((sparsemax(z) - z) ** 2).sum(-1)


def test_sparsemax_loss_hand_examples():
    # equal logits: p uniform, tau = -1/V, L = 1/2 - 1/(2V)
    assert sparsemax_loss(torch.zeros(1, 4, dtype=F64), torch.tensor([0])).item() == pytest.approx(0.375)
    # z = (2, 1.6, 1.2, 0.9): S = {0, 1}, tau = 1.3; target outside S: finite loss
    z = torch.tensor([[2.0, 1.6, 1.2, 0.9]], dtype=F64)
    assert sparsemax_loss(z, torch.tensor([3])).item() == pytest.approx(1.19)
    assert sparsemax_loss(z, torch.tensor([0])).item() == pytest.approx(0.09)
    assert sparsemax_loss(torch.tensor([[5.0, 0.0]], dtype=F64), torch.tensor([0])).item() == 0


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(-20, 20, allow_nan=False), min_size=2, max_size=10), data=st.data())
def test_sparsemax_loss_properties(values, data):
    z = torch.tensor([values], dtype=F64, requires_grad=True)
    y = torch.tensor([data.draw(st.integers(0, len(values) - 1))])
    loss = sparsemax_loss(z, y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, z)
    p, onehot = sparsemax(z.detach()), F.one_hot(y, len(values)).to(F64)
    torch.testing.assert_close(grad, p - onehot, rtol=0, atol=1e-9)
    torch.testing.assert_close(loss.detach(), _sparsemax_loss_reference(z.detach(), y)[0], rtol=1e-9, atol=1e-7)
    assert loss.item() >= -1e-9
    assert (loss.item() <= 1e-9) == bool(torch.allclose(p, onehot, atol=1e-12))
    torch.testing.assert_close(sparsemax_loss(z.detach() + 7.5, y, "sum"), loss.detach(), rtol=1e-9, atol=1e-9)


def test_sparsemax_loss_reductions_shapes_gradcheck_and_dtypes():
    z, y = randn(2, 3, 5, seed=4), torch.tensor([[0, 4, 2], [1, 1, 3]])
    per_item = sparsemax_loss(z, y, reduction="none")
    assert per_item.shape == (2, 3)
    torch.testing.assert_close(per_item, _sparsemax_loss_reference(z, y))
    torch.testing.assert_close(sparsemax_loss(z, y, reduction="sum"), per_item.sum())
    torch.testing.assert_close(sparsemax_loss(z, y), per_item.mean())
    assert torch.autograd.gradcheck(lambda t: sparsemax_loss(t, y, "none"), (z.clone().requires_grad_(),))
    assert sparsemax_loss(z.half(), y).dtype == torch.float32
    big = torch.tensor([[1e6, -1e6, 0.0]], dtype=torch.float32)
    assert torch.isfinite(sparsemax_loss(big, torch.tensor([1])))
    masked = torch.tensor([[0.0, float("-inf"), 1.0]], dtype=F64, requires_grad=True)
    loss = sparsemax_loss(masked, torch.tensor([2]), "sum")
    loss.backward()
    assert loss.item() == 0 and torch.isfinite(masked.grad).all()


@pytest.mark.parametrize(
    "z, y, reduction, match",
    [
        (torch.zeros(2, 3, dtype=torch.long), torch.tensor([0, 1]), "mean", "z"),
        (torch.zeros(2, 3), torch.tensor([0.0, 1.0]), "mean", "target"),
        (torch.zeros(2, 3), torch.tensor([0, 1, 2]), "mean", "target must have shape"),
        (torch.zeros(2, 3), torch.tensor([0, 3]), "mean", r"target must lie in \[0, 3\)"),
        (torch.zeros(2, 3), torch.tensor([-1, 0]), "mean", "target must lie"),
        (torch.zeros(2, 3), torch.tensor([0, 1]), "avg", "reduction"),
        (torch.zeros(2, 0), torch.zeros(2, dtype=torch.long), "mean", "at least one entry"),
    ],
)
def test_sparsemax_loss_bad_input(z, y, reduction, match):
    with pytest.raises(ValueError, match=match):
        sparsemax_loss(z, y, reduction=reduction)


# ---------------------------------------------------------------- top-k mixture-of-experts router


def test_moe_gates_renormalised_and_switch_style():
    logits = randn(5, 4, seed=8)
    torch.testing.assert_close(moe_gates(logits, 2), topk_softmax(logits, 2))
    switch = moe_gates(logits, 1, renormalize=False)
    torch.testing.assert_close(switch.sum(-1), torch.softmax(logits, -1).amax(-1))
    assert torch.all((switch > 0).sum(-1) == 1)
    # top-1 renormalised: the selected weight is the constant 1, so the router gets no gradient
    leaf = logits.clone().requires_grad_()
    (grad_renorm,) = torch.autograd.grad((moe_gates(leaf, 1) * randn(5, 4, seed=9)).sum(), leaf)
    assert torch.all(grad_renorm == 0)
    (grad_switch,) = torch.autograd.grad((moe_gates(leaf, 1, False) * randn(5, 4, seed=9)).sum(), leaf)
    assert torch.all(grad_switch.abs().sum(-1) > 0)


def test_linear_moe_equals_sparse_dispatch_and_unselected_experts_get_no_gradient():
    x, gate_w = randn(7, 3, seed=10), randn(4, 3, seed=11)
    experts = randn(4, 2, 3, seed=12).requires_grad_()
    noise = randn(7, 4, seed=13)
    out, gates = linear_moe(x, gate_w, experts, k=2, router_noise=noise)
    torch.testing.assert_close(gates, topk_softmax(x @ gate_w.T + noise, 2))
    chosen = topk_mask(x @ gate_w.T + noise, 2)
    reference = torch.stack(
        [sum(gates[n, e] * (experts[e] @ x[n]) for e in range(4) if chosen[n, e]) for n in range(7)]
    )
    torch.testing.assert_close(out, reference)
    (grad,) = torch.autograd.grad(out[0].sum(), experts)  # one token
    assert torch.all(grad[~chosen[0]] == 0) and torch.all(grad[chosen[0]].abs().sum((1, 2)) > 0)
    router = gate_w.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda w: linear_moe(x, w, experts.detach(), 2)[0], (router,))


@pytest.mark.parametrize(
    "args, match",
    [
        ((torch.zeros(3, 2), torch.zeros(4, 2), torch.zeros(4, 1, 2), 0), "k must be"),
        ((torch.zeros(3, 2), torch.zeros(4, 2), torch.zeros(4, 1, 2), 5), "k must be"),
        ((torch.zeros(3, 2), torch.zeros(4, 3), torch.zeros(4, 1, 2), 1), "shapes"),
        ((torch.zeros(3, 2), torch.zeros(4, 2), torch.zeros(3, 1, 2), 1), "shapes"),
        ((torch.zeros(3, 2), torch.zeros(4, 2), torch.zeros(4, 2), 1), "expert_weights"),
        ((torch.zeros(3, 2, dtype=torch.long), torch.zeros(4, 2), torch.zeros(4, 1, 2), 1), "x"),
    ],
)
def test_linear_moe_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        linear_moe(*args)


def test_moe_bad_noise_and_renormalize():
    with pytest.raises(ValueError, match="router_noise"):
        linear_moe(torch.zeros(3, 2), torch.zeros(4, 2), torch.zeros(4, 1, 2), 1, router_noise=torch.zeros(3, 3))
    with pytest.raises(ValueError, match="renormalize"):
        moe_gates(torch.zeros(3, 4), 1, renormalize="yes")


# ---------------------------------------------------------------- gated softmax, eq. (4.5.30)


def test_gated_softmax_is_softmax_of_g_times_z():
    z, g = randn(3, 5, seed=4), randn(5, seed=5).abs()
    torch.testing.assert_close(gated_softmax(z, g), torch.softmax(g * z, -1))
    torch.testing.assert_close(gated_softmax(z, torch.ones(5, dtype=F64)), torch.softmax(z, -1))
    # g_i = 0 sets z_i to 0: for z_i < 0 the "closed" gate raises p_i
    z1 = torch.tensor([-3.0, 1.0, 0.5], dtype=F64)
    closed = gated_softmax(z1, torch.tensor([0.0, 1.0, 1.0], dtype=F64))
    assert closed[0] > torch.softmax(z1, -1)[0]


def test_gate_weighted_softmax_is_a_real_gate():
    z, gate = randn(2, 4, seed=6), torch.tensor([0.0, 1.0, 0.5, 2.0], dtype=F64)
    p = gate_weighted_softmax(z, gate)
    torch.testing.assert_close(p, torch.softmax(z + gate.log(), -1))
    expected = gate * z.exp() / (gate * z.exp()).sum(-1, keepdim=True)
    torch.testing.assert_close(p, expected)
    assert torch.all(p[:, 0] == 0)
    torch.testing.assert_close(gate_weighted_softmax(z, torch.ones(4, dtype=F64)), torch.softmax(z, -1))


def test_gate_weighted_softmax_gradients_are_finite_at_a_closed_gate():
    z = torch.tensor([[3.0, -1.0, 0.5, 40.0]], dtype=F64, requires_grad=True)
    gate = torch.tensor([[1.0, 0.5, 2.0, 0.0]], dtype=F64, requires_grad=True)
    p = gate_weighted_softmax(z, gate)
    assert p[0, 3] == 0 and torch.isfinite(p).all()
    (dz, dg) = torch.autograd.grad(p[0, 0], (z, gate))
    assert torch.isfinite(dz).all() and torch.isfinite(dg).all()
    # dp_0/dgate_3 = -p_0 exp(z_3) / sum_j gate_j exp(z_j): finite although gate_3 = 0
    denominator = (gate * z.exp()).sum().detach()
    expected = -(p[0, 0] * z[0, 3].exp() / denominator).detach()
    torch.testing.assert_close(dg[0, 3], expected)
    assert torch.autograd.gradcheck(lambda t: gate_weighted_softmax(t, gate.detach()), (z,))
    positive = torch.tensor([[1.0, 0.5, 2.0, 0.3]], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda q: gate_weighted_softmax(z.detach(), q), (positive,))


@pytest.mark.parametrize("g", [torch.ones(3), torch.ones(3, 4), torch.ones(4, 1, 4), torch.ones(4, dtype=torch.long)])
def test_gated_softmax_bad_gate(g):
    with pytest.raises(ValueError, match="g"):
        gated_softmax(torch.zeros(2, 4), g)


@pytest.mark.parametrize("gate", [torch.tensor([1.0, -1.0, 1.0]), torch.zeros(3), torch.ones(2)])
def test_gate_weighted_softmax_bad_gate(gate):
    with pytest.raises(ValueError, match="gate"):
        gate_weighted_softmax(torch.zeros(3), gate)


# ---------------------------------------------------------------- chunked linear cross-entropy


def _problem(n=13, d=5, v=11, seed=7, ignored=(2, 9)):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(n, d, generator=g, dtype=F64)
    weight = torch.randn(v, d, generator=g, dtype=F64)
    targets = torch.randint(0, v, (n,), generator=g)
    targets[list(ignored)] = -100
    return hidden, weight, targets


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("chunk_size", [1, 4, 13, 100])
def test_chunked_equals_plain_in_value_and_gradients(reduction, chunk_size):
    hidden, weight, targets = _problem()
    results = []
    for fn in (
        lambda h, w: chunked_linear_cross_entropy(h, w, targets, chunk_size=chunk_size, reduction=reduction),
        lambda h, w: F.cross_entropy(h @ w.T, targets, reduction=reduction),
    ):
        h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
        loss = fn(h, w)
        upstream = torch.linspace(0.5, 1.5, loss.numel(), dtype=F64).reshape(loss.shape)
        (loss * upstream).sum().backward()
        results.append((loss.detach(), h.grad, w.grad))
    for got, want in zip(results[0], results[1], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)


def test_chunked_hand_example():
    # logits = hidden @ weight.T = [[0, log 3]]: loss for target 1 is log(1 + 3) - log 3
    hidden = torch.tensor([[1.0]], dtype=F64)
    weight = torch.tensor([[0.0], [math.log(3.0)]], dtype=F64)
    loss = chunked_linear_cross_entropy(hidden, weight, torch.tensor([1]))
    assert loss.item() == pytest.approx(math.log(4 / 3), rel=1e-14)


def test_chunked_gradcheck_float64_and_batch_shape():
    hidden, weight, targets = _problem(n=6, d=3, v=5, ignored=(1,))
    hidden.requires_grad_()
    weight.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda h, w: chunked_linear_cross_entropy(h, w, targets, chunk_size=4, reduction="none"), (hidden, weight)
    )
    h3, t3 = hidden.detach().reshape(2, 3, 3), targets.reshape(2, 3)
    out = chunked_linear_cross_entropy(h3, weight.detach(), t3, chunk_size=2, reduction="none")
    torch.testing.assert_close(out, plain_linear_cross_entropy(h3, weight.detach(), t3, reduction="none"))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_chunked_gradcheck_scalar_reductions_and_one_input(reduction):
    hidden, weight, targets = _problem(n=5, d=3, v=4, ignored=(3,))
    h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: chunked_linear_cross_entropy(a, b, targets, chunk_size=2, reduction=reduction), (h, w)
    )
    # Only one input needs a gradient: the other branch of the backward pass is skipped.
    (gh,) = torch.autograd.grad(chunked_linear_cross_entropy(h, weight, targets, chunk_size=2), (h,))
    (gw,) = torch.autograd.grad(chunked_linear_cross_entropy(hidden, w, targets, chunk_size=3), (w,))
    ref_h, ref_w = torch.autograd.grad(F.cross_entropy(h @ w.T, targets), (h, w))
    torch.testing.assert_close(gh, ref_h, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(gw, ref_w, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("ignore_index", [-1, 3])
def test_chunked_custom_ignore_index_matches_cross_entropy(ignore_index):
    hidden, weight, targets = _problem(ignored=())
    targets[[0, 5, 6]] = ignore_index  # 3 is also a valid class: every target 3 is ignored then
    for reduction in ("mean", "sum", "none"):
        h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
        got = chunked_linear_cross_entropy(h, w, targets, chunk_size=4, ignore_index=ignore_index, reduction=reduction)
        want = F.cross_entropy(h @ w.T, targets, ignore_index=ignore_index, reduction=reduction)
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)
        g_got = torch.autograd.grad(got.sum(), (h, w))
        g_want = torch.autograd.grad(want.sum(), (h, w))
        for a, b in zip(g_got, g_want, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)


def test_chunked_float32_matches_plain():
    hidden, weight, targets = (t.float() if t.is_floating_point() else t for t in _problem(n=40, d=8, v=300))
    h, w = hidden.requires_grad_(), weight.requires_grad_()
    got = chunked_linear_cross_entropy(h, w, targets, chunk_size=7)
    want = F.cross_entropy(h @ w.T, targets)
    torch.testing.assert_close(got, want)
    for a, b in zip(torch.autograd.grad(got, (h, w)), torch.autograd.grad(want, (h, w)), strict=True):
        torch.testing.assert_close(a, b)


def test_chunked_all_ignored_gives_zero_not_nan():
    hidden, weight, _ = _problem()
    hidden.requires_grad_()
    targets = torch.full((13,), -100)
    loss = chunked_linear_cross_entropy(hidden, weight, targets, chunk_size=5)
    loss.backward()
    assert loss.item() == 0.0 and torch.all(hidden.grad == 0)


def test_chunked_no_tokens_gives_zero():
    weight = torch.randn(4, 3, dtype=F64)
    hidden = torch.zeros(0, 3, dtype=F64, requires_grad=True)
    loss = chunked_linear_cross_entropy(hidden, weight, torch.zeros(0, dtype=torch.long))
    assert loss.item() == 0.0


def test_chunked_extreme_logits_are_finite():
    hidden, weight, targets = _problem()
    loss = chunked_linear_cross_entropy(hidden * 1e4, weight, targets, chunk_size=3)
    torch.testing.assert_close(loss, F.cross_entropy((hidden * 1e4) @ weight.T, targets))
    assert torch.isfinite(loss)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size"),
        ({"weight": torch.zeros(11, 4, dtype=F64)}, "weight"),
        ({"weight": torch.zeros(11, 5, dtype=torch.float32)}, "weight"),
        ({"targets": torch.full((13,), 11)}, "targets"),
        ({"targets": torch.full((13,), -1)}, "targets"),
        ({"targets": torch.zeros(12, dtype=torch.long)}, "targets"),
        ({"targets": torch.zeros(13)}, "targets"),
        ({"hidden": torch.zeros(13, 5, dtype=torch.long)}, "hidden"),
        ({"targets": torch.zeros(13, dtype=torch.long, device="meta")}, "targets"),
        ({"reduction": "avg"}, "reduction"),
    ],
)
def test_chunked_bad_input(change, match):
    hidden, weight, targets = _problem()
    kwargs = {"hidden": hidden, "weight": weight, "targets": targets, "chunk_size": 4, "reduction": "mean"} | change
    with pytest.raises(ValueError, match=match):
        chunked_linear_cross_entropy(**kwargs)


# ---------------------------------------------------------------- measuring helpers (functional, not timed)


def test_logits_bytes():
    assert logits_bytes(8192, 256_000) == 8192 * 256_000 * 4
    assert logits_bytes(2, 3, torch.bfloat16) == 12
    with pytest.raises(ValueError, match="vocab"):
        logits_bytes(1, -1)
