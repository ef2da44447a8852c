"""``disttorch.linalg``: parity with torch.linalg (values, dtypes, grads), gradchecks to second
order, LinAlgError cases and messages, the legacy Tensor methods."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from parity import check, check_error, gradcheck

import disttorch
import disttorch.linalg as DL

INF = float("inf")
NAN = float("nan")


def L(x):
    """disttorch.linalg or torch.linalg, by the tensor's library."""
    return DL if isinstance(x, disttorch.Tensor) else __import__("torch").linalg


def _lib(x):
    return disttorch if isinstance(x, disttorch.Tensor) else __import__("torch")


def _rng(seed=0):
    return np.random.default_rng(seed)


def gen(*shape, seed=0):
    return _rng(seed).uniform(-1, 1, shape)


def wc(*shape, seed=0):
    """Well-conditioned square matrices (diagonally dominant)."""
    n = shape[-1]
    return gen(*shape, seed=seed) + n * np.eye(n)


def spd(*shape, seed=0):
    """Symmetric positive-definite matrices."""
    a = gen(*shape, seed=seed)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym(*shape, seed=0):
    a = gen(*shape, seed=seed)
    return a + np.swapaxes(a, -1, -2)


def _abs_vectors(r):
    """Eigen/singular vectors up to sign: compare their absolute values."""
    return tuple(t.abs() if t.dim() >= 2 else t for t in r)


# -- norms --------------------------------------------------------------------------------------
VSHAPES = [(), (5,), (3, 4), (2, 3, 4), (0, 3)]
VNORM = {
    "default": (lambda x: L(x).vector_norm(x), VSHAPES),
    "ord1_dim": (lambda x: L(x).vector_norm(x, 1, -1), VSHAPES),
    "inf_keep": (lambda x: L(x).vector_norm(x, INF, dim=-1, keepdim=True), VSHAPES[:-1]),
    "ninf": (lambda x: L(x).vector_norm(x, -INF, 0), [(5,), (3, 4), (2, 3, 4)]),
    "zero": (lambda x: L(x).vector_norm(x, 0, dim=(0, -1)), [(3, 4), (2, 3, 4), (0, 3)]),
    "p3_5": (lambda x: L(x).vector_norm(x, 3.5, (0, -1), True), [(3, 4), (2, 3, 4)]),
    "neg_p": (lambda x: L(x).vector_norm(x, -1.5), VSHAPES[:-1]),
    "dtype": (lambda x: L(x).vector_norm(x.float(), dtype=_lib(x).float64), VSHAPES),
    "noncontig": (lambda x: L(x).vector_norm(x.transpose(0, 1), 2, dim=0), [(3, 4), (2, 3, 4)]),
}
VPARAMS = [(n, s) for n, (_, shapes) in VNORM.items() for s in shapes]


@pytest.mark.parametrize("name,shape", VPARAMS, ids=[f"{n}-{s}" for n, s in VPARAMS])
def test_vector_norm_parity(name, shape, device):
    check([shape], VNORM[name][0], device=device)


MATRIX_ORDS = ["fro", "nuc", INF, -INF, 1, -1, 2, -2]


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3), (2, 3, 3)], ids=str)
def test_matrix_norm_parity(ord, shape, device):
    check([shape], lambda a: L(a).matrix_norm(a, ord), device=device)
    check([shape], lambda a: L(a).matrix_norm(a, ord, keepdim=True), device=device)
    if len(shape) == 3:
        check([shape], lambda a: L(a).matrix_norm(a, ord, dim=(2, 0)), device=device)
        check([shape], lambda a: L(a).matrix_norm(a, ord, dim=(0, -1), keepdim=True), device=device)
        check([shape], lambda a: L(a).matrix_norm(a.transpose(0, 1), ord), device=device)


# torch reduces a minimum over an empty dim only for these (the others have no identity)
EMPTY_MIN_ERRORS = {(-INF, (0, 3)), (-INF, (2, 0, 0)), (-1, (3, 0)), (-1, (2, 0, 0)), (-2, (0, 3)),
                    (-2, (3, 0)), (-2, (2, 0, 0))}


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 0)], ids=str)
def test_matrix_norm_empty(ord, shape, device):
    if (ord, shape) in EMPTY_MIN_ERRORS:
        check_error(lambda t: L(t.ones(1)).matrix_norm(t.ones(shape), ord), IndexError)
        return
    check([shape], lambda a: L(a).matrix_norm(a, ord), device=device)


def test_matrix_norm_dtype_and_half(device):
    check([(3, 4)], lambda a: L(a).matrix_norm(a.float(), dtype=_lib(a).float64), device=device)
    check([(3, 4)], lambda a: L(a).matrix_norm(a.half()), device=device, atol=1e-2, rtol=1e-2)


NORM = {
    "plain": (lambda a: L(a).norm(a), [(3, 4), (2, 3, 4), (5,), ()]),
    "fro": (lambda a: L(a).norm(a, "fro"), [(3, 4)]),
    "nuc": (lambda a: L(a).norm(a, "nuc"), [(3, 4)]),
    "ord2_matrix": (lambda a: L(a).norm(a, 2), [(3, 4)]),
    "ord2_vector": (lambda a: L(a).norm(a, 2), [(5,)]),
    "ord3_vector": (lambda a: L(a).norm(a, 3), [(5,)]),
    "dim_int": (lambda a: L(a).norm(a, 1, dim=1), [(3, 4), (2, 3, 4)]),
    "dim_1tuple": (lambda a: L(a).norm(a, dim=(0,), keepdim=True), [(3, 4), (2, 3, 4)]),
    "dim_2tuple": (lambda a: L(a).norm(a, INF, dim=(0, 1)), [(3, 4), (2, 3, 4)]),
    "dim_2tuple_default": (lambda a: L(a).norm(a, dim=(-1, 0)), [(3, 4), (2, 3, 4)]),
    "dtype": (lambda a: L(a).norm(a.float(), dtype=_lib(a).float64), [(3, 4)]),
}
NPARAMS = [(n, s) for n, (_, shapes) in NORM.items() for s in shapes]


@pytest.mark.parametrize("name,shape", NPARAMS, ids=[f"{n}-{s}" for n, s in NPARAMS])
def test_norm_parity(name, shape, device):
    check([shape], NORM[name][0], device=device)


# -- decompositions, inverses, solvers: parity ----------------------------------------------------
def _cases():
    return {
        "det": (lambda a: L(a).det(a), [wc(3, 3)]),
        "det_batch": (lambda a: L(a).det(a), [wc(2, 3, 3)]),
        "det_noncontig": (lambda a: L(a).det(a.mT), [wc(2, 4, 4)]),
        "det_empty": (lambda a: L(a).det(a), [np.zeros((2, 0, 0))]),
        "det_empty_batch": (lambda a: L(a).det(a), [np.zeros((0, 3, 3))]),
        "slogdet": (lambda a: L(a).slogdet(-a), [wc(2, 3, 3)]),
        "slogdet_noncontig": (lambda a: L(a).slogdet(a.transpose(0, 2)), [wc(3, 3, 3)]),
        "inv": (lambda a: L(a).inv(a), [wc(4, 4)]),
        "inv_batch": (lambda a: L(a).inv(a), [wc(2, 2, 3, 3)]),
        "inv_noncontig": (lambda a: L(a).inv(a.mT), [wc(2, 3, 3)]),
        "inv_empty": (lambda a: L(a).inv(a), [np.zeros((2, 0, 0))]),
        "inv_ex": (lambda a: L(a).inv_ex(a), [wc(2, 3, 3)]),
        "solve": (lambda a, b: L(a).solve(a, b), [wc(3, 3), gen(3, 2)]),
        "solve_vector": (lambda a, b: L(a).solve(a, b), [wc(3, 3), gen(3)]),
        "solve_batch_vectors": (lambda a, b: L(a).solve(a, b), [wc(2, 3, 3), gen(2, 3)]),
        "solve_broadcast": (lambda a, b: L(a).solve(a, b), [wc(2, 3, 3), gen(3, 2)]),
        "solve_broadcast_a": (lambda a, b: L(a).solve(a, b), [wc(3, 3), gen(4, 3, 2)]),
        "solve_matrix_b": (lambda a, b: L(a).solve(a, b), [wc(2, 3, 3), gen(3, 3)]),
        "solve_right": (lambda a, b: L(a).solve(a, b, left=False), [wc(3, 3), gen(2, 2, 3)]),
        "solve_noncontig": (lambda a, b: L(a).solve(a.mT, b.mT), [wc(2, 3, 3), gen(2, 4, 3)]),
        "solve_ex": (lambda a, b: L(a).solve_ex(a, b), [wc(2, 3, 3), gen(3, 1)]),
        "solve_empty": (lambda a, b: L(a).solve(a, b), [np.zeros((0, 3, 3)), gen(3, 2)]),
        "solve_triangular_upper": (lambda a, b: L(a).solve_triangular(a, b, upper=True), [wc(2, 3, 3), gen(3, 2)]),
        "solve_triangular_lower_right": (
            lambda a, b: L(a).solve_triangular(a, b, upper=False, left=False), [wc(3, 3), gen(2, 4, 3)]),
        "solve_triangular_unit": (
            lambda a, b: L(a).solve_triangular(a, b, upper=False, unitriangular=True), [gen(3, 3), gen(3, 2)]),
        "solve_triangular_zero_pivot": (
            lambda a, b: L(a).solve_triangular(a, b, upper=True),
            [np.array([[0.0, 5.0], [1.0, 4.0]]), np.array([[1.0], [2.0]])]),
        "cholesky": (lambda a: L(a).cholesky(a), [spd(4, 4)]),
        "cholesky_batch": (lambda a: L(a).cholesky(a), [spd(2, 3, 3)]),
        "cholesky_upper": (lambda a: L(a).cholesky(a, upper=True), [spd(2, 3, 3)]),
        "cholesky_noncontig": (lambda a: L(a).cholesky(a.transpose(0, 1)), [spd(3, 3)]),
        "cholesky_ex": (lambda a: L(a).cholesky_ex(a), [spd(2, 3, 3)]),
        "cholesky_empty": (lambda a: L(a).cholesky(a), [np.zeros((0, 0))]),
        "qr": (lambda a: L(a).qr(a), [gen(4, 3)]),
        "qr_batch": (lambda a: L(a).qr(a), [gen(2, 4, 3)]),
        "qr_wide": (lambda a: L(a).qr(a), [gen(2, 3, 5)]),
        "qr_square": (lambda a: L(a).qr(a), [gen(3, 3)]),
        "qr_complete_wide": (lambda a: L(a).qr(a, mode="complete"), [gen(3, 5)]),
        "qr_noncontig": (lambda a: L(a).qr(a.mT), [gen(2, 3, 4)]),
        "qr_empty": (lambda a: L(a).qr(a), [np.zeros((0, 3))]),
        "eigh": (lambda a: _abs_vectors(L(a).eigh(a)), [sym(4, 4)]),
        "eigh_batch_upper": (lambda a: _abs_vectors(L(a).eigh(a, UPLO="U")), [sym(2, 3, 3)]),
        "eigh_noncontig": (lambda a: _abs_vectors(L(a).eigh(a.transpose(0, 2))), [sym(3, 3, 3)]),
        "eigh_empty": (lambda a: L(a).eigh(a), [np.zeros((0, 0))]),
        "eigvalsh": (lambda a: L(a).eigvalsh(a), [sym(2, 4, 4)]),
        "eigvalsh_upper": (lambda a: L(a).eigvalsh(a, "U"), [gen(3, 3)]),
        "svd": (lambda a: _abs_vectors(L(a).svd(a, full_matrices=False)), [gen(4, 3)]),
        "svd_batch_wide": (lambda a: _abs_vectors(L(a).svd(a, False)), [gen(2, 3, 5)]),
        "svd_full_tall": (lambda a: (lambda r: (r.U[..., :3].abs(), r.S, r.Vh.abs()))(L(a).svd(a)), [gen(2, 5, 3)]),
        "svd_full_wide": (lambda a: (lambda r: (r.U.abs(), r.S, r.Vh[..., :2, :].abs()))(L(a).svd(a)), [gen(2, 4)]),
        "svd_noncontig": (lambda a: _abs_vectors(L(a).svd(a.mT, False)), [gen(2, 3, 4)]),
        "svdvals": (lambda a: L(a).svdvals(a), [gen(2, 4, 3)]),
        "svdvals_wide": (lambda a: L(a).svdvals(a.mT), [gen(4, 3)]),
        "pinv": (lambda a: L(a).pinv(a), [gen(4, 3)]),
        "pinv_batch_wide": (lambda a: L(a).pinv(a), [gen(2, 3, 5)]),
        "pinv_hermitian": (lambda a: L(a).pinv(a, hermitian=True), [spd(2, 3, 3)]),
        "pinv_rank_deficient": (lambda a: L(a).pinv(a, atol=1e-8),
                                [np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 0.5])]),
        "pinv_rtol": (lambda a: L(a).pinv(a, rtol=0.5), [np.diag([4.0, 1.0, 3.0])]),
        "matrix_rank": (lambda a: L(a).matrix_rank(a), [gen(2, 4, 3)]),
        "matrix_rank_deficient": (lambda a: L(a).matrix_rank(a), [np.ones((2, 3, 3))]),
        "matrix_rank_tols": (lambda a: L(a).matrix_rank(a, atol=1.0, rtol=0.1), [np.diag([4.0, 0.5, 0.01])]),
        "matrix_rank_hermitian": (lambda a: L(a).matrix_rank(a, hermitian=True), [np.diag([4.0, -2.0, 0.0])]),
        "lstsq": (lambda a, b: L(a).lstsq(a, b), [gen(5, 3), gen(5, 2)]),
        "lstsq_batch_vector": (lambda a, b: L(a).lstsq(a, b), [gen(2, 5, 3), gen(2, 5)]),
        "lstsq_gels": (lambda a, b: L(a).lstsq(a, b, driver="gels"), [gen(5, 3), gen(5, 2)]),
        "lstsq_gelsd": (lambda a, b: L(a).lstsq(a, b, driver="gelsd"), [gen(5, 3), gen(5)]),
        "lstsq_gelss_wide": (lambda a, b: L(a).lstsq(a, b, driver="gelss"), [gen(3, 5), gen(3, 2)]),
        "lstsq_rank_deficient": (lambda a, b: L(a).lstsq(a, b, driver="gelsd"), [np.ones((3, 2)), gen(3, 1)]),
        "matrix_power": (lambda a: L(a).matrix_power(a, 3), [gen(2, 3, 3)]),
        "matrix_power_neg": (lambda a: L(a).matrix_power(a, -2), [wc(3, 3)]),
        "matrix_power_zero": (lambda a: L(a).matrix_power(a, 0), [gen(2, 3, 3)]),
        "matrix_power_one": (lambda a: L(a).matrix_power(a, 1), [gen(3, 3)]),
        "matrix_exp": (lambda a: L(a).matrix_exp(a), [gen(2, 3, 3) * 3]),
        "vander": (lambda x: L(x).vander(x), [gen(2, 4)]),
        "vander_N": (lambda x: L(x).vander(x, N=3), [gen(5)]),
        "cross": (lambda a, b: L(a).cross(a, b), [gen(2, 3), gen(1, 3)]),
        "cross_dim": (lambda a, b: L(a).cross(a, b, dim=0), [gen(3, 2), gen(3, 2)]),
        "vecdot": (lambda a, b: L(a).vecdot(a, b), [gen(2, 3), gen(3)]),
        "vecdot_dim": (lambda a, b: L(a).vecdot(a, b, dim=0), [gen(3, 4), gen(3, 1)]),
        "matmul": (lambda a, b: L(a).matmul(a, b), [gen(2, 3, 4), gen(4)]),
        "multi_dot": (lambda a, b, c: L(a).multi_dot([a, b, c]), [gen(4, 3), gen(3, 5), gen(5, 2)]),
        "multi_dot_vectors": (lambda a, b, c, d: L(a).multi_dot([a, b, c, d]), [gen(3), gen(3, 5), gen(5, 2), gen(2)]),
        "multi_dot_two": (lambda a, b: L(a).multi_dot((a, b)), [gen(3), gen(3, 2)]),
        "diagonal": (lambda a: L(a).diagonal(a), [gen(2, 3, 4)]),
        "diagonal_offset": (lambda a: L(a).diagonal(a, offset=1, dim1=0, dim2=2), [gen(3, 2, 4)]),
    }


CASES = _cases()


@pytest.mark.parametrize("name", CASES)
def test_parity(name, device):
    fn, vals = CASES[name]
    check([v.shape for v in vals], fn, vals=vals, device=device)


@pytest.mark.parametrize("name", ["det", "inv", "solve", "cholesky", "qr", "eigvalsh", "svdvals", "pinv",
                                  "matrix_norm", "matrix_exp"])
def test_float32(name, device):
    a32 = {"cholesky": spd(2, 3, 3), "eigvalsh": sym(2, 3, 3)}.get(name, wc(2, 3, 3)).astype(np.float32)
    fns = {
        "det": lambda a: L(a).det(a), "inv": lambda a: L(a).inv(a),
        "solve": lambda a: L(a).solve(a, a[..., 0]), "cholesky": lambda a: L(a).cholesky(a),
        "qr": lambda a: L(a).qr(a), "eigvalsh": lambda a: L(a).eigvalsh(a),
        "svdvals": lambda a: L(a).svdvals(a), "pinv": lambda a: L(a).pinv(a),
        "matrix_norm": lambda a: L(a).matrix_norm(a, "nuc"), "matrix_exp": lambda a: L(a).matrix_exp(a * 0.3),
    }
    check([a32.shape], fns[name], vals=[a32], dtype="float32", device=device, atol=1e-4, rtol=1e-4,
          grad_atol=1e-3, grad_rtol=1e-3)


# -- gradchecks (float64 finite differences, first and second order) ---------------------------------
def _sym(a):
    return (a + a.mT) * 0.5


def _spd(a):
    return a.matmul(a.mT) + 3 * disttorch.eye(a.shape[-1], dtype=a.dtype, device=a.device)


GRAD = {
    "vector_norm": (lambda a: DL.vector_norm(a, 3, dim=(0, 2)), [gen(2, 4, 3)]),
    "matrix_norm_fro": (lambda a: DL.matrix_norm(a), [gen(2, 4, 3)]),
    "matrix_norm_nuc": (lambda a: DL.matrix_norm(a, "nuc"), [gen(2, 4, 3)]),
    "matrix_norm_2": (lambda a: DL.matrix_norm(a, 2, dim=(0, 2)), [gen(2, 4, 3)]),
    "matrix_norm_inf": (lambda a: DL.matrix_norm(a, INF), [gen(2, 4, 3)]),
    "norm": (lambda a: DL.norm(a, -1), [gen(3, 3)]),
    "det": (lambda a: DL.det(a), [wc(2, 3, 3)]),
    "slogdet": (lambda a: DL.slogdet(a).logabsdet, [wc(2, 3, 3) - 6 * np.eye(3)]),
    "inv": (lambda a: DL.inv(a), [wc(2, 3, 3)]),
    "solve": (lambda a, b: DL.solve(a, b), [wc(2, 3, 3), gen(3, 2)]),
    "solve_vector_right": (lambda a, b: DL.solve(a, b, left=False), [wc(3, 3), gen(3, 1, 3)]),
    "solve_triangular": (lambda a, b: DL.solve_triangular(a, b, upper=True), [wc(2, 3, 3), gen(3, 2)]),
    "solve_triangular_unit": (lambda a, b: DL.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
                              [gen(3, 3), gen(2, 3)]),
    "cholesky": (lambda a: DL.cholesky(_spd(a)), [gen(2, 3, 3)]),
    "cholesky_upper": (lambda a: DL.cholesky(_spd(a), upper=True), [gen(3, 3)]),
    "qr": (lambda a: DL.qr(a), [gen(2, 4, 3)]),
    "qr_wide": (lambda a: DL.qr(a), [gen(3, 5)]),
    "qr_q_only": (lambda a: DL.qr(a).Q, [gen(4, 4)]),
    "eigh": (lambda a: (lambda r: (r[0], r[1] * r[1]))(DL.eigh(_sym(a))), [gen(2, 3, 3)]),
    "eigh_vectors_only": (lambda a: DL.eigh(_sym(a)).eigenvectors.abs(), [gen(3, 3)]),
    "eigvalsh": (lambda a: DL.eigvalsh(_sym(a)), [gen(3, 3)]),
    "svd": (lambda a: (lambda r: (r[0] * r[0], r[1], r[2].abs()))(DL.svd(a, full_matrices=False)), [gen(2, 4, 3)]),
    "svd_wide": (lambda a: (lambda r: (r[0].abs(), r[1], r[2] * r[2]))(DL.svd(a, False)), [gen(3, 5)]),
    "svd_full": (lambda a: (lambda r: (r[0][:, :2].abs(), r[1]))(DL.svd(a)), [gen(4, 2)]),
    "svdvals": (lambda a: DL.svdvals(a), [gen(2, 4, 3)]),
    "pinv": (lambda a: DL.pinv(a), [gen(2, 4, 3)]),
    "pinv_wide": (lambda a: DL.pinv(a), [gen(3, 5)]),
    "lstsq": (lambda a, b: DL.lstsq(a, b).solution, [gen(5, 3), gen(5, 2)]),
    "matrix_power": (lambda a: DL.matrix_power(a, -2), [wc(3, 3)]),
    "matrix_exp": (lambda a: DL.matrix_exp(a), [gen(2, 3, 3)]),
    "vander": (lambda x: DL.vander(x), [gen(2, 4)]),
    "vecdot": (lambda a, b: DL.vecdot(a, b), [gen(2, 3), gen(3)]),
    "cross": (lambda a, b: DL.cross(a, b), [gen(2, 3), gen(2, 3, seed=1)]),
    "multi_dot": (lambda a, b, c: DL.multi_dot([a, b, c]), [gen(3), gen(3, 5), gen(5, 2)]),
}


@pytest.mark.parametrize("name", GRAD)
def test_gradcheck(name, device):
    fn, vals = GRAD[name]
    gradcheck([v.shape for v in vals], fn, vals=vals, device=device, second_order=True)


def test_det_grad_of_singular_matrix_is_the_adjugate(device):
    a = disttorch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=disttorch.float64, device=device,
                         requires_grad=True)
    DL.det(a).backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    b = disttorch.tensor(SINGULAR, device=device, requires_grad=True)
    DL.det(b).backward()  # rank 2: the cofactors are not all zero
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(SINGULAR, i, 0), j, 1))
                     for j in range(3)] for i in range(3)])
    assert np.abs(cof).max() > 1
    np.testing.assert_allclose(b.grad.cpu().numpy(), cof, atol=1e-10)


def test_qr_grad_errors_like_torch():
    torch = pytest.importorskip("torch")
    for lib, la in ((torch, torch.linalg), (disttorch, DL)):
        a = lib.tensor(gen(4, 3), requires_grad=True)
        with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
            la.qr(a, mode="complete").Q.sum().backward()
        with pytest.raises(RuntimeError, match="which is not computed when mode='r'"):
            la.qr(a, mode="r").R.sum().backward()


# -- errors ------------------------------------------------------------------------------------------
SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])


def _errors():
    s = SINGULAR
    return [
        (lambda t: L(t.ones(1)).inv(t.tensor(s)), RuntimeError),
        (lambda t: L(t.ones(1)).inv(t.stack([t.eye(3, dtype=t.float64), t.tensor(s)])), RuntimeError),
        (lambda t: L(t.ones(1)).inv(t.zeros(3, 3)), RuntimeError),
        (lambda t: L(t.ones(1)).inv(t.ones(2, 3)), RuntimeError),
        (lambda t: L(t.ones(1)).inv(t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).inv(t.ones(2, 2, dtype=t.int64)), RuntimeError),
        (lambda t: L(t.ones(1)).inv(t.eye(2, dtype=t.float16)), RuntimeError),
        (lambda t: L(t.ones(1)).inv_ex(t.zeros(2, 2), check_errors=True), RuntimeError),
        (lambda t: L(t.ones(1)).det(t.ones(2, 3)), RuntimeError),
        (lambda t: L(t.ones(1)).det(t.ones(2, 2, dtype=t.int64)), RuntimeError),
        (lambda t: L(t.ones(1)).det(t.eye(2, dtype=t.bfloat16)), NotImplementedError),
        (lambda t: L(t.ones(1)).slogdet(t.ones(2, 3)), RuntimeError),
        (lambda t: L(t.ones(1)).solve(t.tensor(s), t.ones(3, dtype=t.float64)), RuntimeError),
        (lambda t: L(t.ones(1)).solve(t.zeros(2, 3, 3), t.ones(2, 3)), RuntimeError),
        (lambda t: L(t.ones(1)).solve(t.eye(3), t.ones(4)), RuntimeError),
        (lambda t: L(t.ones(1)).solve(t.eye(3), t.ones(4, 2)), RuntimeError),
        (lambda t: L(t.ones(1)).solve(t.eye(3), t.ones(3, 2), left=False), RuntimeError),
        (lambda t: L(t.ones(1)).solve(t.eye(3), t.ones(3, dtype=t.float64)), RuntimeError),
        (lambda t: L(t.ones(1)).solve(t.ones(2, 3), t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).solve(t.eye(3).expand(2, 3, 3), t.ones(4, 3, 1)), RuntimeError),
        (lambda t: L(t.ones(1)).solve(t.eye(2, dtype=t.float16), t.ones(2, dtype=t.float16)), NotImplementedError),
        (lambda t: L(t.ones(1)).cholesky(t.tensor([[4.0, 2.0], [2.0, -1.0]])), RuntimeError),
        (lambda t: L(t.ones(1)).cholesky(t.tensor([[NAN, 0.0], [0.0, 1.0]])), RuntimeError),
        (lambda t: L(t.ones(1)).cholesky(t.ones(2, 3)), RuntimeError),
        (lambda t: L(t.ones(1)).cholesky(t.eye(2, dtype=t.int32)), RuntimeError),
        (lambda t: L(t.ones(1)).cholesky(t.eye(2, dtype=t.float16)), NotImplementedError),
        (lambda t: L(t.ones(1)).qr(t.ones(3, 2), mode="bad"), RuntimeError),
        (lambda t: L(t.ones(1)).qr(t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).qr(t.eye(2, dtype=t.int32)), RuntimeError),
        (lambda t: L(t.ones(1)).eigh(t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).eigh(t.eye(2), UPLO="X"), RuntimeError),
        (lambda t: L(t.ones(1)).eigh(t.eye(2, dtype=t.int32)), NotImplementedError),
        (lambda t: L(t.ones(1)).eigvalsh(t.ones(2, 3)), RuntimeError),
        (lambda t: L(t.ones(1)).svd(t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).svd(t.eye(2, dtype=t.int32)), RuntimeError),
        (lambda t: L(t.ones(1)).svd(t.eye(2, dtype=t.float16)), NotImplementedError),
        (lambda t: L(t.ones(1)).svdvals(t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).pinv(t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).pinv(t.eye(2, dtype=t.int32)), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_rank(t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_rank(t.eye(2, dtype=t.int32)), RuntimeError),
        (lambda t: L(t.ones(1)).lstsq(t.ones(3), t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).lstsq(t.ones(3, 2), t.ones(4, 1)), RuntimeError),
        (lambda t: L(t.ones(1)).lstsq(t.ones(2, 5, 3), t.ones(5)), RuntimeError),
        (lambda t: L(t.ones(1)).lstsq(t.ones(3, 2), t.ones(3, 1), driver="bad"), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_power(t.ones(2, 3), 2), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_norm(t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_norm(t.ones(2, 3, dtype=t.int64)), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_norm(t.ones(2, 3), dim=(0, 0)), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_norm(t.ones(2, 3), dim=(0,)), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_norm(t.ones(2, 3), ord=3), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_norm(t.ones(2, 3), ord="bad"), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_norm(t.eye(2, dtype=t.float16), ord=2), RuntimeError),
        (lambda t: L(t.ones(1)).matrix_norm(t.ones(2, 3), dim=(0, 3)), IndexError),
        (lambda t: L(t.ones(1)).vector_norm(t.ones(2, 3), ord="fro"), TypeError),
        (lambda t: L(t.ones(1)).vector_norm(t.tensor([1, 2])), RuntimeError),
        (lambda t: L(t.ones(1)).vector_norm(t.ones(2, 3), dim=2), IndexError),
        (lambda t: L(t.ones(1)).norm(t.ones(2, 2, 2), 2), RuntimeError),
        (lambda t: L(t.ones(1)).norm(t.ones(2), "fro"), RuntimeError),
        (lambda t: L(t.ones(1)).norm(t.ones(2, 2, 2), dim=(0, 1, 2)), RuntimeError),
        (lambda t: L(t.ones(1)).norm(t.ones(2, 2, 2), "fro", dim=1), RuntimeError),
        (lambda t: L(t.ones(1)).vecdot(t.ones(2, 3), t.ones(4)), RuntimeError),
        (lambda t: L(t.ones(1)).vecdot(t.ones(3), t.ones(3, dtype=t.float64)), RuntimeError),
        (lambda t: L(t.ones(1)).vecdot(t.ones(3, dtype=t.int64), t.ones(3, dtype=t.int64)), RuntimeError),
        (lambda t: L(t.ones(1)).cross(t.ones(2, 3), t.ones(3)), RuntimeError),
        (lambda t: L(t.ones(1)).cross(t.ones(3, 2), t.ones(3, 2)), RuntimeError),
        (lambda t: L(t.ones(1)).multi_dot([t.ones(3)]), RuntimeError),
        (lambda t: L(t.ones(1)).multi_dot([]), RuntimeError),
        (lambda t: L(t.ones(1)).multi_dot([t.ones(2, 3), t.ones(3, 2, 1)]), RuntimeError),
        (lambda t: L(t.ones(1)).multi_dot([t.ones(2, 2, 3), t.ones(3, 2)]), RuntimeError),
        (lambda t: L(t.ones(1)).multi_dot([t.ones(2, 3), t.ones(3), t.ones(2)]), RuntimeError),
        (lambda t: L(t.ones(1)).multi_dot([t.ones(2, 3), t.ones(4, 2)]), RuntimeError),
        (lambda t: L(t.ones(1)).multi_dot([t.ones(2, 3), t.ones(3, 2, dtype=t.float64)]), RuntimeError),
        (lambda t: L(t.ones(1)).vander(t.tensor(2.0)), RuntimeError),
        (lambda t: L(t.ones(1)).vander(t.ones(2), N=1), RuntimeError),
        (lambda t: L(t.ones(1)).solve_triangular(t.eye(3), t.ones(4, 2), upper=True), RuntimeError),
        (lambda t: L(t.ones(1)).solve_triangular(t.eye(3), t.ones(3), upper=True), RuntimeError),
    ]


@pytest.mark.parametrize("case", range(len(_errors())))
def test_errors(case):
    fn, exc = _errors()[case]
    check_error(fn, exc)


def _message(fn):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(Exception) as ours:
        fn(disttorch)
    return str(ours.value), str(theirs.value), ours.value


LINALG_ERRORS = {
    "inv": lambda t: L(t.ones(1)).inv(t.tensor(SINGULAR)),
    "inv_zero": lambda t: L(t.ones(1)).inv(t.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])),
    "inv_batch": lambda t: L(t.ones(1)).inv(t.stack([t.eye(3, dtype=t.float64), t.tensor(SINGULAR)])),
    "inv_ex": lambda t: L(t.ones(1)).inv_ex(t.zeros(2, 2), check_errors=True),
    "solve": lambda t: L(t.ones(1)).solve(t.tensor(SINGULAR), t.ones(3, dtype=t.float64)),
    "solve_batch": lambda t: L(t.ones(1)).solve(t.stack([t.eye(3), t.zeros(3, 3)]), t.ones(2, 3)),
    "cholesky": lambda t: L(t.ones(1)).cholesky(t.tensor([[4.0, 2.0], [2.0, -1.0]])),
    "cholesky_batch": lambda t: L(t.ones(1)).cholesky(t.stack([t.eye(2), t.tensor([[4.0, 2.0], [2.0, -1.0]])])),
    "cholesky_first": lambda t: L(t.ones(1)).cholesky(-t.eye(3)),
    "cholesky_upper": lambda t: L(t.ones(1)).cholesky(t.tensor([[4.0, 2.0], [9.0, -1.0]]), upper=True),
}


@pytest.mark.parametrize("name", LINALG_ERRORS)
def test_linalg_error_messages(name):
    ours, theirs, exc = _message(LINALG_ERRORS[name])
    assert isinstance(exc, DL.LinAlgError) and isinstance(exc, RuntimeError)
    assert ours == theirs


SHAPE_ERRORS = {
    "square": lambda t: L(t.ones(1)).inv(t.ones(2, 3)),
    "ndim": lambda t: L(t.ones(1)).det(t.ones(3)),
    "dtype": lambda t: L(t.ones(1)).slogdet(t.ones(2, 2, dtype=t.int32)),
    "solve_shapes": lambda t: L(t.ones(1)).solve(t.eye(3), t.ones(4)),
    "solve_shapes_right": lambda t: L(t.ones(1)).solve(t.eye(3), t.ones(3, 2), left=False),
    "solve_dtypes": lambda t: L(t.ones(1)).solve(t.eye(3), t.ones(3, dtype=t.float64)),
    "qr_mode": lambda t: L(t.ones(1)).qr(t.ones(3, 2), mode="bad"),
    "uplo": lambda t: L(t.ones(1)).eigh(t.eye(2), UPLO="X"),
    "matrix_norm_order": lambda t: L(t.ones(1)).matrix_norm(t.ones(2, 3), ord=3),
    "matrix_norm_dims": lambda t: L(t.ones(1)).matrix_norm(t.ones(2, 3), dim=(0, 0)),
    "matrix_norm_2tuple": lambda t: L(t.ones(1)).matrix_norm(t.ones(2, 3), dim=(0,)),
    "norm_dims": lambda t: L(t.ones(1)).norm(t.ones(2, 2, 2), 2),
    "norm_dim_len": lambda t: L(t.ones(1)).norm(t.ones(2, 2, 2), dim=(0, 1, 2)),
    "pinv": lambda t: L(t.ones(1)).pinv(t.ones(3)),
    "lstsq_driver": lambda t: L(t.ones(1)).lstsq(t.ones(3, 2), t.ones(3, 1), driver="bad"),
    "multi_dot_shapes": lambda t: L(t.ones(1)).multi_dot([t.ones(3), t.ones(4, 2)]),
    "multi_dot_dtypes": lambda t: L(t.ones(1)).multi_dot([t.ones(2, 3), t.ones(3, 2, dtype=t.float64)]),
    "cross": lambda t: L(t.ones(1)).cross(t.ones(3, 2), t.ones(3, 2)),
    "vecdot": lambda t: L(t.ones(1)).vecdot(t.ones(3), t.ones(3, dtype=t.float64)),
}


@pytest.mark.parametrize("name", SHAPE_ERRORS)
def test_error_messages_match_torch(name):
    ours, theirs, _ = _message(SHAPE_ERRORS[name])
    assert ours == theirs


def test_ex_variants_report_info(device):
    torch = pytest.importorskip("torch")
    z = np.stack([np.eye(3), SINGULAR, np.zeros((3, 3))])
    r = DL.inv_ex(disttorch.tensor(z, device=device))
    t = torch.linalg.inv_ex(torch.tensor(z))
    assert r.info.dtype is disttorch.int32 and r.info.tolist() == t.info.tolist()
    np.testing.assert_allclose(r.inverse.cpu().numpy()[0], np.eye(3))
    c = np.stack([np.eye(2), [[4.0, 2.0], [2.0, -1.0]], -np.eye(2)])
    r = DL.cholesky_ex(disttorch.tensor(c, device=device))
    t = torch.linalg.cholesky_ex(torch.tensor(c))
    assert r.info.tolist() == t.info.tolist()
    np.testing.assert_allclose(r.L.cpu().numpy(), t.L.numpy())  # the partial factors too
    r = DL.solve_ex(disttorch.tensor(z, device=device), disttorch.ones(3, 3, dtype=disttorch.float64, device=device))
    t = torch.linalg.solve_ex(torch.tensor(z), torch.ones(3, 3, dtype=torch.float64))
    assert r.info.tolist() == t.info.tolist()
    np.testing.assert_allclose(r.result.cpu().numpy()[0], t.result.numpy()[0])


def _structured_singular():
    """Singular matrices whose elimination is exact (zero rows/columns, repeated rows, rank one,
    zero diagonal blocks), so every LU ordering meets the same zero pivot."""
    s = [SINGULAR, np.zeros((3, 3)), np.diag([1.0, 0.0, 2.0]), np.diag([0.0, 1.0, 1.0]),
         np.outer([1.0, 2.0, -1.0], [2.0, 1.0, 1.0]), np.ones((4, 4)),
         np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
         np.array([[0.0, 1.0], [0.0, 2.0]]), np.array([[2.0, 4.0], [1.0, 2.0]]),
         np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0], [4.0, 3.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0]]),
         np.array([[4.0, 2.0, 1.0], [2.0, 1.0, 0.5], [1.0, 3.0, 2.0]])]
    for n in (2, 3, 5):
        a = np.triu(np.arange(1.0, n * n + 1).reshape(n, n))
        a[n // 2, n // 2] = 0.0
        s.append(a)
    return s


def test_failure_diagnostics_match_lapack():
    """The pivoting emulation finds the same ``info`` as LAPACK (the failing diagonal element,
    the failing leading minor)."""
    torch = pytest.importorskip("torch")
    mats = _structured_singular()
    for a in mats:
        ours = DL._lu_info(np, a[None])
        theirs = torch.linalg.inv_ex(torch.tensor(a[None])).info.numpy()
        assert ours.tolist() == theirs.tolist(), a
    batch = np.stack([np.eye(3), SINGULAR, np.diag([1.0, 0.0, 2.0])])
    assert DL._lu_info(np, batch).tolist() == torch.linalg.inv_ex(torch.tensor(batch)).info.tolist()
    rng = _rng(5)
    for n in (1, 2, 3, 4, 5):
        for _ in range(8):
            b = rng.integers(-3, 4, size=(n, n)).astype(float)
            s = b @ b.T + 0.5 * np.eye(n)
            s[int(rng.integers(0, n)), int(rng.integers(0, n))] -= 6.0 * rng.random()
            s = (s + s.T) / 2
            ours, _ = DL._cholesky_info(np, s[None])
            theirs = torch.linalg.cholesky_ex(torch.tensor(s[None])).info.numpy()
            assert ours.tolist() == theirs.tolist(), s


def test_gpu_style_failure_detection():
    """cupy does not raise on a singular matrix: a non-finite result triggers the check."""
    xp = np
    assert DL._failed(xp, np.array([np.inf, 1.0])) and not DL._failed(xp, np.ones(2))
    info = DL._lu_info(xp, np.stack([np.eye(2), np.zeros((2, 2))]))
    assert info.tolist() == [0, 1]
    fixed = DL._replace_failed(xp, np.stack([np.eye(2), np.zeros((2, 2))]), info)
    assert np.array_equal(fixed[1], np.eye(2))
    r = DL._nan_failed(xp, np.ones((2, 2, 2)), info)
    assert np.isnan(r[1]).all() and (r[0] == 1).all()


def test_slogdet_sign_and_logdet(device):
    torch = pytest.importorskip("torch")
    a = wc(3, 3, 3) * np.array([1.0, -1.0, 1.0])[:, None, None]
    ours = DL.slogdet(disttorch.tensor(a, device=device))
    theirs = torch.linalg.slogdet(torch.tensor(a))
    assert ours.sign.tolist() == theirs.sign.tolist()
    check([a.shape], lambda x: x.logdet(), vals=[a], device=device)
    check([(3, 3)], lambda x: x.logdet(), vals=[np.zeros((3, 3))], device=device, forward_only=True)


# -- legacy Tensor methods -----------------------------------------------------------------------------
METHODS = {
    "det": (lambda a: a.det(), wc(2, 3, 3)),
    "logdet": (lambda a: a.logdet(), spd(3, 3)),
    "slogdet": (lambda a: a.slogdet(), wc(3, 3)),
    "inverse": (lambda a: a.inverse(), wc(2, 3, 3)),
    "pinverse": (lambda a: a.pinverse(), gen(4, 3)),
    "pinverse_rcond": (lambda a: a.pinverse(rcond=0.5), np.diag([4.0, 1.0, 3.0])),
    "matrix_power": (lambda a: a.matrix_power(2), gen(3, 3)),
    "matrix_exp": (lambda a: a.matrix_exp(), gen(2, 3, 3)),
    "cholesky": (lambda a: a.cholesky(), spd(3, 3)),
    "cholesky_upper": (lambda a: a.cholesky(upper=True), spd(3, 3)),
    "qr": (lambda a: a.qr(), gen(4, 3)),
    "qr_complete": (lambda a: a.qr(some=False), gen(3, 4)),
    "svd": (lambda a: _abs_vectors(a.svd()), gen(4, 3)),
    "svd_full": (lambda a: (lambda r: (r.U[:, :3].abs(), r.S, r.V.abs()))(a.svd(some=False)), gen(4, 3)),
    "svd_no_uv": (lambda a: a.svd(compute_uv=False), gen(2, 4, 3)),
}


@pytest.mark.parametrize("name", METHODS)
def test_tensor_methods(name, device):
    fn, a = METHODS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch deprecates cholesky/qr/svd
        check([a.shape], fn, vals=[a], device=device)


def test_return_types():
    a = disttorch.tensor(spd(3, 3))
    cases = [
        (DL.slogdet(a), "linalg_slogdet", ("sign", "logabsdet")),
        (DL.eigh(a), "linalg_eigh", ("eigenvalues", "eigenvectors")),
        (DL.qr(a), "linalg_qr", ("Q", "R")),
        (DL.svd(a), "linalg_svd", ("U", "S", "Vh")),
        (DL.lstsq(a, a), "linalg_lstsq", ("solution", "residuals", "rank", "singular_values")),
        (DL.inv_ex(a), "linalg_inv_ex", ("inverse", "info")),
        (DL.cholesky_ex(a), "linalg_cholesky_ex", ("L", "info")),
        (DL.solve_ex(a, a), "linalg_solve_ex", ("result", "info")),
        (a.slogdet(), "slogdet", ("sign", "logabsdet")),
        (a.qr(), "qr", ("Q", "R")),
        (a.svd(), "svd", ("U", "S", "V")),
    ]
    for r, name, fields in cases:
        assert r._fields == fields
        assert repr(r).startswith(f"disttorch.return_types.{name}(\n{fields[0]}=tensor(")
        back = pickle.loads(pickle.dumps(r))
        assert back._fields == fields


def test_grad_fn_names_and_requires_grad():
    a = disttorch.tensor(wc(3, 3), requires_grad=True)
    assert DL.det(a).grad_fn.name() == "LinalgDetBackward0"
    assert DL.inv(a).grad_fn.name() == "LinalgInvExBackward0"
    assert DL.svd(a).S.grad_fn.name() == "LinalgSvdBackward0"
    assert DL.eigh(a).eigenvalues.grad_fn.name() == "LinalgEighBackward0"
    assert not DL.inv_ex(a).info.requires_grad
    assert not DL.matrix_rank(a).requires_grad
    r = DL.lstsq(a, a, driver="gelsd")
    assert r.solution.requires_grad and not r.rank.requires_grad and not r.singular_values.requires_grad
    with disttorch.no_grad():
        assert not DL.eigvalsh(a).requires_grad and not DL.svdvals(a).requires_grad


def test_linalg_error_is_runtime_error():
    assert issubclass(DL.LinAlgError, RuntimeError)
    with pytest.raises(RuntimeError):
        DL.inv(disttorch.zeros(2, 2))


def test_all_names_exist():
    torch = pytest.importorskip("torch")
    for name in DL.__all__:
        assert hasattr(DL, name) and hasattr(torch.linalg, name), name
    for name, fn in DL.TOP_LEVEL.items():
        assert callable(fn) and hasattr(torch, name), name
