"""Verification verdicts: assert a claim, then print one reproducible line.

A verdict states what was checked and the tolerance that was asserted, never
the raw error, so the printed line is the same on every machine and device.
Each check raises ``AssertionError`` explicitly (not with an ``assert``
statement), so it fails under ``python -O`` too.
"""

from __future__ import annotations

import sympy
import torch


def _as_float64(x) -> torch.Tensor:
    return torch.as_tensor(x).detach().to("cpu", torch.float64)


def max_rel_error(actual, expected) -> float:
    """max |actual - expected| / max(1, max |expected|): relative for large
    values, absolute near zero."""
    a, e = _as_float64(actual), _as_float64(expected)
    if a.shape != e.shape:
        raise ValueError(f"actual has shape {tuple(a.shape)} but expected has {tuple(e.shape)}")
    if a.numel() == 0:
        return 0.0
    scale = max(1.0, e.abs().max().item())
    return (a - e).abs().max().item() / scale


def check_close(claim: str, actual, expected, *, tol: float) -> None:
    """Assert that two tensors agree to ``tol`` (see ``max_rel_error``).

    Prints ``"<claim>: max rel. error < <tol> (<dtype>)"``. NaN or inf in
    either tensor fails the check.
    """
    a, e = torch.as_tensor(actual), torch.as_tensor(expected)
    if not (torch.isfinite(_as_float64(a)).all() and torch.isfinite(_as_float64(e)).all()):
        raise AssertionError(f"{claim}: non-finite values")
    err = max_rel_error(a, e)
    if not err < tol:
        raise AssertionError(f"{claim}: max rel. error {err:.3g} >= {tol:g}")
    print(f"{claim}: max rel. error < {tol:g} ({str(a.dtype).removeprefix('torch.')})")


def check_identity(claim: str, lhs, rhs) -> None:
    """Assert that two SymPy expressions (or matrices, lists of expressions of
    one shape) are identically equal.

    Prints ``"<claim>: proved symbolically (SymPy)"``.
    """
    if isinstance(lhs, (list, tuple, sympy.MatrixBase)) or isinstance(rhs, (list, tuple, sympy.MatrixBase)):
        left, right = sympy.Matrix(lhs), sympy.Matrix(rhs)
        if left.shape != right.shape:
            raise ValueError(f"lhs has shape {left.shape} but rhs has {right.shape}")
        differences = [sympy.simplify(d) for d in left - right]
    else:
        differences = [sympy.simplify(sympy.sympify(lhs) - sympy.sympify(rhs))]
    nonzero = [d for d in differences if d != 0]
    if nonzero:
        raise AssertionError(f"{claim}: lhs - rhs simplifies to {nonzero[0]}, not 0")
    print(f"{claim}: proved symbolically (SymPy)")


def check_true(claim: str, condition, *, detail: str = "") -> None:
    """Assert a boolean (Python, NumPy, SymPy or a one-element tensor).

    Prints ``"<claim>: holds"`` followed by ``detail`` when given; ``detail``
    must itself be reproducible (a tolerance, a rounded number).
    """
    if isinstance(condition, torch.Tensor):
        if condition.numel() != 1:
            raise ValueError(f"condition must have one element, got shape {tuple(condition.shape)}")
        condition = condition.item()
    if not bool(condition):
        raise AssertionError(f"{claim}: does not hold" + (f" ({detail})" if detail else ""))
    print(f"{claim}: holds" + (f" ({detail})" if detail else ""))
