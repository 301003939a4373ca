"""Chunked versus plain linear cross-entropy (chapter 4.5.6): peak memory and time.

Runs the forward and backward pass of the loss of a linear head,
``cross_entropy(hidden @ weight.T, targets)``, two ways:

- plain: ``llmloss.frontiers.plain_linear_cross_entropy`` holds the full
  ``(tokens, V)`` logits (and autograd keeps their log-softmax and gradient);
- chunked: ``llmloss.frontiers.chunked_linear_cross_entropy`` holds one
  ``(chunk_size, V)`` block at a time and recomputes it in the backward pass.

Peak memory is *measured*: ``torch.cuda.max_memory_allocated`` on CUDA, the
allocation records of ``torch.profiler`` (``profile_memory=True``) on the CPU,
both counted above what was allocated before the call (inputs excluded).
Time is the fastest of ``--repeats`` calls after a warm-up. Prints a Markdown
table with the ratios chunked / plain. Goal of the book (issue 7): at a 128k
vocabulary, memory ratio <= 0.25 and time ratio <= 1.5.

    python bench/chunked_ce.py                 # ~2 minutes on a 2-core CPU
    python bench/chunked_ce.py --vocab 8192 32768 --tokens 1024
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import torch

from llmloss import device as devices
from llmloss.frontiers import (
    chunked_linear_cross_entropy,
    logits_bytes,
    measure_peak_memory,
    measure_time,
    plain_linear_cross_entropy,
)

MIB = 2**20
GOAL_VOCAB, GOAL_MEMORY, GOAL_TIME = 131_072, 0.25, 1.5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, nargs="+", default=[8192, 32768, 65536, 131072])
    parser.add_argument("--tokens", type=int, default=2048, help="tokens per batch (N)")
    parser.add_argument("--dim", type=int, default=128, help="hidden size (D)")
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    return parser.parse_args(argv)


def problem(n: int, d: int, v: int, dtype: torch.dtype, device: torch.device):
    g = devices.cpu_generator(0)
    hidden = torch.randn(n, d, generator=g).to(device, dtype).requires_grad_()
    weight = (torch.randn(v, d, generator=g) / d**0.5).to(device, dtype).requires_grad_()
    targets = torch.randint(0, v, (n,), generator=g).to(device)
    return hidden, weight, targets


def main(argv=None) -> None:
    args = parse_args(argv)
    dev = devices.default_device()
    dtype = getattr(torch, args.dtype)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    memory_by = "torch.cuda.max_memory_allocated" if dev.type == "cuda" else "torch.profiler allocation records"
    print(
        f"device {dev} ({name}), {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, Python {platform.python_version()}"
    )
    print(
        f"N = {args.tokens} tokens, D = {args.dim}, chunk_size = {args.chunk_size}, {args.dtype}, "
        f"forward + backward; peak memory by {memory_by}; time: fastest of {args.repeats} after a warm-up\n"
    )
    print(
        "| V | logits (MiB) | plain peak (MiB) | chunked peak (MiB) | memory chunked/plain "
        "| plain time (s) | chunked time (s) | time chunked/plain |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = {}
    for v in args.vocab:
        hidden, weight, targets = problem(args.tokens, args.dim, v, dtype, dev)

        def plain(hidden=hidden, weight=weight, targets=targets):
            return torch.autograd.grad(plain_linear_cross_entropy(hidden, weight, targets), (hidden, weight))

        def chunked(hidden=hidden, weight=weight, targets=targets):
            loss = chunked_linear_cross_entropy(hidden, weight, targets, chunk_size=args.chunk_size)
            return torch.autograd.grad(loss, (hidden, weight))

        mem = {label: measure_peak_memory(fn, dev) for label, fn in (("plain", plain), ("chunked", chunked))}
        sec = {label: measure_time(fn, dev, args.repeats) for label, fn in (("plain", plain), ("chunked", chunked))}
        ratios[v] = (mem["chunked"] / mem["plain"], sec["chunked"] / sec["plain"])
        print(
            f"| {v} | {logits_bytes(args.tokens, v, dtype) / MIB:.0f} | {mem['plain'] / MIB:.0f} "
            f"| {mem['chunked'] / MIB:.0f} | {ratios[v][0]:.3f} | {sec['plain']:.2f} | {sec['chunked']:.2f} "
            f"| {ratios[v][1]:.2f} |"
        )
        sys.stdout.flush()
        del hidden, weight, targets
    if GOAL_VOCAB in ratios:
        m, t = ratios[GOAL_VOCAB]
        verdict = "met" if m <= GOAL_MEMORY and t <= GOAL_TIME else "NOT met"
        print(
            f"\nGoal at V = {GOAL_VOCAB} (memory ratio <= {GOAL_MEMORY}, time ratio <= {GOAL_TIME}): {verdict} "
            f"(memory {m:.3f}, time {t:.2f})"
        )


if __name__ == "__main__":
    main()
