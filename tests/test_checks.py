"""Tests of llmloss.checks: the verdict helpers print one reproducible line and
fail loudly."""

import pytest
import sympy
import torch

from llmloss.checks import check_close, check_identity, check_true, max_rel_error


def _lines(capsys):
    return capsys.readouterr().out.splitlines()


# ---------------------------------------------------------------- max_rel_error


def test_max_rel_error_is_absolute_near_zero():
    assert max_rel_error(torch.tensor([0.1, 0.0]), torch.tensor([0.0, 0.0])) == pytest.approx(0.1)


def test_max_rel_error_is_relative_for_large_values():
    assert max_rel_error(torch.tensor([1001.0, 5.0]), torch.tensor([1000.0, 5.0])) == pytest.approx(1e-3)


def test_max_rel_error_zero_for_equal_and_empty():
    x = torch.randn(4, generator=torch.Generator().manual_seed(0))
    assert max_rel_error(x, x.clone()) == 0.0
    assert max_rel_error(torch.zeros(0), torch.zeros(0)) == 0.0


def test_max_rel_error_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        max_rel_error(torch.zeros(3), torch.zeros(4))


# ---------------------------------------------------------------- check_close


def test_check_close_passes_and_prints_one_line(capsys):
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    check_close("softmax sums to one", x, x + 1e-12, tol=1e-9)
    lines = _lines(capsys)
    assert len(lines) == 1
    assert "softmax sums to one" in lines[0]
    assert "max rel. error < " in lines[0]
    assert "float64" in lines[0]
    assert lines[0] == "softmax sums to one: max rel. error < 1e-09 (float64)"


def test_check_close_reports_dtype_of_actual(capsys):
    check_close("float32 claim", torch.ones(2, dtype=torch.float32), torch.ones(2, dtype=torch.float64), tol=1e-6)
    (line,) = _lines(capsys)
    assert line == "float32 claim: max rel. error < 1e-06 (float32)"


def test_check_close_line_does_not_depend_on_the_error(capsys):
    check_close("c", torch.tensor([1.0]), torch.tensor([1.0]), tol=1e-3)
    check_close("c", torch.tensor([1.0001]), torch.tensor([1.0]), tol=1e-3)
    first, second = _lines(capsys)
    assert first == second


def test_check_close_accepts_tensors_requiring_grad(capsys):
    x = torch.ones(3, requires_grad=True)
    check_close("grad tensor", x * 2, torch.full((3,), 2.0), tol=1e-6)
    assert len(_lines(capsys)) == 1


def test_check_close_fails_when_error_exceeds_tol(capsys):
    with pytest.raises(AssertionError, match="claim"):
        check_close("claim", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.1]), tol=1e-3)
    assert _lines(capsys) == []


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_check_close_fails_on_non_finite_actual(bad):
    with pytest.raises(AssertionError):
        check_close("claim", torch.tensor([1.0, bad]), torch.tensor([1.0, 2.0]), tol=1e3)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_check_close_fails_on_non_finite_expected(bad):
    with pytest.raises(AssertionError):
        check_close("claim", torch.tensor([1.0, 2.0]), torch.tensor([1.0, bad]), tol=1e3)


def test_check_close_fails_when_both_are_nan():
    nan = torch.tensor([float("nan")])
    with pytest.raises(AssertionError):
        check_close("claim", nan, nan.clone(), tol=1.0)


def test_check_close_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        check_close("claim", torch.zeros(2, 3), torch.zeros(3, 2), tol=1.0)


# ---------------------------------------------------------------- check_identity


@pytest.mark.parametrize(
    ("lhs", "rhs"),
    [
        ("(x + 1)**2", "x**2 + 2*x + 1"),
        ("sin(x)**2 + cos(x)**2", "1"),
        ("log(exp(x))", "x"),
    ],
)
def test_check_identity_passes_on_identities(capsys, lhs, rhs):
    x = sympy.Symbol("x", real=True)
    check_identity("identity", sympy.sympify(lhs, locals={"x": x}), sympy.sympify(rhs, locals={"x": x}))
    assert _lines(capsys) == ["identity: proved symbolically (SymPy)"]


def test_check_identity_accepts_sympy_objects(capsys):
    x = sympy.Symbol("x")
    check_identity("square", (x + 1) ** 2, x**2 + 2 * x + 1)
    (line,) = _lines(capsys)
    assert "proved symbolically" in line
    assert line.startswith("square")


def test_check_identity_fails_on_non_identity(capsys):
    x = sympy.Symbol("x")
    with pytest.raises(AssertionError, match="square"):
        check_identity("square", (x + 1) ** 2, x**2 + 1)
    assert _lines(capsys) == []


# ---------------------------------------------------------------- check_true


def test_check_true_passes_and_prints(capsys):
    check_true("mask is causal", True)
    assert _lines(capsys) == ["mask is causal: holds"]


def test_check_true_prints_detail(capsys):
    check_true("loss is positive", 1 > 0, detail="min 0.12")
    assert _lines(capsys) == ["loss is positive: holds (min 0.12)"]


@pytest.mark.parametrize("condition", [torch.tensor(True), torch.tensor([True]), sympy.true])
def test_check_true_accepts_one_element_tensors_and_sympy(capsys, condition):
    check_true("claim", condition)
    assert _lines(capsys) == ["claim: holds"]


@pytest.mark.parametrize("condition", [False, torch.tensor(False), torch.tensor([0]), sympy.false])
def test_check_true_fails_on_false(capsys, condition):
    with pytest.raises(AssertionError, match="claim"):
        check_true("claim", condition)
    assert _lines(capsys) == []


def test_check_true_rejects_multi_element_tensor():
    with pytest.raises(ValueError, match="one element"):
        check_true("claim", torch.tensor([True, True]))


def test_check_identity_compares_matrices_elementwise(capsys):
    x = sympy.Symbol("x")
    check_identity("matrix", sympy.Matrix([(x + 1) ** 2, sympy.sin(x) ** 2]), [x**2 + 2 * x + 1, 1 - sympy.cos(x) ** 2])
    assert "proved symbolically" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="matrix"):
        check_identity("matrix", [x, x], [x, x + 1])
    with pytest.raises(ValueError, match="shape"):
        check_identity("matrix", [x, x], [x])
