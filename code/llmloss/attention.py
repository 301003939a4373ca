"""The attention pieces that section 4.5.1 needs: positional encodings and a
tiny transformer whose attention pattern and positions can be switched.

Theorem 4.5.1 is about what a model can know of token order; these pieces let
the book test it: attention without positions, with sinusoidal positions
(Vaswani et al. 2017) and with RoPE (Su et al. 2021).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from llmloss.lm import prefix_lm_mask

ATTENTION_KINDS = ("causal", "bidirectional", "prefix")
POSITION_KINDS = ("none", "sinusoidal", "rope")


def sinusoidal_positions(seq_len: int, dim: int, base: float = 10000.0, dtype=torch.float32) -> torch.Tensor:
    """Sinusoidal position encodings of Vaswani et al. (2017): ``(seq_len, dim)``.

    PE[t, 2i] = sin(t / base^(2i/dim)), PE[t, 2i+1] = cos(t / base^(2i/dim)).
    """
    if seq_len < 0:
        raise ValueError(f"seq_len must be >= 0, got {seq_len}")
    if dim < 2 or dim % 2:
        raise ValueError(f"dim must be even and >= 2, got {dim}")
    t = torch.arange(seq_len, dtype=torch.float64)[:, None]
    freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    pe = torch.empty(seq_len, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(t * freq)
    pe[:, 1::2] = torch.cos(t * freq)
    return pe.to(dtype)


def apply_rope(x: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding (Su et al. 2021) of ``x``: ``(..., T, d)``, d even.

    Rotates each pair (x[2i], x[2i+1]) at position t by the angle
    t * base^(-2i/d), so that <rope(q)_m, rope(k)_n> depends on m - n only.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"x must be a floating tensor (integers cannot be rotated), got {getattr(x, 'dtype', x)}")
    if x.dim() < 2 or x.shape[-1] % 2:
        raise ValueError(f"x must have shape (..., T, d) with d even, got {tuple(x.shape)}")
    seq_len, dim = x.shape[-2], x.shape[-1]
    freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=x.device) / dim)
    angle = torch.arange(seq_len, dtype=torch.float64, device=x.device)[:, None] * freq
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def attention_mask(kind: str, seq_len: int, prefix_len: int = 0, device=None) -> torch.Tensor:
    """Bool ``(seq_len, seq_len)``, True where query i may attend to key j."""
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"kind must be one of {ATTENTION_KINDS}, got {kind!r}")
    if kind == "bidirectional":
        return prefix_lm_mask(seq_len, seq_len, device=device)
    return prefix_lm_mask(prefix_len if kind == "prefix" else 0, seq_len, device=device)


class TinyTransformer(nn.Module):
    """A small pre-norm transformer language model: ``tokens (..., T) -> logits (..., T, V)``.

    attention: "causal", "bidirectional" or "prefix" (pass ``prefix_len`` to
    ``forward``); positions: "none" (NoPE), "sinusoidal" (added to the token
    embeddings) or "rope" (applied to queries and keys). Parameters are drawn
    from a CPU generator seeded with ``seed``, so the same seed gives the same
    model on every device.
    """

    def __init__(
        self,
        vocab_size: int,
        dim: int = 32,
        n_layers: int = 1,
        n_heads: int = 2,
        *,
        attention: str = "causal",
        positions: str = "none",
        max_len: int = 128,
        seed: int = 0,
    ):
        super().__init__()
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}")
        if positions not in POSITION_KINDS:
            raise ValueError(f"positions must be one of {POSITION_KINDS}, got {positions!r}")
        if vocab_size < 1 or n_layers < 1 or n_heads < 1 or dim % (2 * n_heads):
            raise ValueError(
                f"need vocab_size, n_layers, n_heads >= 1 and dim divisible by 2 * n_heads; "
                f"got vocab_size={vocab_size}, n_layers={n_layers}, n_heads={n_heads}, dim={dim}"
            )
        self.attention, self.positions, self.n_heads, self.max_len = attention, positions, n_heads, max_len
        # The layers' default initialisation draws from the global generator; it is
        # overwritten below from ``seed``, and fork_rng leaves the global state as it was.
        with torch.random.fork_rng(devices=[]):
            self.embed = nn.Embedding(vocab_size, dim)
            self.blocks = nn.ModuleList(
                nn.ModuleDict(
                    {
                        "norm1": nn.LayerNorm(dim),
                        "qkv": nn.Linear(dim, 3 * dim),
                        "proj": nn.Linear(dim, dim),
                        "norm2": nn.LayerNorm(dim),
                        "mlp": nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)),
                    }
                )
                for _ in range(n_layers)
            )
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, vocab_size)
        self.register_buffer("pe", sinusoidal_positions(max_len, dim), persistent=False)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if "norm" in name:
                    continue
                if name.endswith("bias"):
                    p.zero_()
                else:
                    p.normal_(0.0, 1.0 / math.sqrt(p.shape[-1]), generator=generator)

    def forward(self, tokens: torch.Tensor, prefix_len: int = 0) -> torch.Tensor:
        """Logits ``(..., T, V)`` of token ids ``(..., T)``; ``prefix_len``: the
        bidirectional prefix of the "prefix" attention pattern."""
        seq_len = tokens.shape[-1]
        if seq_len > self.max_len:
            raise ValueError(f"tokens has length {seq_len} > max_len={self.max_len}")
        h = self.embed(tokens)
        if self.positions == "sinusoidal":
            h = h + self.pe[:seq_len].to(h.dtype)
        mask = attention_mask(self.attention, seq_len, prefix_len, device=tokens.device)
        for block in self.blocks:
            q, k, v = block["qkv"](block["norm1"](h)).chunk(3, dim=-1)
            q, k, v = (z.unflatten(-1, (self.n_heads, -1)).transpose(-3, -2) for z in (q, k, v))
            if self.positions == "rope":
                q, k = apply_rope(q), apply_rope(k)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            h = h + block["proj"](a.transpose(-3, -2).flatten(-2))
            h = h + block["mlp"](block["norm2"](h))
        return self.head(self.norm(h))
