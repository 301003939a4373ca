"""Tests of llmloss.attention: positional encodings, attention masks and the
tiny transformer used to test Theorem 4.5.1 (what a model can know of order)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmloss.attention import TinyTransformer, apply_rope, attention_mask, sinusoidal_positions
from llmloss.device import cpu_generator
from llmloss.lm import prefix_lm_mask

VOCAB = 13
SEQ_LEN = 7


def _distinct_tokens(seed=0, batch=2, seq_len=SEQ_LEN):
    """Tokens without repeats in a row, so that every permutation changes the input."""
    g = cpu_generator(seed)
    return torch.stack([torch.randperm(VOCAB, generator=g)[:seq_len] for _ in range(batch)])


def _model(attention="causal", positions="none", seed=0, **kwargs):
    return (
        TinyTransformer(
            VOCAB, dim=16, n_layers=2, n_heads=2, attention=attention, positions=positions, seed=seed, **kwargs
        )
        .double()
        .eval()
    )


# ---------------------------------------------------------------- sinusoidal_positions


def test_sinusoidal_positions_shape_and_dtype():
    pe = sinusoidal_positions(10, 8)
    assert pe.shape == (10, 8)
    assert pe.dtype == torch.float32
    assert sinusoidal_positions(3, 4, dtype=torch.float64).dtype == torch.float64


def test_sinusoidal_positions_at_t0():
    pe = sinusoidal_positions(4, 6, dtype=torch.float64)
    assert (pe[0, 0::2] == 0).all()
    assert (pe[0, 1::2] == 1).all()


@pytest.mark.parametrize(("t", "i"), [(1, 0), (3, 1), (7, 2), (11, 3)])
def test_sinusoidal_positions_known_entries(t, i):
    dim, base = 8, 10000.0
    pe = sinusoidal_positions(12, dim, dtype=torch.float64)
    angle = t / base ** (2 * i / dim)
    assert pe[t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-14)
    assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-14)


def test_sinusoidal_positions_custom_base():
    pe = sinusoidal_positions(5, 4, base=100.0, dtype=torch.float64)
    assert pe[4, 2].item() == pytest.approx(math.sin(4 / 100.0**0.5), abs=1e-14)


def test_sinusoidal_positions_are_bounded():
    pe = sinusoidal_positions(50, 16, dtype=torch.float64)
    assert pe.abs().max() <= 1.0
    # sin^2 + cos^2 = 1 for every frequency and position.
    torch.testing.assert_close(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, torch.ones(50, 8, dtype=torch.float64))


@pytest.mark.parametrize("dim", [3, 7, 1, 0])
def test_sinusoidal_positions_rejects_odd_dim(dim):
    with pytest.raises(ValueError, match="dim"):
        sinusoidal_positions(4, dim)


# ---------------------------------------------------------------- apply_rope


def test_apply_rope_preserves_pair_norms():
    x = torch.randn(2, 3, 9, 8, generator=cpu_generator(1), dtype=torch.float64)
    y = apply_rope(x)
    assert y.shape == x.shape
    assert y.dtype == x.dtype
    pair_norms = x[..., 0::2] ** 2 + x[..., 1::2] ** 2
    torch.testing.assert_close(y[..., 0::2] ** 2 + y[..., 1::2] ** 2, pair_norms, rtol=1e-12, atol=1e-12)


def test_apply_rope_position_zero_unchanged():
    x = torch.randn(4, 6, generator=cpu_generator(2), dtype=torch.float64)
    y = apply_rope(x)
    assert torch.equal(y[0], x[0])
    assert not torch.allclose(y[1:], x[1:])


def test_apply_rope_known_rotation():
    # Position 1, first pair: rotation by angle 1 (frequency base^0 = 1).
    x = torch.zeros(2, 4, dtype=torch.float64)
    x[1, 0] = 1.0
    y = apply_rope(x)
    assert y[1, 0].item() == pytest.approx(math.cos(1.0), abs=1e-14)
    assert y[1, 1].item() == pytest.approx(math.sin(1.0), abs=1e-14)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), half_dim=st.integers(1, 6), seq_len=st.integers(2, 10))
def test_apply_rope_dot_products_depend_only_on_offset(seed, half_dim, seq_len):
    dim = 2 * half_dim
    g = cpu_generator(seed)
    q = torch.randn(dim, generator=g, dtype=torch.float64).expand(seq_len, dim)
    k = torch.randn(dim, generator=g, dtype=torch.float64).expand(seq_len, dim)
    scores = apply_rope(q) @ apply_rope(k).T  # scores[m, n] = <rope(q)_m, rope(k)_n>
    for offset in range(-(seq_len - 1), seq_len):
        diagonal = scores.diagonal(offset)
        torch.testing.assert_close(diagonal, diagonal[:1].expand_as(diagonal), rtol=1e-12, atol=1e-12)
    # ... and it does depend on the offset: position zero equals <q, k>.
    assert scores[0, 0].item() == pytest.approx((q[0] @ k[0]).item(), abs=1e-12)


def test_apply_rope_batch_dims_act_independently():
    x = torch.randn(3, 5, 6, generator=cpu_generator(3), dtype=torch.float64)
    y = apply_rope(x)
    for b in range(3):
        torch.testing.assert_close(y[b], apply_rope(x[b]), rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 7), (6,)])
def test_apply_rope_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="even"):
        apply_rope(torch.zeros(shape))


# ---------------------------------------------------------------- attention_mask


def test_attention_mask_kinds_agree_with_prefix_lm_mask():
    assert torch.equal(attention_mask("causal", 6), prefix_lm_mask(0, 6))
    assert torch.equal(attention_mask("bidirectional", 6), prefix_lm_mask(6, 6))
    assert attention_mask("bidirectional", 6).all()
    for k in range(7):
        assert torch.equal(attention_mask("prefix", 6, prefix_len=k), prefix_lm_mask(k, 6))


def test_attention_mask_causal_ignores_prefix_len():
    assert torch.equal(attention_mask("causal", 5, prefix_len=3), prefix_lm_mask(0, 5))


@pytest.mark.parametrize("kind", ["full", "Causal", "", "prefix_lm"])
def test_attention_mask_rejects_unknown_kind(kind):
    with pytest.raises(ValueError, match="kind"):
        attention_mask(kind, 4)


# ---------------------------------------------------------------- TinyTransformer


def test_tiny_transformer_output_shape():
    model = TinyTransformer(VOCAB, dim=16, n_heads=2, seed=0)
    tokens = _distinct_tokens(seed=1, batch=3, seq_len=5)
    logits = model(tokens)
    assert logits.shape == (3, 5, VOCAB)
    assert logits.dtype == torch.float32
    assert torch.isfinite(logits).all()


def test_tiny_transformer_extra_batch_dims():
    model = _model()
    tokens = _distinct_tokens(seed=2, batch=4).reshape(2, 2, SEQ_LEN)
    logits = model(tokens)
    assert logits.shape == (2, 2, SEQ_LEN, VOCAB)
    torch.testing.assert_close(logits.reshape(4, SEQ_LEN, VOCAB), model(tokens.reshape(4, SEQ_LEN)))


def test_tiny_transformer_same_seed_same_parameters():
    a = TinyTransformer(VOCAB, dim=16, positions="rope", seed=5)
    b = TinyTransformer(VOCAB, dim=16, positions="rope", seed=5)
    for (name_a, p_a), (name_b, p_b) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert name_a == name_b
        assert torch.equal(p_a, p_b), name_a


def test_tiny_transformer_same_seed_ignores_global_rng():
    torch.manual_seed(1)
    a = TinyTransformer(VOCAB, dim=16, seed=5)
    torch.manual_seed(2)
    b = TinyTransformer(VOCAB, dim=16, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_tiny_transformer_different_seed_different_parameters():
    a = TinyTransformer(VOCAB, dim=16, seed=5)
    b = TinyTransformer(VOCAB, dim=16, seed=6)
    params_b = dict(b.named_parameters())
    random_names = [n for n in params_b if "norm" not in n and not n.endswith("bias")]
    assert random_names
    for name, p in a.named_parameters():
        if name in random_names:
            assert not torch.equal(p, params_b[name]), name


def _permutation_gap(model, tokens, perm):
    """max |model(tokens[perm]) - model(tokens)[perm]| over positions."""
    with torch.no_grad():
        return (model(tokens[:, perm]) - model(tokens)[:, perm]).abs().max().item()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bidirectional_nope_is_permutation_equivariant(seed):
    model = _model("bidirectional", "none", seed=seed)
    tokens = _distinct_tokens(seed=10 + seed)
    perm = torch.randperm(SEQ_LEN, generator=cpu_generator(20 + seed))
    assert not torch.equal(perm, torch.arange(SEQ_LEN))
    assert _permutation_gap(model, tokens, perm) < 1e-10


def test_causal_nope_is_not_permutation_equivariant():
    model = _model("causal", "none", seed=0)
    tokens = _distinct_tokens(seed=11)
    perm = torch.randperm(SEQ_LEN, generator=cpu_generator(21))
    assert _permutation_gap(model, tokens, perm) > 1e-3


@pytest.mark.parametrize("positions", ["sinusoidal", "rope"])
def test_positions_break_permutation_symmetry(positions):
    model = _model("bidirectional", positions, seed=0)
    tokens = _distinct_tokens(seed=12)
    perm = torch.randperm(SEQ_LEN, generator=cpu_generator(22))
    assert _permutation_gap(model, tokens, perm) > 1e-3


@pytest.mark.parametrize("positions", ["none", "sinusoidal", "rope"])
def test_causal_logits_do_not_depend_on_later_tokens(positions):
    model = _model("causal", positions, seed=3)
    tokens = _distinct_tokens(seed=13, batch=1)
    with torch.no_grad():
        before = model(tokens)
        for t in range(1, SEQ_LEN):
            changed = tokens.clone()
            changed[0, t] = (tokens[0, t] + 1) % VOCAB
            after = model(changed)
            assert (after[0, :t] - before[0, :t]).abs().max().item() < 1e-12
            # The change is visible from position t on.
            assert (after[0, t:] - before[0, t:]).abs().max().item() > 1e-6


def test_prefix_attention_sees_the_whole_prefix():
    prefix_len = 3
    model = _model("prefix", "rope", seed=4)
    tokens = _distinct_tokens(seed=14, batch=1)
    with torch.no_grad():
        before = model(tokens, prefix_len=prefix_len)
        # A later prefix token changes the logits at position 0 ...
        changed = tokens.clone()
        changed[0, prefix_len - 1] = (tokens[0, prefix_len - 1] + 1) % VOCAB
        assert (model(changed, prefix_len=prefix_len)[0, 0] - before[0, 0]).abs().max().item() > 1e-6
        # ... but a token after the prefix changes nothing before it.
        changed = tokens.clone()
        changed[0, prefix_len + 1] = (tokens[0, prefix_len + 1] + 1) % VOCAB
        after = model(changed, prefix_len=prefix_len)
        assert (after[0, : prefix_len + 1] - before[0, : prefix_len + 1]).abs().max().item() < 1e-12


def test_prefix_attention_with_zero_prefix_is_causal():
    tokens = _distinct_tokens(seed=15)
    with torch.no_grad():
        prefix = _model("prefix", "sinusoidal", seed=6)(tokens, prefix_len=0)
        causal = _model("causal", "sinusoidal", seed=6)(tokens)
    torch.testing.assert_close(prefix, causal, rtol=0, atol=0)


@pytest.mark.parametrize("attention", ["full", "Causal", "prefix_lm"])
def test_tiny_transformer_rejects_bad_attention(attention):
    with pytest.raises(ValueError, match="attention"):
        TinyTransformer(VOCAB, attention=attention)


@pytest.mark.parametrize("positions", ["learned", "RoPE", "alibi"])
def test_tiny_transformer_rejects_bad_positions(positions):
    with pytest.raises(ValueError, match="positions"):
        TinyTransformer(VOCAB, positions=positions)


def test_tiny_transformer_rejects_odd_head_dim():
    with pytest.raises(ValueError, match="dim"):
        TinyTransformer(VOCAB, dim=12, n_heads=4)


def test_tiny_transformer_rejects_too_long_sequence():
    model = TinyTransformer(VOCAB, dim=16, max_len=8)
    assert model(torch.zeros(1, 8, dtype=torch.long)).shape == (1, 8, VOCAB)
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, 9, dtype=torch.long))


# ------------------------------------------- Theorem 4.5.1', causal case: depth matters


def _last_position_after_prefix_shuffle(n_layers, seed):
    g = cpu_generator(seed)
    tokens = torch.stack([torch.randperm(12, generator=g)[:7] for _ in range(2)])
    order = [*torch.randperm(6, generator=g).tolist(), 6]
    if order[:6] == list(range(6)):
        order = [*range(5, -1, -1), 6]
    model = TinyTransformer(12, dim=16, n_layers=n_layers, n_heads=2, attention="causal", seed=seed)
    model = model.double()
    with torch.no_grad():
        return (model(tokens[:, order])[:, -1] - model(tokens)[:, -1]).abs().max().item()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_causal_layer_without_positions_is_a_bag_of_words_over_its_prefix(seed):
    assert _last_position_after_prefix_shuffle(1, seed) < 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_causal_layers_without_positions_see_the_order_of_the_prefix(seed):
    assert _last_position_after_prefix_shuffle(2, seed) > 1e-3
