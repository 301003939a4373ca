"""Tests of llmloss.mlm: BERT, span and whole-word masking and the MLM loss
(section 4.5.2, eqs. (4.5.6)-(4.5.10))."""

import math
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from llmloss.device import cpu_generator
from llmloss.mlm import (
    IGNORE_INDEX,
    bert_mask,
    bits_per_byte,
    mlm_loss,
    sample_span_lengths,
    sample_spans,
    span_length_pmf,
    span_mask,
    whole_word_mask,
    word_ids,
    word_span_mask,
)

# ---------------------------------------------------------------- bert_mask


def test_bert_mask_labels_and_unselected_positions():
    tokens = torch.randint(0, 30, (8, 50), generator=cpu_generator(1))
    inputs, labels = bert_mask(tokens, mask_token_id=3, vocab_size=30, generator=cpu_generator(2))
    selected = labels != IGNORE_INDEX
    assert labels.dtype == torch.long and inputs.dtype == tokens.dtype
    assert torch.equal(labels[selected], tokens[selected])
    assert torch.equal(inputs[~selected], tokens[~selected])
    assert selected.any()


def test_bert_mask_same_seed_same_result_and_different_seed_differs():
    tokens = torch.randint(0, 30, (4, 64), generator=cpu_generator(1))
    a = bert_mask(tokens, mask_token_id=0, vocab_size=30, generator=cpu_generator(5))
    b = bert_mask(tokens, mask_token_id=0, vocab_size=30, generator=cpu_generator(5))
    c = bert_mask(tokens, mask_token_id=0, vocab_size=30, generator=cpu_generator(6))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_bert_mask_special_tokens_never_selected():
    tokens = torch.randint(0, 10, (200,), generator=cpu_generator(0))
    special = torch.zeros(200, dtype=torch.bool)
    special[::3] = True
    inputs, labels = bert_mask(tokens, mask_token_id=1, vocab_size=10, mask_prob=1.0, special_tokens_mask=special)
    assert (labels[special] == IGNORE_INDEX).all() and torch.equal(inputs[special], tokens[special])
    assert (labels[~special] != IGNORE_INDEX).all()
    # 0/1 integer mask is accepted and means the same
    _, labels01 = bert_mask(tokens, mask_token_id=1, vocab_size=10, mask_prob=1.0, special_tokens_mask=special.int())
    assert torch.equal(labels01 != IGNORE_INDEX, ~special)


def test_bert_mask_probability_zero_and_one():
    tokens = torch.randint(0, 10, (3, 7), generator=cpu_generator(0))
    inputs, labels = bert_mask(tokens, mask_token_id=1, vocab_size=10, mask_prob=0.0)
    assert torch.equal(inputs, tokens) and (labels == IGNORE_INDEX).all()
    _, labels = bert_mask(tokens, mask_token_id=1, vocab_size=10, mask_prob=1.0)
    assert torch.equal(labels, tokens)


def test_bert_mask_empty_input():
    tokens = torch.zeros(0, dtype=torch.long)
    inputs, labels = bert_mask(tokens, mask_token_id=0, vocab_size=5)
    assert inputs.shape == labels.shape == (0,)


def test_bert_mask_80_10_10_statistics():
    """Independent reference: the exact category probabilities, with 5-sigma binomial bounds."""
    vocab, mask_id, n, q = 20, 0, 200_000, 0.15
    tokens = torch.randint(1, vocab, (n,), generator=cpu_generator(3))
    inputs, labels = bert_mask(tokens, mask_token_id=mask_id, vocab_size=vocab, mask_prob=q, generator=cpu_generator(4))
    selected = labels != IGNORE_INDEX
    k = int(selected.sum())
    assert abs(k / n - q) < 5 * math.sqrt(q * (1 - q) / n)
    sel_in, sel_tok = inputs[selected], tokens[selected]
    expected = {  # P(category | selected); a random draw may hit the mask id or the original token
        "mask": 0.8 + 0.1 / vocab,
        "same": 0.1 + 0.1 / vocab,
        "other": 0.1 * (vocab - 2) / vocab,
    }
    observed = {
        "mask": float((sel_in == mask_id).float().mean()),
        "same": float((sel_in == sel_tok).float().mean()),
        "other": float(((sel_in != mask_id) & (sel_in != sel_tok)).float().mean()),
    }
    for key, pr in expected.items():
        assert abs(observed[key] - pr) < 5 * math.sqrt(pr * (1 - pr) / k), key


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mask_prob": 1.5}, "mask_prob"),
        ({"mask_prob": -0.1}, "mask_prob"),
        ({"vocab_size": 5}, "tokens"),
        ({"mask_token_id": 10}, "mask_token_id"),
        ({"mask_token_id": -1}, "mask_token_id"),
        ({"vocab_size": 0}, "vocab_size"),
        ({"special_tokens_mask": torch.zeros(3, dtype=torch.bool)}, "special_tokens_mask"),
        ({"special_tokens_mask": torch.full((2, 4), 2)}, "special_tokens_mask"),
        ({"special_tokens_mask": [[False] * 4] * 2}, "special_tokens_mask"),
        ({"mask_prob": "high"}, "mask_prob"),
        ({"mask_prob": float("nan")}, "mask_prob"),
    ],
)
def test_bert_mask_bad_input(kwargs, match):
    tokens = torch.arange(8).reshape(2, 4)
    args = {"mask_token_id": 0, "vocab_size": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        bert_mask(tokens, **args)


def test_bert_mask_rejects_float_tokens():
    with pytest.raises(ValueError, match="tokens"):
        bert_mask(torch.zeros(3), mask_token_id=0, vocab_size=3)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 6), min_size=1, max_size=3),
    vocab=st.integers(2, 40),
    q=st.floats(0, 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_bert_mask_properties(shape, vocab, q, seed):
    tokens = torch.randint(0, vocab, shape, generator=cpu_generator(seed))
    inputs, labels = bert_mask(
        tokens, mask_token_id=vocab - 1, vocab_size=vocab, mask_prob=q, generator=cpu_generator(seed)
    )
    selected = labels != IGNORE_INDEX
    assert inputs.shape == labels.shape == tokens.shape
    assert torch.equal(inputs[~selected], tokens[~selected])
    assert torch.equal(labels[selected], tokens[selected])
    assert ((inputs >= 0) & (inputs < vocab)).all()


# ---------------------------------------------------------------- span lengths and spans


def test_span_length_pmf_exact_mean():
    """SpanBERT: truncated, renormalised Geo(0.2) on 1..10 has mean 33099485/8717049 (about 3.797)."""
    pmf = span_length_pmf(0.2, 10)
    assert pmf.shape == (10,) and abs(float(pmf.sum()) - 1) < 1e-15
    weights = [Fraction(1, 5) * Fraction(4, 5) ** (k - 1) for k in range(1, 11)]
    mean = sum(k * w for k, w in zip(range(1, 11), weights, strict=True)) / sum(weights)
    assert mean == Fraction(33099485, 8717049)
    assert abs(float((pmf * torch.arange(1, 11)).sum()) - float(mean)) < 1e-14


def test_span_length_pmf_p_one_and_max_span_one():
    assert torch.equal(span_length_pmf(1.0, 5), torch.tensor([1.0, 0, 0, 0, 0], dtype=torch.float64))
    assert torch.equal(span_length_pmf(0.3, 1), torch.tensor([1.0], dtype=torch.float64))


def test_sample_span_lengths_monte_carlo_mean():
    n = 100_000
    lengths = sample_span_lengths(n, p=0.2, max_span=10, generator=cpu_generator(7))
    assert lengths.min() >= 1 and lengths.max() <= 10
    pmf = span_length_pmf(0.2, 10)
    k = torch.arange(1, 11, dtype=torch.float64)
    mean, var = float((pmf * k).sum()), float((pmf * k**2).sum() - (pmf * k).sum() ** 2)
    assert abs(float(lengths.double().mean()) - mean) < 5 * math.sqrt(var / n)


def test_span_mask_budget_and_reproducibility():
    for seq_len, ratio in [(100, 0.15), (37, 0.5), (10, 1.0), (5, 0.0), (0, 0.15)]:
        m = span_mask(seq_len, mask_ratio=ratio, generator=cpu_generator(seq_len))
        assert m.dtype == torch.bool and m.shape == (seq_len,)
        assert int(m.sum()) == round(ratio * seq_len)
    assert torch.equal(span_mask(200, generator=cpu_generator(9)), span_mask(200, generator=cpu_generator(9)))


def test_sample_spans_are_contiguous_and_cover_the_mask():
    spans = sample_spans(300, mask_ratio=0.3, generator=cpu_generator(11))
    m = torch.zeros(300, dtype=torch.bool)
    for start, stop in spans:
        assert 0 <= start < stop <= 300 and stop - start <= 10
        m[start:stop] = True
    assert int(m.sum()) == 90
    assert sum(stop - start for start, stop in spans) >= 90


def test_sample_spans_first_span_length_distribution():
    """Independent reference: the first span starts uniformly and is cut only by the sequence end,
    so its length is min(l, T - s) with l ~ truncated Geo(0.2) on 1..10; each frequency within 5 binomial sd."""
    seq_len, n = 20, 3000
    w = [Fraction(1, 5) * Fraction(4, 5) ** (k - 1) for k in range(1, 11)]
    exact = [Fraction(0)] * 11
    for k in range(1, 11):
        for s in range(seq_len):
            exact[min(k, seq_len - s)] += w[k - 1] / sum(w) / seq_len
    g = cpu_generator(13)
    lengths = torch.tensor(
        [stop - start for start, stop in (sample_spans(seq_len, mask_ratio=0.5, generator=g)[0] for _ in range(n))]
    )
    freq = torch.bincount(lengths, minlength=11).double() / n
    for k in range(1, 11):
        pr = float(exact[k])
        assert abs(float(freq[k]) - pr) < 5 * math.sqrt(pr * (1 - pr) / n), k


def test_span_mask_with_unit_spans_is_uniform_per_position():
    """p = 1 gives length-1 spans: a uniform random subset, so each position has Q(t) = ratio."""
    trials, seq_len = 3000, 8
    counts = torch.zeros(seq_len)
    g = cpu_generator(12)
    for _ in range(trials):
        counts += span_mask(seq_len, mask_ratio=0.25, p=1.0, generator=g)
    q = 0.25
    assert ((counts / trials - q).abs() < 5 * math.sqrt(q * (1 - q) / trials)).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mask_ratio": 1.2}, "mask_ratio"),
        ({"p": 0.0}, "p"),
        ({"p": 1.5}, "p"),
        ({"max_span": 0}, "max_span"),
        ({"max_span": float("inf")}, "max_span"),
        ({"max_span": "3"}, "max_span"),
        ({"p": float("nan")}, "p"),
        ({"p": None}, "p"),
        ({"seq_len": -1}, "seq_len"),
    ],
)
def test_span_mask_bad_input(kwargs, match):
    args = {"seq_len": 20, **kwargs}
    with pytest.raises(ValueError, match=match):
        span_mask(**args)


def test_span_length_bad_input():
    with pytest.raises(ValueError, match="max_span"):
        span_length_pmf(0.2, 2.5)
    with pytest.raises(ValueError, match="p"):
        span_length_pmf(-0.2, 3)
    with pytest.raises(ValueError, match="n"):
        sample_span_lengths(-1)


@settings(max_examples=30, deadline=None)
@given(
    seq_len=st.integers(0, 60),
    ratio=st.floats(0, 1),
    p=st.floats(0.05, 1),
    max_span=st.integers(1, 12),
    seed=st.integers(0, 2**31 - 1),
)
def test_span_mask_properties(seq_len, ratio, p, max_span, seed):
    spans = sample_spans(seq_len, mask_ratio=ratio, p=p, max_span=max_span, generator=cpu_generator(seed))
    m = span_mask(seq_len, mask_ratio=ratio, p=p, max_span=max_span, generator=cpu_generator(seed))
    assert int(m.sum()) == round(ratio * seq_len)
    union = torch.zeros(seq_len, dtype=torch.bool)
    for start, stop in spans:
        assert stop - start <= max_span
        union[start:stop] = True
    assert torch.equal(union, m)


# ---------------------------------------------------------------- whole-word masking


def test_word_ids_groups_continuation_pieces():
    pieces = ["[CLS]", "the", "un", "##bel", "##iev", "##able", "cat", "##s", "[SEP]"]
    assert word_ids(pieces) == [-1, 0, 1, 1, 1, 1, 2, 2, -1]
    # a leading '##' piece (no word before it) starts a word
    assert word_ids(["##a", "b", "##c"]) == [0, 1, 1]
    assert word_ids(["[CLS]", "##a"]) == [-1, 0]


def test_whole_word_mask_all_or_nothing_and_specials():
    pieces = ["[CLS]", "play", "##ing", "foot", "##ball", "is", "fun", "##ny", "[SEP]"]
    ids = torch.tensor(word_ids(pieces))
    g = cpu_generator(3)
    seen = set()
    for _ in range(200):
        m = whole_word_mask(pieces, mask_prob=0.5, generator=g)
        assert not m[ids < 0].any()
        for w in range(int(ids.max()) + 1):
            assert m[ids == w].all() or not m[ids == w].any()
        seen.add(tuple(m.tolist()))
    assert len(seen) > 8


def test_whole_word_mask_rate_per_word():
    pieces = ["a", "##b", "c", "d", "##e", "##f"] * 500
    n_words = 1500
    m = whole_word_mask(pieces, mask_prob=0.2, generator=cpu_generator(4))
    ids = torch.tensor(word_ids(pieces))
    chosen = torch.zeros(n_words, dtype=torch.bool)
    chosen[ids[m]] = True
    assert abs(float(chosen.float().mean()) - 0.2) < 5 * math.sqrt(0.2 * 0.8 / n_words)


def test_whole_word_mask_edge_cases_and_bad_input():
    assert whole_word_mask([]).shape == (0,)
    assert not whole_word_mask(["[CLS]", "[SEP]"], mask_prob=1.0).any()
    assert whole_word_mask(["x", "##y"], mask_prob=1.0).all()
    with pytest.raises(ValueError, match="mask_prob"):
        whole_word_mask(["a"], mask_prob=2.0)
    with pytest.raises(ValueError, match="pieces"):
        whole_word_mask("not a list")


# ---------------------------------------------------------------- mlm_loss


def _logits_labels(shape=(3, 9), vocab=11, seed=0, dtype=torch.float64, q=0.4):
    g = cpu_generator(seed)
    logits = torch.randn(*shape, vocab, generator=g, dtype=dtype)
    tokens = torch.randint(0, vocab, shape, generator=g)
    _, labels = bert_mask(tokens, mask_token_id=0, vocab_size=vocab, mask_prob=q, generator=g)
    return logits, labels


def test_mlm_loss_matches_cross_entropy():
    logits, labels = _logits_labels()
    for reduction in ("mean", "sum", "none"):
        ours = mlm_loss(logits, labels, reduction=reduction)
        ref = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100, reduction=reduction)
        torch.testing.assert_close(ours.flatten(), ref.flatten(), rtol=0, atol=1e-12)


def test_mlm_loss_sum_is_explicit_sum_over_masked():
    logits, labels = _logits_labels(seed=1)
    sel = labels != IGNORE_INDEX
    explicit = -sum(torch.log_softmax(logits[i, j], -1)[labels[i, j]] for i, j in sel.nonzero().tolist())
    torch.testing.assert_close(mlm_loss(logits, labels, reduction="sum"), explicit, rtol=0, atol=1e-12)
    torch.testing.assert_close(mlm_loss(logits, labels), explicit / sel.sum(), rtol=0, atol=1e-12)


def test_mlm_loss_empty_mask_is_zero_with_zero_gradient():
    logits = torch.randn(2, 5, 7, dtype=torch.float64, requires_grad=True)
    labels = torch.full((2, 5), IGNORE_INDEX)
    loss = mlm_loss(logits, labels)
    assert loss.item() == 0.0 and not torch.isnan(loss)
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_mlm_loss_custom_ignore_index_and_extreme_logits():
    logits, labels = _logits_labels(seed=2, dtype=torch.float32)
    labels = torch.where(labels == IGNORE_INDEX, torch.full_like(labels, -1), labels)
    big = logits * 1e4
    out = mlm_loss(big, labels, ignore_index=-1)
    assert torch.isfinite(out) and out.dtype == torch.float32
    ref = F.cross_entropy(big.double().flatten(0, 1), labels.flatten(), ignore_index=-1)
    assert abs(out.item() - ref.item()) / max(1.0, abs(ref.item())) < 1e-5


def test_mlm_loss_gradcheck():
    logits, labels = _logits_labels(shape=(2, 4), vocab=5, seed=3, q=0.6)
    assert (labels != IGNORE_INDEX).any()
    logits.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: mlm_loss(z, labels), (logits,))
    assert torch.autograd.gradcheck(lambda z: mlm_loss(z, labels, reduction="none"), (logits,))


@pytest.mark.parametrize(
    ("logits", "labels", "kwargs", "match"),
    [
        (torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long), {"reduction": "avg"}, "reduction"),
        (torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), {}, "labels"),
        (torch.zeros(2, 3, 4), torch.full((2, 3), 4), {}, "labels"),
        (torch.zeros(2, 3, 4), torch.zeros(2, 3), {}, "labels"),
        (torch.zeros(2, 3, 4, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long), {}, "logits"),
    ],
)
def test_mlm_loss_bad_input(logits, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mlm_loss(logits, labels, **kwargs)


@settings(max_examples=30, deadline=None)
@given(t=st.integers(1, 8), vocab=st.integers(2, 9), q=st.floats(0, 1), seed=st.integers(0, 2**31 - 1))
def test_mlm_loss_properties(t, vocab, q, seed):
    logits, labels = _logits_labels(shape=(2, t), vocab=vocab, seed=seed, q=q)
    total, mean = mlm_loss(logits, labels, reduction="sum"), mlm_loss(logits, labels)
    n = int((labels != IGNORE_INDEX).sum())
    assert total >= 0 and torch.isfinite(mean)
    torch.testing.assert_close(mean * max(n, 1), total, rtol=1e-12, atol=1e-12)


# ----------------------------------------------- 80/10/10 resolution, rates


@pytest.mark.parametrize("seed", range(5))
def test_bert_mask_80_10_10_sees_the_random_draw_correction(seed):
    """V = 3: the 0.1/V terms (0.033) are several tolerances wide, for any seed."""
    vocab, mask_id, n = 3, 0, 300_000
    tokens = torch.randint(1, vocab, (n,), generator=cpu_generator(100 + seed))
    inputs, labels = bert_mask(tokens, mask_token_id=mask_id, vocab_size=vocab, generator=cpu_generator(seed))
    sel = labels != IGNORE_INDEX
    k = int(sel.sum())
    freq_mask = (inputs[sel] == mask_id).double().mean().item()
    freq_same = (inputs[sel] == tokens[sel]).double().mean().item()
    for freq, prob, naive in ((freq_mask, 0.8 + 0.1 / vocab, 0.8), (freq_same, 0.1 + 0.1 / vocab, 0.1)):
        tol = 5 * math.sqrt(prob * (1 - prob) / k)
        assert abs(freq - prob) < tol
        assert abs(naive - prob) > 3 * tol  # a helper without the correction would be caught


@settings(max_examples=25, deadline=None)
@given(seq_len=st.integers(1, 300), ratio=st.floats(0.01, 0.5), seed=st.integers(0, 2**31 - 1))
def test_span_mask_realised_rate_is_rounded_budget(seq_len, ratio, seed):
    rate = span_mask(seq_len, mask_ratio=ratio, generator=cpu_generator(seed)).double().mean().item()
    assert rate == round(ratio * seq_len) / seq_len
    assert abs(rate - ratio) <= 0.5 / seq_len + 1e-12


# ----------------------------------------------------------- word_span_mask

PIECES = ["[CLS]", "un", "##break", "##able", "tea", "##pot", "is", "here", "and", "there", "[SEP]"]


@pytest.mark.parametrize("seed", range(20))
def test_word_span_mask_whole_words_specials_and_budget(seed):
    words = word_ids(PIECES)
    w = torch.tensor(words)
    for ratio in (0.1, 0.3, 0.6, 1.0):
        m = word_span_mask(words, mask_ratio=ratio, generator=cpu_generator(seed))
        assert m.dtype == torch.bool and m.shape == (len(PIECES),)
        assert not m[w < 0].any()
        for i in range(int(w.max()) + 1):
            assert m[w == i].all() or not m[w == i].any()
        budget = round(ratio * int((w >= 0).sum()))
        assert budget <= int(m.sum()) <= budget + 3 - 1  # longest word: 3 pieces


def test_word_span_mask_one_piece_words_spend_the_budget_exactly_and_reproduce():
    words = list(range(50))
    a = word_span_mask(words, mask_ratio=0.3, generator=cpu_generator(4))
    b = word_span_mask(torch.tensor(words), mask_ratio=0.3, generator=cpu_generator(4))
    assert int(a.sum()) == 15 and torch.equal(a, b)


def test_word_span_mask_measures_spans_in_words():
    """A span of one word (max_span = 1) masks that word's 3 pieces, though the budget is 1 piece."""
    words = [0, 0, 0, 1, 1, 1, 2, 2, 2]  # three 3-piece words
    m = word_span_mask(words, mask_ratio=0.1, max_span=1, generator=cpu_generator(0))
    assert int(m.sum()) == 3  # budget round(0.9) = 1 piece, one whole word of 3 pieces


def test_word_span_mask_edge_cases_and_bad_input():
    assert word_span_mask([], generator=cpu_generator(0)).shape == (0,)
    assert not word_span_mask([-1, -1]).any()
    with pytest.raises(ValueError, match="word_of_piece"):
        word_span_mask("abc")
    with pytest.raises(ValueError, match="word_of_piece"):
        word_span_mask(torch.zeros(3))
    with pytest.raises(ValueError, match="word_of_piece"):
        word_span_mask([0, -2])
    with pytest.raises(ValueError, match="mask_ratio"):
        word_span_mask([0, 1], mask_ratio=1.5)
    with pytest.raises(ValueError, match="max_span"):
        word_span_mask([0, 1], max_span=0)


# ------------------------------------------------------------ bits_per_byte


def test_bits_per_byte_value_and_tokenizer_independence():
    assert bits_per_byte(8 * math.log(2), 4) == pytest.approx(2.0, rel=1e-15)
    nll = torch.tensor(3.0, dtype=torch.float64)
    assert torch.allclose(bits_per_byte(nll, 3), nll / (3 * math.log(2)))
    assert bits_per_byte(1.0, len("é".encode())) == pytest.approx(1 / (2 * math.log(2)))  # 2 UTF-8 bytes


@pytest.mark.parametrize("n_bytes", [0, -1, 2.5, "x"])
def test_bits_per_byte_bad_input(n_bytes):
    with pytest.raises((ValueError, TypeError)):
        bits_per_byte(1.0, n_bytes)
