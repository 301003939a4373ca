"""Masked language modelling, section 4.5.2, equations (4.5.6)-(4.5.10).

Masking schemes (BERT's 80/10/10 rule, SpanBERT's spans, whole-word masking
over WordPiece pieces) and the MLM loss over the selected positions.

Random numbers are drawn from ``generator`` (a CPU ``torch.Generator`` in the
book) on the generator's device and then moved to the input's device, so the
same seed gives the same mask everywhere.
"""

from __future__ import annotations

import math

import torch

from llmloss.lm import IGNORE_INDEX, as_bool_mask, as_token_ids, check_reduction, lm_loss

DEFAULT_SPECIAL_PIECES = ("[CLS]", "[SEP]", "[PAD]")


def _as_float(name: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _check_prob(name: str, value: float) -> None:
    if not 0.0 <= _as_float(name, value) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")


def _draw_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def bert_mask(
    tokens: torch.Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    mask_prob: float = 0.15,
    special_tokens_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking of Definition 4.5.4, the input of eq. (4.5.6): ``(inputs, labels)``.

    tokens: ``(...)`` integer ids in ``[0, vocab_size)``; special_tokens_mask:
    ``(...)`` bool (or 0/1), True where a position may never be selected.
    Every other position is selected independently with probability
    ``mask_prob`` (the set M); a selected position becomes ``mask_token_id``
    with probability 0.8, a token drawn uniformly from ``[0, vocab_size)`` with
    probability 0.1 (it may equal the original), and stays as it is with
    probability 0.1 (Devlin et al. 2019). ``labels`` (int64, same shape) holds
    the original id at selected positions and ``IGNORE_INDEX`` (-100)
    elsewhere. Both results live on ``tokens.device``.
    """
    ids = as_token_ids("tokens", tokens)  # int64: a uint8 comparison with 256 would wrap to 0
    if int(vocab_size) < 1:
        raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
    if not 0 <= int(mask_token_id) < vocab_size:
        raise ValueError(f"mask_token_id must lie in [0, vocab_size={vocab_size}), got {mask_token_id}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"tokens must lie in [0, vocab_size={vocab_size}), got values in [{ids.min()}, {ids.max()}]")
    _check_prob("mask_prob", mask_prob)
    where = _draw_device(generator)
    if special_tokens_mask is None:
        special = torch.zeros(tokens.shape, dtype=torch.bool, device=where)
    else:
        special = as_bool_mask("special_tokens_mask", special_tokens_mask, tokens.shape).to(where)
    u_select = torch.rand(tokens.shape, generator=generator, device=where)
    u_action = torch.rand(tokens.shape, generator=generator, device=where)
    random_ids = torch.randint(0, int(vocab_size), tokens.shape, generator=generator, device=where)
    selected = (u_select < mask_prob) & ~special
    to_mask = selected & (u_action < 0.8)
    to_random = selected & (u_action >= 0.8) & (u_action < 0.9)
    selected, to_mask, to_random, random_ids = (x.to(tokens.device) for x in (selected, to_mask, to_random, random_ids))
    inputs = torch.where(to_mask, torch.full_like(tokens, int(mask_token_id)), tokens)
    inputs = torch.where(to_random, random_ids.to(tokens.dtype), inputs)
    labels = torch.where(selected, tokens.long(), torch.full_like(tokens, IGNORE_INDEX, dtype=torch.long))
    return inputs, labels


def _check_span_args(p: float, max_span: int) -> None:
    if not 0.0 < _as_float("p", p) <= 1.0:
        raise ValueError(f"p must lie in (0, 1], got {p}")
    try:
        integral = int(max_span) == max_span and max_span >= 1
    except (TypeError, ValueError, OverflowError):  # a string, None, nan or inf
        integral = False
    if not integral:
        raise ValueError(f"max_span must be an integer >= 1, got {max_span!r}")


def span_length_pmf(p: float = 0.2, max_span: int = 10, dtype=torch.float64) -> torch.Tensor:
    """Span-length distribution of Definition 4.5.5 / eq. (4.5.8): ``(max_span,)``.

    Entry ``l - 1`` is P(length = l) for l = 1..max_span: the geometric
    distribution p (1 - p)^(l - 1) restricted to l <= max_span and renormalised
    (SpanBERT, Joshi et al. 2020; mean 3.797 for p = 0.2, max_span = 10).
    """
    _check_span_args(p, max_span)
    lengths = torch.arange(1, int(max_span) + 1, dtype=torch.float64)
    weights = p * (1.0 - p) ** (lengths - 1)
    return (weights / weights.sum()).to(dtype)


def sample_span_lengths(
    n: int, *, p: float = 0.2, max_span: int = 10, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` independent span lengths from ``span_length_pmf(p, max_span)``: int64 ``(n,)``."""
    if int(n) != n or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n}")
    pmf = span_length_pmf(p, max_span).to(_draw_device(generator))
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=pmf.device)
    return torch.multinomial(pmf, int(n), replacement=True, generator=generator) + 1


def sample_spans(
    seq_len: int,
    *,
    mask_ratio: float = 0.15,
    p: float = 0.2,
    max_span: int = 10,
    generator: torch.Generator | None = None,
) -> list[tuple[int, int]]:
    """SpanBERT's span placement (Definition 4.5.5): a list of spans ``(start, stop)``.

    The budget is ``round(mask_ratio * seq_len)`` positions. Until it is spent,
    a length l is drawn from ``span_length_pmf(p, max_span)`` and a start
    uniformly among the positions not yet masked; the span covers
    ``start .. min(start + l, seq_len) - 1`` and is cut short where the budget
    runs out. A span may run into an earlier one, so spans can overlap; their
    union (``span_mask``) has exactly the budget's size.
    """
    if int(seq_len) != seq_len or seq_len < 0:
        raise ValueError(f"seq_len must be an integer >= 0, got {seq_len}")
    _check_prob("mask_ratio", mask_ratio)
    _check_span_args(p, max_span)
    budget = round(mask_ratio * seq_len)
    masked = torch.zeros(int(seq_len), dtype=torch.bool)
    pmf = span_length_pmf(p, max_span).to(_draw_device(generator))
    spans, count = [], 0
    for _round in range(budget):  # each round masks >= 1 new position: budget rounds suffice
        if count >= budget:
            break
        length = int(torch.multinomial(pmf, 1, generator=generator)) + 1
        free = (~masked).nonzero().flatten()
        pick = int(torch.randint(0, free.numel(), (1,), generator=generator, device=_draw_device(generator)))
        start = int(free[pick])
        stop = start
        while stop < min(start + length, seq_len) and count < budget:
            if not masked[stop]:
                masked[stop] = True
                count += 1
            stop += 1
        spans.append((start, stop))
    if count != budget:
        raise RuntimeError(f"sample_spans masked {count} positions, not the budget {budget}")
    return spans


def span_mask(
    seq_len: int,
    *,
    mask_ratio: float = 0.15,
    p: float = 0.2,
    max_span: int = 10,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Span mask of Definition 4.5.5, the positions of eq. (4.5.8): bool ``(seq_len,)``.

    The union of the spans of ``sample_spans``: exactly
    ``round(mask_ratio * seq_len)`` positions are True. On the CPU.
    """
    spans = sample_spans(seq_len, mask_ratio=mask_ratio, p=p, max_span=max_span, generator=generator)
    mask = torch.zeros(int(seq_len), dtype=torch.bool)
    for start, stop in spans:
        mask[start:stop] = True
    return mask


def word_ids(pieces: list[str], special_pieces=DEFAULT_SPECIAL_PIECES) -> list[int]:
    """The word of each WordPiece piece (the sets T_w of eq. (4.5.10)): ``list[int]``.

    A piece starting with ``##`` continues the previous word; any other piece
    starts a new one. Pieces in ``special_pieces`` belong to no word (-1).
    """
    if isinstance(pieces, str) or not all(isinstance(piece, str) for piece in pieces):
        raise ValueError("pieces must be a list of strings")
    ids, current = [], -1
    previous_is_word = False
    for piece in pieces:
        if piece in special_pieces:
            ids.append(-1)
            previous_is_word = False
            continue
        if not (piece.startswith("##") and previous_is_word):
            current += 1
        ids.append(current)
        previous_is_word = True
    return ids


def whole_word_mask(
    pieces: list[str],
    *,
    mask_prob: float = 0.15,
    generator: torch.Generator | None = None,
    special_pieces=DEFAULT_SPECIAL_PIECES,
) -> torch.Tensor:
    """Whole-word masking over WordPiece pieces, Definition 4.5.7 / eq. (4.5.10): bool ``(len(pieces),)``.

    Each word (see ``word_ids``) is selected independently with probability
    ``mask_prob``; a selected word has all its pieces masked, an unselected
    one none (Cui et al. 2021). Special pieces are never masked. On the CPU.
    """
    _check_prob("mask_prob", mask_prob)
    ids = torch.tensor(word_ids(pieces, special_pieces), dtype=torch.long)
    n_words = int(ids.max()) + 1 if ids.numel() else 0
    chosen = torch.rand(n_words, generator=generator, device=_draw_device(generator)).cpu() < mask_prob
    if n_words == 0:
        return torch.zeros(len(ids), dtype=torch.bool)
    return (ids >= 0) & chosen[ids.clamp(min=0)]


def mlm_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    ignore_index: int = IGNORE_INDEX,
    reduction: str = "mean",
) -> torch.Tensor:
    """MLM loss over the selected positions, eqs. (4.5.7), (4.5.9), (4.5.10).

    logits: ``(..., T, V)`` computed from the corrupted input (all of M hidden
    at once); labels: ``(..., T)`` original ids at selected positions,
    ``ignore_index`` elsewhere (as ``bert_mask`` returns them).

    - ``"sum"``: -sum_{t in M} log P(x_t | corrupted x), eq. (4.5.7);
    - ``"mean"``: the sum divided by |M| (BERT's training loss); 0, with a
      zero gradient, when no position is selected;
    - ``"none"``: per-position values ``(..., T)``, 0 where not selected.
    """
    check_reduction(reduction)
    if not isinstance(logits, torch.Tensor) or logits.dim() < 1 or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating tensor (..., V), got {getattr(logits, 'dtype', type(logits))}")
    labels = as_token_ids("labels", labels)  # int64: uint8 ids compared with -100 would wrap to 156
    if logits.shape[:-1] != labels.shape:
        raise ValueError(
            f"logits (..., V) and labels (...) do not match: logits {tuple(logits.shape)}, labels {tuple(labels.shape)}"
        )
    vocab = logits.shape[-1]
    selected = labels != ignore_index
    if selected.any() and (labels[selected].min() < 0 or labels[selected].max() >= vocab):
        raise ValueError(f"labels must lie in [0, {vocab}) or equal ignore_index={ignore_index}")
    return lm_loss(logits, labels, reduction=reduction, ignore_index=ignore_index)


def word_span_mask(
    word_of_piece,
    *,
    mask_ratio: float = 0.15,
    p: float = 0.2,
    max_span: int = 10,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Span mask measured in whole words (SpanBERT), the positions of eq. (4.5.8): bool ``(T,)``.

    word_of_piece: ``(T,)`` list or integer tensor, the word of each piece as
    ``word_ids`` returns it (consecutive words 0, 1, ...; -1 for special
    pieces, never masked). The budget is ``round(mask_ratio * n)`` pieces, n
    the number of non-special pieces. Until it is spent, a length l in *words*
    is drawn from ``span_length_pmf(p, max_span)``, a start piece uniformly
    among the unmasked non-special pieces, and the words ``w, w + 1, ...,
    w + l - 1`` from the start's word w are masked whole, one after the other,
    until the span or the budget ends. A word is never split, so the last
    word can overshoot the budget: the mask has between ``budget`` and
    ``budget + (longest word - 1)`` pieces. On the CPU.
    """
    _check_prob("mask_ratio", mask_ratio)
    _check_span_args(p, max_span)
    if isinstance(word_of_piece, torch.Tensor):
        if word_of_piece.dim() != 1 or word_of_piece.is_floating_point() or word_of_piece.dtype == torch.bool:
            raise ValueError(f"word_of_piece must be a 1-D integer tensor, got {word_of_piece.dtype}")
        words = word_of_piece.detach().to("cpu", torch.long)
    else:
        if isinstance(word_of_piece, str) or not all(isinstance(w, int) for w in word_of_piece):
            raise ValueError("word_of_piece must be a list of ints or a 1-D integer tensor")
        words = torch.tensor(list(word_of_piece), dtype=torch.long)
    if words.numel() and (words.min() < -1):
        raise ValueError("word_of_piece must hold word numbers >= 0, or -1 for special pieces")
    maskable = words >= 0
    budget = round(mask_ratio * int(maskable.sum()))
    n_words = int(words.max()) + 1 if words.numel() else 0
    masked = torch.zeros(words.numel(), dtype=torch.bool)
    pmf = span_length_pmf(p, max_span).to(_draw_device(generator))
    count = 0
    for _round in range(budget):  # each round masks >= 1 new word: budget rounds suffice
        if count >= budget:
            break
        length = int(torch.multinomial(pmf, 1, generator=generator)) + 1
        free = (maskable & ~masked).nonzero().flatten()
        pick = int(torch.randint(0, free.numel(), (1,), generator=generator, device=_draw_device(generator)))
        word = int(words[free[pick]])
        for w in range(word, min(word + length, n_words)):
            if count >= budget:
                break
            new = (words == w) & ~masked
            masked |= new
            count += int(new.sum())
    if count < budget:
        raise RuntimeError(f"word_span_mask masked {count} pieces, fewer than the budget {budget}")
    return masked


def bits_per_byte(nll_sum, n_bytes: int):
    """Bits per byte of a summed negative log-likelihood in nats: ``nll_sum / (n_bytes ln 2)``.

    nll_sum: the total loss (a float or a tensor, in nats) of a text whose UTF-8
    encoding has ``n_bytes`` bytes. Unlike a per-token mean, the result does
    not depend on how a tokenizer cut the text, so models with different
    tokenizers can be compared on it.
    """
    if int(n_bytes) != n_bytes or n_bytes < 1:
        raise ValueError(f"n_bytes must be an integer >= 1, got {n_bytes!r}")
    return nll_sum / (int(n_bytes) * math.log(2.0))
