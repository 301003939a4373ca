"""Linear cross-entropy at scale (chapter 4.5.6): time, memory and accuracy, side by side.

Forward and backward of ``cross_entropy(hidden @ weight.T, targets)``, computed by

- ``plain``: the full ``(N, V)`` logits in the inputs' dtype, then ``F.cross_entropy``;
- ``upcast``: the full logits cast to float32 first (what Hugging Face models do);
- ``fused``: ``chunked_linear_cross_entropy(mode="fused")``, gradient in the forward pass;
- ``recompute``: ``chunked_linear_cross_entropy(mode="recompute")``, logits recomputed in backward;
- ``liger`` and ``cce``: Liger Kernel's ``LigerFusedLinearCrossEntropyLoss`` and Apple's
  Cut Cross-Entropy, when installed (``pip install -e .[bench]``; both need CUDA and Triton).

Time: the median of ``--repeats`` calls after a warm-up, and on CUDA the
throughput of the three matrix products (6 N D V flop) it implies. Peak memory
is measured above the inputs: ``torch.cuda.max_memory_allocated`` on CUDA, the
allocation records of ``torch.profiler`` on the CPU. Errors are relative (max
abs / max abs) against a float64 computation from the same inputs.

    python bench/chunked_ce.py               # CPU default: N = 2048, D = 128, float32
    python bench/chunked_ce.py --gpu-shape   # N = 16384, D = 4096, V = 131072, bfloat16

Goals (issue 16): at V = 131072, fused time <= 1.10 x plain and peak memory
<= 0.25 x plain (CPU float32) or <= 0.35 x the logits (GPU bfloat16).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from llmloss import device as devices
from llmloss.frontiers import chunked_linear_cross_entropy, logits_bytes
from llmloss.measure import measure_peak_memory

MIB = 2**20
GOAL_VOCAB, GOAL_TIME, GOAL_MEMORY_CPU, GOAL_MEMORY_GPU = 131_072, 1.10, 0.25, 0.35


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, nargs="+", default=[8192, 32768, 131072])
    parser.add_argument("--tokens", type=int, default=2048, help="tokens per batch (N)")
    parser.add_argument("--dim", type=int, default=128, help="hidden size (D)")
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    parser.add_argument("--gpu-shape", action="store_true", help="N=16384, D=4096, V=131072, bfloat16, chunk 4096")
    args = parser.parse_args(argv)
    if args.gpu_shape:
        args.vocab, args.tokens, args.dim, args.dtype, args.chunk_size = [131072], 16384, 4096, "bfloat16", 4096
        args.repeats = max(args.repeats, 10)
    return args


def optional_kernels(dev: torch.device) -> dict:
    """Liger and Cut Cross-Entropy, where installed and usable (CUDA only)."""
    found = {}
    if dev.type != "cuda":
        return found
    try:
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

        liger = LigerFusedLinearCrossEntropyLoss()
        found["liger"] = lambda h, w, t: liger(w, h, t)
    except ImportError:
        pass
    try:
        from cut_cross_entropy import linear_cross_entropy

        found["cce"] = lambda h, w, t: linear_cross_entropy(h, w, t)
    except ImportError:
        pass
    return found


def implementations(chunk: int, dev: torch.device) -> dict:
    return {
        "plain": lambda h, w, t: F.cross_entropy(h @ w.T, t),
        "upcast": lambda h, w, t: F.cross_entropy((h @ w.T).float(), t),
        "fused": lambda h, w, t: chunked_linear_cross_entropy(h, w, t, chunk, mode="fused"),
        "recompute": lambda h, w, t: chunked_linear_cross_entropy(h, w, t, chunk, mode="recompute"),
        **optional_kernels(dev),
    }


def problem(n: int, d: int, v: int, dtype: torch.dtype, dev: torch.device):
    g = devices.cpu_generator(0)
    hidden = torch.randn(n, d, generator=g).to(dev, dtype).requires_grad_()
    weight = (torch.randn(v, d, generator=g) / d**0.5).to(dev, dtype).requires_grad_()
    targets = torch.randint(0, v, (n,), generator=g).to(dev)
    return hidden, weight, targets


def median_time(fn, dev: torch.device, repeats: int) -> float:
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda *_: None)
    fn()
    times = []
    for _ in range(repeats):
        sync(dev)
        start = time.perf_counter()
        fn()
        sync(dev)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def relative_error(x: torch.Tensor, ref: torch.Tensor) -> float:
    return ((x.double() - ref).abs().max() / ref.abs().max()).item()


def main(argv=None) -> None:
    args = parse_args(argv)
    dev = devices.default_device()
    dtype = getattr(torch, args.dtype)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    print(
        f"device {dev} ({name}), {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, Python {platform.python_version()}"
    )
    print(
        f"N = {args.tokens}, D = {args.dim}, chunk_size = {args.chunk_size}, {args.dtype}, forward + backward; "
        f"time: median of {args.repeats} after a warm-up; peak memory above the inputs; errors against float64\n"
    )
    print(
        "| V | implementation | ms | TFLOP/s | peak MiB | peak / logits | time / plain | memory / plain "
        "| loss rel. err | grad_W rel. err | grad_h rel. err |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    goal = {}
    for v in args.vocab:
        hidden, weight, targets = problem(args.tokens, args.dim, v, dtype, dev)
        h64, w64 = hidden.detach().double().requires_grad_(), weight.detach().double().requires_grad_()
        ref_loss = chunked_linear_cross_entropy(h64, w64, targets, args.chunk_size, mode="recompute")
        ref = (ref_loss.detach(), *torch.autograd.grad(ref_loss, (h64, w64)))
        del h64, w64
        logits_mib = logits_bytes(args.tokens, v, dtype) / MIB
        rows = {}
        for label, loss_fn in implementations(args.chunk_size, dev).items():

            def step(loss_fn=loss_fn, hidden=hidden, weight=weight, targets=targets):
                loss = loss_fn(hidden, weight, targets)
                return (loss.detach(), *torch.autograd.grad(loss, (hidden, weight)))

            errors = [relative_error(x, r) for x, r in zip(step(), ref, strict=True)]
            seconds = median_time(step, dev, args.repeats)
            peak = measure_peak_memory(step, dev)
            rows[label] = (seconds, peak)
            tflops = f"{6 * args.tokens * args.dim * v / seconds / 1e12:.0f}" if dev.type == "cuda" else "-"
            print(
                f"| {v} | {label} | {1e3 * seconds:.1f} | {tflops} | {peak / MIB:.0f} | {peak / MIB / logits_mib:.2f} "
                f"| {seconds / rows['plain'][0]:.2f} | {peak / rows['plain'][1]:.3f} "
                f"| {errors[0]:.1e} | {errors[2]:.1e} | {errors[1]:.1e} |"
            )
            sys.stdout.flush()
        goal[v] = (rows["fused"][0] / rows["plain"][0], rows["fused"][1] / rows["plain"][1], rows["fused"][1])
        del hidden, weight, targets, ref
    if GOAL_VOCAB in goal:
        t, m, peak = goal[GOAL_VOCAB]
        logits_mib = logits_bytes(args.tokens, GOAL_VOCAB, dtype) / MIB
        if dev.type == "cuda":
            ok, memory = t <= GOAL_TIME and peak / MIB <= GOAL_MEMORY_GPU * logits_mib, "peak / logits"
            shown = peak / MIB / logits_mib
        else:
            ok, memory, shown = t <= GOAL_TIME and m <= GOAL_MEMORY_CPU, "memory / plain", m
        print(
            f"\nGoal at V = {GOAL_VOCAB} (fused time / plain <= {GOAL_TIME}, {memory} <= "
            f"{GOAL_MEMORY_GPU if dev.type == 'cuda' else GOAL_MEMORY_CPU}): {'met' if ok else 'NOT met'} "
            f"(time {t:.2f}, {memory} {shown:.3f})"
        )


if __name__ == "__main__":
    main()
