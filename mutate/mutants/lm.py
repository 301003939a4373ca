"""Planted defects of ``llmloss.lm`` (section 4.5.1).

One dict per mutant (the format of every file in this folder):
  name       unique, "<module>-<what goes wrong>"
  path       the file, relative to code/llmloss
  old        source text that must occur exactly once in that file (else STALE)
  new        what replaces it
  equation   the equation (or theorem) it breaks: "4.5.N", "thm-4.5.1", "pareto"
  notebooks  chapters that must catch it, by number: ("451",)
  why        one line: the bug, in words
"""

MUTANTS = [
    dict(
        name="lm-next-token-unshifted",
        path="lm.py",
        old="targets[..., :-1] = tokens[..., 1:]",
        new="targets[..., :-1] = tokens[..., :-1]",
        equation="4.5.2",
        notebooks=("451",),
        why="next-token targets not shifted: position t scores its own token",
    ),
    dict(
        name="lm-nll-sign",
        path="lm.py",
        old="apply_reduction(-token_log_probs(",
        new="apply_reduction(token_log_probs(",
        equation="4.5.2",
        notebooks=("451",),
        why="log-likelihood instead of negative log-likelihood (sign flip)",
    ),
    dict(
        name="lm-sum-is-mean",
        path="lm.py",
        old='if reduction == "sum":\n        return total\n',
        new='if reduction == "sum":\n        return total / max(values.numel(), 1)\n',
        equation="4.5.2",
        notebooks=("451",),
        why='reduction="sum" returns the mean (mean for sum), in every helper that reduces with apply_reduction',
    ),
    dict(
        name="lm-log-softmax-dropped",
        path="lm.py",
        old="log_probs = F.log_softmax(logits, dim=-1",
        new="log_probs = logits - 0 * F.log_softmax(logits, dim=-1",
        equation="4.5.3",
        notebooks=("451",),
        why="raw logits used as log-probabilities: the softmax normaliser is dropped",
    ),
    dict(
        name="lm-log-softmax-wrong-dim",
        path="lm.py",
        old="log_probs = F.log_softmax(logits, dim=-1",
        new="log_probs = F.log_softmax(logits, dim=-2",
        equation="4.5.3",
        notebooks=("451",),
        why="softmax normalised over positions instead of the vocabulary",
    ),
    dict(
        name="lm-prefix-loss-off-by-one",
        path="lm.py",
        old="return torch.arange(seq_len, device=device) >= max(prefix_len - 1, 0)",
        new="return torch.arange(seq_len, device=device) >= prefix_len",
        equation="4.5.4",
        notebooks=("451",),
        why="prefix-LM loss mask shifted by one: x_{K+1}, the first target, is dropped",
    ),
    dict(
        name="lm-prefix-attention-causal",
        path="lm.py",
        old="return causal | (in_prefix[:, None] & in_prefix[None, :])",
        new="return causal",
        equation="4.5.4",
        notebooks=("451",),
        why="prefix-LM attention mask is plain causal: no bidirectional prefix",
    ),
    dict(
        name="lm-mean-over-all-positions",
        path="lm.py",
        old="count = values.numel() if mask is None else int(mask.sum())",
        new="count = values.numel()",
        equation="4.5.5",
        notebooks=("451",),
        why="masked mean divides by every position, padding included, not sum_t M_t",
    ),
    dict(
        name="lm-padding-mask-ignored",
        path="lm.py",
        old="counted = counted & mask",
        new="counted = counted  # mask ignored",
        equation="4.5.5",
        notebooks=("451",),
        why="the padding mask M_t is ignored: padded positions are scored",
    ),
    dict(
        name="lm-mask-denominator-only",
        path="lm.py",
        old="values = torch.where(mask, values, torch.zeros((), dtype=values.dtype, device=values.device))",
        new="values = values  # masked items not zeroed",
        equation="4.5.5",
        notebooks=("451",),
        why="the mask reaches the denominator only: masked positions still add -log p(token 0)",
    ),
    dict(
        name="lm-valid-target-off-by-one",
        path="lm.py",
        old="return torch.arange(seq_len, device=lengths.device) + 1 < lengths[:, None]",
        new="return torch.arange(seq_len, device=lengths.device) < lengths[:, None]",
        equation="4.5.5",
        notebooks=("451",),
        why="M_t counts the last real position too, whose target is padding",
    ),
    dict(
        name="lm-shifted-loss-reversed-shift",
        path="lm.py",
        old="lm_loss(logits[..., :-1, :], labels[..., 1:],",
        new="lm_loss(logits[..., 1:, :], labels[..., :-1],",
        equation="4.5.2",
        notebooks=("451",),
        why="shifted the wrong way: the logits at t+1 score label t, a token they have seen (a leak)",
    ),
]
