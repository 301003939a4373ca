"""Tests of llmloss.lm: token log-probabilities, next-token targets, the LM loss
and the prefix-LM masks (section 4.5.1, eqs. (4.5.2)-(4.5.5))."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from llmloss.device import cpu_generator
from llmloss.lm import (
    IGNORE_INDEX,
    lm_loss,
    next_token_targets,
    prefix_lm_mask,
    prefix_loss_mask,
    shifted_lm_loss,
    token_log_probs,
    valid_target_mask,
)


def _logits_targets(shape=(2, 5), vocab=7, seed=0, dtype=torch.float64, scale=1.0):
    g = cpu_generator(seed)
    logits = scale * torch.randn(*shape, vocab, generator=g, dtype=dtype)
    targets = torch.randint(0, vocab, shape, generator=g)
    return logits, targets


def _rel_err(actual, expected):
    actual, expected = actual.double(), expected.double()
    return ((actual - expected).abs().max() / expected.abs().max().clamp(min=1.0)).item()


# ---------------------------------------------------------------- token_log_probs


def test_token_log_probs_equals_log_softmax_gather():
    logits, targets = _logits_targets()
    expected = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    out = token_log_probs(logits, targets)
    assert out.shape == targets.shape
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-14)


def test_token_log_probs_matches_cross_entropy():
    logits, targets = _logits_targets(shape=(3, 4), vocab=6, seed=1)
    ce = F.cross_entropy(logits.flatten(0, -2), targets.flatten(), reduction="none")
    torch.testing.assert_close(token_log_probs(logits, targets).flatten(), -ce, rtol=0, atol=1e-12)


def test_token_log_probs_extra_batch_dims():
    logits, targets = _logits_targets(shape=(2, 3, 4, 5), vocab=6, seed=2)
    out = token_log_probs(logits, targets)
    assert out.shape == (2, 3, 4, 5)
    flat = token_log_probs(logits.reshape(-1, 6), targets.reshape(-1))
    torch.testing.assert_close(out.reshape(-1), flat, rtol=0, atol=0)


def test_token_log_probs_large_float32_logits_are_finite_and_correct():
    logits, targets = _logits_targets(shape=(4, 8), vocab=50, seed=3, dtype=torch.float32, scale=1e4)
    assert logits.abs().max() > 1e4
    out = token_log_probs(logits, targets)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    # The naive formula overflows in float32: the test input really is extreme.
    naive = torch.log(torch.softmax(logits, -1).gather(-1, targets.unsqueeze(-1)))
    assert not torch.isfinite(naive).all()
    reference = torch.log_softmax(logits.double(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    assert _rel_err(out, reference) < 1e-6


def test_token_log_probs_log_probs_are_nonpositive_and_normalised():
    logits = torch.randn(3, 5, generator=cpu_generator(4), dtype=torch.float64)
    all_ids = torch.arange(5).expand(3, 5)
    per_id = torch.stack([token_log_probs(logits, all_ids[:, i]) for i in range(5)], dim=-1)
    assert (per_id <= 0).all()
    torch.testing.assert_close(per_id.exp().sum(-1), torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_token_log_probs_keeps_dtype(dtype):
    logits, targets = _logits_targets(dtype=dtype)
    assert token_log_probs(logits, targets).dtype == dtype


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8], ids=str)
def test_token_log_probs_accepts_any_integer_target_dtype(dtype):
    # The docstring promises "integer ids" and the argument check accepts every
    # integer dtype; the result must then be the same as with int64 ids.
    logits, targets = _logits_targets(vocab=7, seed=5)
    expected = token_log_probs(logits, targets)
    torch.testing.assert_close(token_log_probs(logits, targets.to(dtype)), expected, rtol=0, atol=0)


def test_token_log_probs_rejects_shape_mismatch():
    logits, targets = _logits_targets(shape=(2, 5))
    with pytest.raises(ValueError, match="targets"):
        token_log_probs(logits, targets[:, :4])


def test_token_log_probs_rejects_float_targets():
    logits, targets = _logits_targets()
    with pytest.raises(ValueError, match="targets"):
        token_log_probs(logits, targets.double())


@pytest.mark.parametrize("bad_id", [-1, 7, 100])
def test_token_log_probs_rejects_out_of_range_ids(bad_id):
    logits, targets = _logits_targets(vocab=7)
    targets[0, 0] = bad_id
    with pytest.raises(ValueError, match="targets"):
        token_log_probs(logits, targets)


def test_token_log_probs_rejects_integer_logits():
    _, targets = _logits_targets()
    with pytest.raises(ValueError, match="logits"):
        token_log_probs(torch.zeros(2, 5, 7, dtype=torch.int64), targets)


# ---------------------------------------------------------------- next_token_targets


def test_next_token_targets_shifts_left():
    tokens = torch.tensor([5, 3, 8, 1])
    assert next_token_targets(tokens).tolist() == [3, 8, 1, IGNORE_INDEX]


def test_next_token_targets_custom_ignore_index():
    tokens = torch.tensor([5, 3, 8, 1])
    assert next_token_targets(tokens, ignore_index=-1).tolist() == [3, 8, 1, -1]


def test_next_token_targets_batch_dims_and_shape():
    tokens = torch.randint(0, 10, (2, 3, 6), generator=cpu_generator(6))
    targets = next_token_targets(tokens)
    assert targets.shape == tokens.shape
    assert targets.dtype == tokens.dtype
    assert torch.equal(targets[..., :-1], tokens[..., 1:])
    assert (targets[..., -1] == IGNORE_INDEX).all()


def test_next_token_targets_does_not_modify_input():
    tokens = torch.tensor([[1, 2, 3], [4, 5, 6]])
    before = tokens.clone()
    next_token_targets(tokens)
    assert torch.equal(tokens, before)


def test_next_token_targets_single_token():
    assert next_token_targets(torch.tensor([4])).tolist() == [IGNORE_INDEX]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_next_token_targets_rejects_float_tokens(dtype):
    with pytest.raises(ValueError, match="tokens"):
        next_token_targets(torch.tensor([1.0, 2.0, 3.0], dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.int16, torch.uint8, torch.bool], ids=str)
def test_next_token_targets_last_position_is_ignore_index_or_rejected(dtype):
    # The last target must be ignore_index; a dtype that cannot hold it (uint8,
    # bool) must be refused, not silently wrapped into a valid-looking token id.
    tokens = torch.tensor([1, 0, 1, 1]).to(dtype)
    try:
        targets = next_token_targets(tokens)
    except ValueError:
        return
    assert targets[-1].item() == IGNORE_INDEX


# ---------------------------------------------------------------- lm_loss


def _random_mask(shape, seed, p=0.6):
    return torch.rand(shape, generator=cpu_generator(seed)) < p


def _masked_targets(targets, mask):
    return torch.where(mask, targets, torch.full_like(targets, -100))


def test_lm_loss_mean_matches_cross_entropy():
    logits, targets = _logits_targets(shape=(3, 6), vocab=9, seed=10)
    mask = _random_mask((3, 6), seed=11)
    expected = F.cross_entropy(logits.flatten(0, -2), _masked_targets(targets, mask).flatten(), ignore_index=-100)
    torch.testing.assert_close(lm_loss(logits, targets, mask), expected, rtol=1e-12, atol=1e-12)


def test_lm_loss_sum_matches_cross_entropy():
    logits, targets = _logits_targets(shape=(3, 6), vocab=9, seed=12)
    mask = _random_mask((3, 6), seed=13)
    expected = F.cross_entropy(
        logits.flatten(0, -2), _masked_targets(targets, mask).flatten(), ignore_index=-100, reduction="sum"
    )
    torch.testing.assert_close(lm_loss(logits, targets, mask, reduction="sum"), expected, rtol=1e-12, atol=1e-12)


def test_lm_loss_default_mask_counts_everything():
    logits, targets = _logits_targets(shape=(2, 4), vocab=5, seed=14)
    expected = F.cross_entropy(logits.flatten(0, -2), targets.flatten())
    torch.testing.assert_close(lm_loss(logits, targets), expected, rtol=1e-12, atol=1e-12)


def test_lm_loss_ignore_index_targets_do_not_count():
    logits, targets = _logits_targets(shape=(2, 5), vocab=6, seed=15)
    targets[0, 1] = -100
    targets[1, 4] = -100
    expected = F.cross_entropy(logits.flatten(0, -2), targets.flatten(), ignore_index=-100)
    torch.testing.assert_close(lm_loss(logits, targets), expected, rtol=1e-12, atol=1e-12)


def test_lm_loss_custom_ignore_index():
    logits, targets = _logits_targets(shape=(2, 5), vocab=6, seed=16)
    targets[1, 2] = -1
    expected = F.cross_entropy(logits.flatten(0, -2), targets.flatten(), ignore_index=-1, reduction="sum")
    got = lm_loss(logits, targets, reduction="sum", ignore_index=-1)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_lm_loss_none_is_zero_where_not_counted_and_nll_elsewhere():
    logits, targets = _logits_targets(shape=(3, 6), vocab=9, seed=17)
    mask = _random_mask((3, 6), seed=18)
    targets[0, 0] = -100
    mask[0, 0] = True
    counted = mask & (targets != -100)
    per_token = lm_loss(logits, targets, mask, reduction="none")
    assert per_token.shape == targets.shape
    assert (per_token[~counted] == 0).all()
    nll = -token_log_probs(logits[counted], targets[counted])
    torch.testing.assert_close(per_token[counted], nll, rtol=0, atol=0)
    assert (per_token[counted] > 0).all()


def test_lm_loss_reductions_are_consistent():
    logits, targets = _logits_targets(shape=(2, 7), vocab=5, seed=19)
    mask = _random_mask((2, 7), seed=20)
    none = lm_loss(logits, targets, mask, reduction="none")
    total = lm_loss(logits, targets, mask, reduction="sum")
    mean = lm_loss(logits, targets, mask, reduction="mean")
    torch.testing.assert_close(total, none.sum())
    torch.testing.assert_close(mean, total / mask.sum())


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    batch=st.integers(1, 3),
    length=st.integers(1, 6),
    vocab=st.integers(2, 8),
    n_pad=st.integers(1, 4),
    pad_scale=st.sampled_from([1.0, 1e3]),
)
def test_lm_loss_padding_does_not_change_mean_or_sum(seed, batch, length, vocab, n_pad, pad_scale):
    g = cpu_generator(seed)
    logits = torch.randn(batch, length, vocab, generator=g, dtype=torch.float64)
    targets = torch.randint(0, vocab, (batch, length), generator=g)
    mask = torch.rand(batch, length, generator=g) < 0.7
    mask[0, 0] = True
    pad_logits = pad_scale * torch.randn(batch, n_pad, vocab, generator=g, dtype=torch.float64)
    pad_targets = torch.randint(0, vocab, (batch, n_pad), generator=g)
    pad_targets[:, 0] = -100  # ignore_index is allowed in the padding as well
    padded_logits = torch.cat([logits, pad_logits], dim=1)
    padded_targets = torch.cat([targets, pad_targets], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(batch, n_pad, dtype=torch.bool)], dim=1)
    for reduction in ("mean", "sum"):
        base = lm_loss(logits, targets, mask, reduction=reduction)
        padded = lm_loss(padded_logits, padded_targets, padded_mask, reduction=reduction)
        torch.testing.assert_close(padded, base, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_lm_loss_all_false_mask_is_zero_with_zero_gradient(reduction):
    logits, targets = _logits_targets(shape=(2, 4), vocab=5, seed=21, scale=50.0)
    logits.requires_grad_(True)
    mask = torch.zeros(2, 4, dtype=torch.bool)
    loss = lm_loss(logits, targets, mask, reduction=reduction)
    assert loss.item() == 0.0
    loss.backward()
    assert not torch.isnan(logits.grad).any()
    assert (logits.grad == 0).all()


def test_lm_loss_all_ignored_targets_mean_is_zero():
    logits, _ = _logits_targets(shape=(2, 4), vocab=5, seed=22)
    targets = torch.full((2, 4), -100)
    loss = lm_loss(logits, targets)
    assert loss.item() == 0.0
    assert not torch.isnan(loss)


def test_lm_loss_mean_gradient_closed_form():
    logits, targets = _logits_targets(shape=(2, 6), vocab=5, seed=23)
    mask = _random_mask((2, 6), seed=24)
    logits.requires_grad_(True)
    lm_loss(logits, targets, mask).backward()
    count = mask.sum()
    expected = (torch.softmax(logits.detach(), -1) - F.one_hot(targets, 5).double()) / count
    expected = torch.where(mask[..., None], expected, torch.zeros_like(expected))
    torch.testing.assert_close(logits.grad, expected, rtol=1e-12, atol=1e-14)
    assert (logits.grad[~mask] == 0).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_lm_loss_gradcheck(reduction):
    logits, targets = _logits_targets(shape=(2, 3), vocab=4, seed=25)
    mask = torch.tensor([[True, False, True], [True, True, False]])
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z: lm_loss(z, targets, mask, reduction=reduction), (logits,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_lm_loss_large_float32_logits(reduction):
    logits, targets = _logits_targets(shape=(3, 5), vocab=40, seed=26, dtype=torch.float32, scale=1e4)
    mask = _random_mask((3, 5), seed=27)
    loss = lm_loss(logits, targets, mask, reduction=reduction)
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss).all()
    # Independent reference: PyTorch's own cross-entropy in float64, masked positions ignored.
    labels = torch.where(mask, targets, torch.full_like(targets, IGNORE_INDEX))
    reference = F.cross_entropy(
        logits.double().flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX, reduction=reduction
    )
    if reduction == "none":
        reference = reference.reshape(3, 5)
    assert _rel_err(loss, reference) < 1e-5


def test_lm_loss_rejects_unknown_reduction():
    logits, targets = _logits_targets()
    with pytest.raises(ValueError, match="reduction"):
        lm_loss(logits, targets, reduction="average")


def test_lm_loss_rejects_mask_of_wrong_shape():
    logits, targets = _logits_targets(shape=(2, 5))
    with pytest.raises(ValueError, match="mask"):
        lm_loss(logits, targets, mask=torch.ones(2, 4, dtype=torch.bool))


@pytest.mark.parametrize("dtype", [torch.int64, torch.float32, torch.uint8], ids=str)
def test_lm_loss_accepts_a_zero_one_mask(dtype):
    logits, targets = _logits_targets(shape=(2, 5))
    bool_mask = torch.tensor([[True, False, True, True, False], [False, False, True, True, True]])
    expected = lm_loss(logits, targets, mask=bool_mask)
    assert torch.equal(lm_loss(logits, targets, mask=bool_mask.to(dtype)), expected)


@pytest.mark.parametrize("value", [2, -1, 0.5])
def test_lm_loss_rejects_a_mask_that_is_not_zero_one(value):
    logits, targets = _logits_targets(shape=(2, 5))
    with pytest.raises(ValueError, match="mask"):
        lm_loss(logits, targets, mask=torch.full((2, 5), value))


def test_lm_loss_rejects_logits_targets_mismatch():
    logits, targets = _logits_targets(shape=(2, 5))
    with pytest.raises(ValueError, match="targets"):
        lm_loss(logits, targets[:1])


def test_lm_loss_rejects_out_of_range_counted_target():
    logits, targets = _logits_targets(shape=(2, 5), vocab=7)
    targets[1, 1] = 7
    with pytest.raises(ValueError, match="targets"):
        lm_loss(logits, targets)


# ---------------------------------------------------------------- prefix_lm_mask


def test_prefix_lm_mask_shape_and_dtype():
    mask = prefix_lm_mask(2, 5)
    assert mask.shape == (5, 5)
    assert mask.dtype == torch.bool


def test_prefix_lm_mask_zero_prefix_is_causal():
    assert torch.equal(prefix_lm_mask(0, 6), torch.tril(torch.ones(6, 6, dtype=torch.bool)))


def test_prefix_lm_mask_full_prefix_is_bidirectional():
    assert prefix_lm_mask(6, 6).all()


def test_prefix_lm_mask_small_example():
    expected = torch.tensor(
        [
            [1, 1, 0, 0],
            [1, 1, 0, 0],
            [1, 1, 1, 0],
            [1, 1, 1, 1],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(prefix_lm_mask(2, 4), expected)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_prefix_lm_mask_structure(data):
    seq_len = data.draw(st.integers(1, 12), label="seq_len")
    prefix_len = data.draw(st.integers(0, seq_len), label="prefix_len")
    mask = prefix_lm_mask(prefix_len, seq_len)
    causal = torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))
    k = prefix_len
    assert mask.shape == (seq_len, seq_len)
    assert mask[:k, :k].all()
    assert torch.equal(mask[k:], causal[k:])
    assert not mask[:k, k:].any()
    assert mask.diagonal().all()
    # Every causal pair stays visible: the prefix only adds attention.
    assert mask[causal].all()


@pytest.mark.parametrize(("prefix_len", "seq_len"), [(6, 5), (-1, 5), (1, 0)])
def test_prefix_lm_mask_rejects_bad_prefix(prefix_len, seq_len):
    with pytest.raises(ValueError, match="prefix_len"):
        prefix_lm_mask(prefix_len, seq_len)


# ---------------------------------------------------------------- prefix_loss_mask


def test_prefix_loss_mask_shape_and_dtype():
    mask = prefix_loss_mask(2, 5)
    assert mask.shape == (5,)
    assert mask.dtype == torch.bool


@pytest.mark.parametrize(("prefix_len", "seq_len"), [(1, 1), (1, 5), (2, 5), (4, 5), (5, 5), (3, 8)])
def test_prefix_loss_mask_counts_exactly_the_tokens_after_the_prefix(prefix_len, seq_len):
    g = cpu_generator(100 + 10 * prefix_len + seq_len)
    vocab = 6
    tokens = torch.randint(0, vocab, (seq_len,), generator=g)
    logits = torch.randn(seq_len, vocab, generator=g, dtype=torch.float64)
    targets = next_token_targets(tokens)
    mask = prefix_loss_mask(prefix_len, seq_len)
    counted = mask & (targets != IGNORE_INDEX)
    # The targets that count are the tokens K..L-1 (0-based), i.e. x_{K+1}..x_L.
    assert targets[counted].tolist() == tokens[prefix_len:].tolist()
    # Position t scores token t+1: sum -log p over those tokens, by hand.
    log_p = torch.log_softmax(logits, dim=-1)
    by_hand = -sum(log_p[t - 1, tokens[t]] for t in range(prefix_len, seq_len))
    by_hand = torch.as_tensor(by_hand, dtype=torch.float64)
    got = lm_loss(logits, targets, mask=mask, reduction="sum")
    torch.testing.assert_close(got, by_hand, rtol=1e-12, atol=1e-12)


def test_prefix_loss_mask_without_prefix_counts_everything():
    assert prefix_loss_mask(0, 5).all()
    assert torch.equal(prefix_loss_mask(0, 5), prefix_loss_mask(1, 5))


@pytest.mark.parametrize(("prefix_len", "seq_len"), [(6, 5), (-1, 5)])
def test_prefix_loss_mask_rejects_bad_prefix(prefix_len, seq_len):
    with pytest.raises(ValueError, match="prefix_len"):
        prefix_loss_mask(prefix_len, seq_len)


def test_apply_reduction_follows_pytorch_and_gives_zero_for_no_item():
    from llmloss.lm import apply_reduction

    values = torch.tensor([1.0, 2.0, 6.0], dtype=torch.float64)
    assert apply_reduction(values, "sum").item() == 9.0
    assert apply_reduction(values, "mean").item() == 3.0
    assert apply_reduction(values, "none") is values
    assert apply_reduction(torch.zeros(0), "mean").item() == 0.0
    with pytest.raises(ValueError, match="reduction"):
        apply_reduction(values, "max")


# ------------------------------------------------- valid_target_mask, shifted_lm_loss


def test_valid_target_mask_counts_t_when_token_t_plus_1_is_real():
    mask = valid_target_mask(torch.tensor([4, 2, 1, 0]), 5)
    expected = torch.tensor(
        [
            [True, True, True, False, False],
            [True, False, False, False, False],
            [False] * 5,
            [False] * 5,
        ]
    )
    assert mask.dtype == torch.bool
    assert torch.equal(mask, expected)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=1, max_size=5))
def test_valid_target_mask_agrees_with_the_shifted_padding_mask(lengths):
    seq_len = 8
    lengths_t = torch.tensor(lengths)
    real = torch.arange(seq_len) < lengths_t[:, None]  # M_t of the tokens
    shifted = torch.cat([real[:, 1:], torch.zeros_like(real[:, :1])], dim=1)
    assert torch.equal(valid_target_mask(lengths_t, seq_len), shifted)


def test_valid_target_mask_keeps_eos_when_pad_equals_eos():
    eos = pad = 0
    tokens = torch.tensor([[5, 3, eos, pad, pad]])
    targets = next_token_targets(tokens)
    mask = valid_target_mask(torch.tensor([3]), 5)
    assert targets[mask].tolist() == [3, eos]
    assert targets[mask & (targets != pad)].tolist() == [3]  # the pitfall


@pytest.mark.parametrize(
    ("lengths", "seq_len"), [([6], 5), ([-1], 5), ([[2]], 5)], ids=["long", "neg", "2d"]
)
def test_valid_target_mask_rejects_bad_lengths(lengths, seq_len):
    with pytest.raises(ValueError, match="lengths"):
        valid_target_mask(torch.tensor(lengths), seq_len)


def test_valid_target_mask_rejects_float_lengths():
    with pytest.raises(ValueError, match="lengths"):
        valid_target_mask(torch.tensor([2.0]), 5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_shifted_lm_loss_equals_sliced_cross_entropy(reduction):
    g = cpu_generator(11)
    logits = torch.randn(3, 6, 9, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 9, (3, 6), generator=g)
    labels[1, 4:] = IGNORE_INDEX
    expected = F.cross_entropy(
        logits[:, :-1].reshape(-1, 9), labels[:, 1:].reshape(-1), reduction=reduction
    )
    out = shifted_lm_loss(logits, labels, reduction=reduction)
    torch.testing.assert_close(out.reshape(-1), expected.reshape(-1), rtol=0, atol=1e-12)
    same = lm_loss(logits, next_token_targets(labels), reduction=reduction)
    if reduction != "none":
        torch.testing.assert_close(out, same, rtol=0, atol=1e-12)


def test_shifted_lm_loss_shifts_already_shifted_labels_twice():
    g = cpu_generator(12)
    logits = torch.randn(2, 7, 5, generator=g, dtype=torch.float64)
    tokens = torch.randint(0, 5, (2, 7), generator=g)
    twice = shifted_lm_loss(logits, next_token_targets(tokens))
    two_ahead = lm_loss(logits[:, :-2], tokens[:, 2:])
    torch.testing.assert_close(twice, two_ahead, rtol=0, atol=1e-12)


def test_shifted_lm_loss_gradcheck():
    g = cpu_generator(13)
    logits = torch.randn(2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 3, (2, 4), generator=g)
    assert torch.autograd.gradcheck(lambda z: shifted_lm_loss(z, labels), (logits,))


def test_shifted_lm_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="labels"):
        shifted_lm_loss(torch.zeros(2, 4, 3), torch.zeros(2, 5, dtype=torch.long))
