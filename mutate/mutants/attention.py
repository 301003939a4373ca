"""Planted defects of ``llmloss.attention`` (section 4.5.1, Theorem 4.5.1). Record format: see lm.py."""

MUTANTS = [
    dict(
        name="attention-sinusoidal-dropped",
        path="attention.py",
        old="h = h + self.pe[:seq_len].to(h.dtype)",
        new="h = h + 0 * self.pe[:seq_len].to(h.dtype)",
        equation="thm-4.5.1",
        notebooks=("451",),
        why='positions="sinusoidal" adds nothing: the model is blind to order',
    ),
    dict(
        name="attention-rope-wrong-rotation",
        path="attention.py",
        old="out[..., 1::2] = even * sin + odd * cos",
        new="out[..., 1::2] = even * sin - odd * cos",
        equation="thm-4.5.1",
        notebooks=("451",),
        why="RoPE is a reflection, not a rotation: scores no longer depend on m - n alone",
    ),
    dict(
        name="attention-rope-keys-unrotated",
        path="attention.py",
        old="q, k = apply_rope(q), apply_rope(k)",
        new="q, k = apply_rope(q), k",
        equation="thm-4.5.1",
        notebooks=("451",),
        why="RoPE applied to queries only: absolute, not relative, positions",
    ),
    dict(
        name="attention-causal-is-bidirectional",
        path="attention.py",
        old='return prefix_lm_mask(prefix_len if kind == "prefix" else 0, seq_len, device=device)',
        new='return prefix_lm_mask(prefix_len if kind == "prefix" else seq_len, seq_len, device=device)',
        equation="4.5.1",
        notebooks=("451",),
        why="the causal mask lets every position see the future (a leak)",
    ),
    dict(
        name="attention-nope-adds-positions",
        path="attention.py",
        old='if self.positions == "sinusoidal":',
        new='if self.positions != "rope":',
        equation="thm-4.5.1",
        notebooks=("451",),
        why='positions="none" still adds sinusoidal encodings: a NoPE model sees order',
    ),
]
