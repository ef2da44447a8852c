"""Movement ops (cat/stack/split, flip/roll, repeat, pad, diagonals...): parity, grads, errors, views."""
from __future__ import annotations

import numpy as np
import pytest
from parity import check, check_error, gradcheck, torch

import disttorch
from disttorch.ops import movement


def L(t):
    """The library a tensor belongs to (the same lambda runs on torch and disttorch)."""
    return disttorch if isinstance(t, disttorch.Tensor) else torch


def pad(t, *args, **kwargs):
    if isinstance(t, disttorch.Tensor):
        return movement.pad(t, *args, **kwargs)
    return torch.nn.functional.pad(t, *args, **kwargs)


def _int_vals(*arrays):
    return [np.asarray(a) for a in arrays]


# (name, shapes, fn): every fn runs on torch and on disttorch
PARITY = [
    # cat and friends
    ("cat", [(2, 3), (4, 3)], lambda a, b: L(a).cat([a, b])),
    ("cat_negdim", [(2, 3), (2, 5)], lambda a, b: L(a).cat([a, b, a], -1)),
    ("cat_empty_dim", [(2, 0, 3), (2, 4, 3)], lambda a, b: L(a).cat((a, b), dim=1)),
    ("cat_all_empty", [(0, 3), (0, 3)], lambda a, b: L(a).cat([a, b], 1)),
    ("cat_skips_1d_empty", [(0,), (2, 3)], lambda a, b: L(a).cat([a, b, a], dim=1)),
    ("cat_only_1d_empty", [(0,), (0,)], lambda a, b: L(a).cat([a, b], dim=1)),
    ("cat_noncontig", [(3, 2), (3, 4)], lambda a, b: L(a).cat([a.t(), b.t()])),
    ("cat_single", [(3,)], lambda a: L(a).cat([a])),
    ("concat_axis", [(2, 1), (2, 2)], lambda a, b: L(a).concat([a, b], axis=1)),
    ("concatenate", [(2, 1), (2, 2)], lambda a, b: L(a).concatenate([a, b], axis=-1)),
    ("stack", [(2, 3), (2, 3)], lambda a, b: L(a).stack([a, b])),
    ("stack_last", [(2, 3), (2, 3)], lambda a, b: L(a).stack([a, b, a], dim=-1)),
    ("stack_mid", [(2, 3), (2, 3)], lambda a, b: L(a).stack([a.t(), b.t()], 1)),
    ("stack_0d", [(), ()], lambda a, b: L(a).stack([a, b])),
    ("stack_empty", [(0, 3), (0, 3)], lambda a, b: L(a).stack([a, b], 2)),
    ("hstack_0d", [(), ()], lambda a, b: L(a).hstack([a, b])),
    ("hstack_1d", [(2,), (3,)], lambda a, b: L(a).hstack([a, b])),
    ("hstack_2d", [(2, 1), (2, 3)], lambda a, b: L(a).hstack([a, b])),
    ("vstack_1d", [(3,), (3,)], lambda a, b: L(a).vstack([a, b])),
    ("vstack_mixed", [(3,), (2, 3)], lambda a, b: L(a).vstack([a, b])),
    ("row_stack", [(3,), (2, 3)], lambda a, b: L(a).row_stack((a, b))),
    ("dstack", [(3,), (1, 3)], lambda a, b: L(a).dstack([a, b])),
    ("dstack_3d", [(2, 3, 1), (2, 3, 2)], lambda a, b: L(a).dstack([a, b])),
    ("column_stack", [(3,), (3, 2), (3,)], lambda a, b, c: L(a).column_stack([a, b, c])),
    ("column_stack_0d", [(), ()], lambda a, b: L(a).column_stack([a, b])),
    # splitting
    ("split_int", [(5, 3)], lambda x: x.split(2)),
    ("split_int_dim", [(3, 7)], lambda x: L(x).split(x, 3, dim=-1)),
    ("split_sizes", [(6, 2)], lambda x: x.split([1, 0, 5])),
    ("split_tuple_noncontig", [(2, 5)], lambda x: x.t().split((2, 3))),
    ("split_big", [(4,)], lambda x: x.split(10)),
    ("split_empty", [(0, 3)], lambda x: x.split(2)),
    ("split_zero_on_empty", [(0, 3)], lambda x: x.split(0)),
    ("split_with_sizes", [(5, 2)], lambda x: x.split_with_sizes([2, 3])),
    ("chunk", [(6, 2)], lambda x: x.chunk(4)),
    ("chunk_dim", [(2, 5)], lambda x: L(x).chunk(x, 2, dim=-1)),
    ("chunk_more_than_size", [(3,)], lambda x: x.chunk(5)),
    ("chunk_empty", [(0, 2)], lambda x: x.chunk(3)),
    ("tensor_split_sections", [(7, 2)], lambda x: x.tensor_split(3)),
    ("tensor_split_more_sections", [(2, 3)], lambda x: x.tensor_split(5, dim=1)),
    ("tensor_split_indices", [(6, 2)], lambda x: x.tensor_split([1, 4])),
    ("tensor_split_odd_indices", [(6,)], lambda x: x.tensor_split([4, 1, 9])),
    ("tensor_split_negative", [(6,)], lambda x: L(x).tensor_split(x, [-2])),
    ("tensor_split_tensor", [(6, 2)], lambda x: x.tensor_split(L(x).tensor([2, 3]))),
    ("tensor_split_tensor_0d", [(6,)], lambda x: x.tensor_split(L(x).tensor(4))),
    ("hsplit", [(2, 6)], lambda x: x.hsplit(3)),
    ("hsplit_1d", [(6,)], lambda x: L(x).hsplit(x, [2])),
    ("vsplit", [(4, 2)], lambda x: x.vsplit([1, 3])),
    ("dsplit", [(1, 2, 4)], lambda x: x.dsplit(2)),
    ("unbind", [(3, 4)], lambda x: x.unbind()),
    ("unbind_last", [(2, 3, 2)], lambda x: L(x).unbind(x, -1)),
    ("unbind_1d", [(3,)], lambda x: x.unbind(0)),
    ("unbind_noncontig", [(3, 4)], lambda x: x.t().unbind(1)),
    ("unbind_empty", [(0, 3)], lambda x: x.unbind(1)),
    ("narrow", [(4, 5)], lambda x: x.narrow(1, 1, 3)),
    ("narrow_negative_start", [(4, 5)], lambda x: L(x).narrow(x, -1, -3, 2)),
    ("narrow_tensor_start", [(4, 5)], lambda x: x.narrow(0, L(x).tensor(2), 2)),
    ("narrow_empty", [(4, 5)], lambda x: x.narrow(0, 4, 0)),
    ("narrow_noncontig", [(4, 5)], lambda x: x.t().narrow(1, 1, 2)),
    ("narrow_copy", [(4, 5)], lambda x: x.narrow_copy(1, 2, 3)),
    ("select", [(3, 4)], lambda x: x.select(1, -1)),
    ("select_1d", [(3,)], lambda x: L(x).select(x, 0, 1)),
    ("select_noncontig", [(3, 4, 2)], lambda x: x.transpose(0, 2).select(-1, 2)),
    # reordering
    ("flip", [(3, 4)], lambda x: L(x).flip(x, (0,))),
    ("flip_two", [(2, 3, 4)], lambda x: x.flip(0, -1)),
    ("flip_list", [(2, 3)], lambda x: x.flip([0, 1])),
    ("flip_none", [(2, 3)], lambda x: x.flip([])),
    ("flip_0d", [()], lambda x: x.flip(0)),
    ("flip_empty", [(0, 3)], lambda x: x.flip(1)),
    ("flip_noncontig", [(3, 4)], lambda x: x.t().flip(1)),
    ("fliplr", [(3, 4, 2)], lambda x: x.fliplr()),
    ("flipud", [(3,)], lambda x: L(x).flipud(x)),
    ("roll_flat", [(3, 4)], lambda x: x.roll(5)),
    ("roll_dim", [(3, 4)], lambda x: x.roll(-1, 1)),
    ("roll_dims", [(3, 4, 2)], lambda x: L(x).roll(x, (1, -7), (0, -2))),
    ("roll_lists", [(3, 4)], lambda x: x.roll([1, 2], [0, 1])),
    ("roll_0d", [()], lambda x: x.roll(3)),
    ("roll_empty", [(0, 3)], lambda x: x.roll(2, 0)),
    ("roll_noncontig", [(3, 4)], lambda x: x.t().roll(1)),
    ("rot90", [(3, 4)], lambda x: x.rot90()),
    ("rot90_k2", [(3, 4)], lambda x: L(x).rot90(x, 2)),
    ("rot90_k3", [(3, 4)], lambda x: x.rot90(3)),
    ("rot90_negk", [(3, 4)], lambda x: x.rot90(-1, [1, 0])),
    ("rot90_k0", [(3, 4)], lambda x: x.rot90(4)),
    ("rot90_3d", [(2, 3, 4)], lambda x: x.rot90(1, (0, -1))),
    # repeating
    ("repeat", [(2, 3)], lambda x: x.repeat(2, 1, 3)),
    ("repeat_tuple", [(2, 3)], lambda x: x.repeat((1, 2))),
    ("repeat_0d", [()], lambda x: x.repeat(2, 3)),
    ("repeat_zero", [(2, 3)], lambda x: x.repeat(0, 2)),
    ("repeat_noncontig", [(2, 3)], lambda x: x.t().repeat(2, 2)),
    ("tile", [(2, 3)], lambda x: L(x).tile(x, (2,))),
    ("tile_more", [(2, 3)], lambda x: x.tile(2, 1, 2)),
    ("tile_empty_dims", [(2, 3)], lambda x: x.tile(())),
    ("tile_kwarg", [(2, 3)], lambda x: L(x).tile(x, dims=[2, 1, 1])),
    ("split_kwarg", [(5, 2)], lambda x: x.split(split_size=2, dim=0)),
    ("repeat_interleave", [(2, 3)], lambda x: x.repeat_interleave(2)),
    ("repeat_interleave_dim", [(2, 3)], lambda x: L(x).repeat_interleave(x, 3, dim=-1)),
    ("repeat_interleave_0d", [()], lambda x: x.repeat_interleave(3)),
    ("repeat_interleave_zero", [(3, 2)], lambda x: x.repeat_interleave(0, dim=1)),
    ("repeat_interleave_tensor", [(3, 2)],
     lambda x: x.repeat_interleave(L(x).tensor([1, 0, 3]), dim=0)),
    ("repeat_interleave_tensor_flat", [(2, 2)],
     lambda x: x.repeat_interleave(L(x).tensor([2, 1, 0, 3]))),
    ("repeat_interleave_tensor_one", [(3, 2)],
     lambda x: x.repeat_interleave(L(x).tensor([2]), dim=0)),
    ("repeat_interleave_tensor_noncontig", [(3, 2)],
     lambda x: x.t().repeat_interleave(L(x).tensor([2, 1, 3]), dim=1, output_size=6)),
    # padding
    ("pad_constant", [(2, 3)], lambda x: pad(x, (1, 2))),
    ("pad_constant_2d", [(2, 3, 4)], lambda x: pad(x, [1, 0, 2, 1], value=1.5)),
    ("pad_constant_all", [(2, 3)], lambda x: pad(x, (1, 1, 0, 2), mode="constant", value=-1)),
    ("pad_constant_negative", [(3, 5)], lambda x: pad(x, (-1, 2, 1, -2))),
    ("pad_constant_crop_all", [(3, 5)], lambda x: pad(x, (-2, -3))),
    ("pad_constant_0d", [()], lambda x: pad(x, ())),
    ("pad_constant_empty", [(2, 0)], lambda x: pad(x, (1, 1))),
    ("pad_constant_noncontig", [(3, 4)], lambda x: pad(x.t(), (1, 1, 2, 0))),
    ("pad_reflect_1d", [(2, 5)], lambda x: pad(x, (2, 4), mode="reflect")),
    ("pad_reflect_1d_batch", [(2, 3, 5)], lambda x: pad(x, (3, 1), mode="reflect")),
    ("pad_reflect_2d", [(2, 3, 4)], lambda x: pad(x, (1, 3, 2, 1), mode="reflect")),
    ("pad_reflect_2d_batch", [(1, 2, 3, 4)], lambda x: pad(x, (3, 3, 2, 2), mode="reflect")),
    ("pad_reflect_3d", [(1, 2, 3, 4)], lambda x: pad(x, (1, 2, 2, 1, 1, 0), mode="reflect")),
    ("pad_reflect_3d_batch", [(1, 1, 3, 3, 4)], lambda x: pad(x, (1, 1, 1, 1, 2, 2), mode="reflect")),
    ("pad_reflect_negative", [(2, 5)], lambda x: pad(x, (-3, 4), mode="reflect")),
    ("pad_reflect_noncontig", [(4, 3)], lambda x: pad(x.t(), (2, 1), mode="reflect")),
    ("pad_replicate", [(2, 3)], lambda x: pad(x, (4, 1), mode="replicate")),
    ("pad_replicate_2d", [(2, 2, 3)], lambda x: pad(x, (1, 5, 3, 0), mode="replicate")),
    ("pad_replicate_3d", [(2, 2, 2, 3)], lambda x: pad(x, (1, 1, 2, 0, 0, 2), mode="replicate")),
    ("pad_replicate_negative", [(2, 5)], lambda x: pad(x, (2, -1), mode="replicate")),
    ("pad_circular", [(2, 4)], lambda x: pad(x, (4, 2), mode="circular")),
    ("pad_circular_2d", [(1, 3, 4)], lambda x: pad(x, (1, 2, 3, 1), mode="circular")),
    ("pad_circular_3d", [(1, 2, 3, 2, 2)], lambda x: pad(x, (1, 1, 2, 0, 0, 1), mode="circular")),
    ("pad_circular_negative", [(2, 5)], lambda x: pad(x, (2, -1), mode="circular")),
    ("pad_circular_negative_left", [(2, 5)], lambda x: pad(x, (-2, 3), mode="circular")),
    ("pad_circular_zero_batch", [(0, 3, 3)], lambda x: pad(x, (1, 1), mode="circular")),
    # triangles and diagonals
    ("tril", [(4, 5)], lambda x: x.tril()),
    ("tril_k", [(4, 5)], lambda x: L(x).tril(x, 2)),
    ("triu", [(4, 5)], lambda x: x.triu(-1)),
    ("triu_batched", [(2, 3, 3)], lambda x: L(x).triu(x, diagonal=1)),
    ("tril_empty", [(0, 3)], lambda x: x.tril()),
    ("tril_noncontig", [(4, 5)], lambda x: x.t().tril(-1)),
    ("diag_1d", [(3,)], lambda x: x.diag()),
    ("diag_1d_pos", [(3,)], lambda x: L(x).diag(x, 2)),
    ("diag_1d_neg", [(3,)], lambda x: x.diag(-1)),
    ("diag_2d", [(3, 4)], lambda x: x.diag()),
    ("diag_2d_offset", [(3, 4)], lambda x: L(x).diag(x, diagonal=-1)),
    ("diag_2d_far", [(3, 4)], lambda x: x.diag(7)),
    ("diag_empty", [(0,)], lambda x: x.diag()),
    ("diagonal", [(3, 4)], lambda x: x.diagonal()),
    ("diagonal_offset", [(3, 4)], lambda x: x.diagonal(2)),
    ("diagonal_neg_offset", [(3, 4)], lambda x: L(x).diagonal(x, -2)),
    ("diagonal_far", [(3, 4)], lambda x: x.diagonal(-9)),
    ("diagonal_3d", [(2, 3, 4)], lambda x: x.diagonal(1, 2, 0)),
    ("diagonal_neg_dims", [(2, 3, 4)], lambda x: L(x).diagonal(x, offset=0, dim1=-1, dim2=-2)),
    ("diagonal_noncontig", [(3, 4)], lambda x: x.t().diagonal(1)),
    ("diag_embed", [(2, 3)], lambda x: x.diag_embed()),
    ("diag_embed_offset", [(2, 3)], lambda x: L(x).diag_embed(x, 1, 0, 2)),
    ("diag_embed_neg", [(4,)], lambda x: x.diag_embed(-2)),
    ("diag_embed_dims", [(2, 3, 2)], lambda x: x.diag_embed(0, -1, 1)),
    ("trace", [(3, 4)], lambda x: x.trace()),
    ("trace_tall", [(4, 2)], lambda x: L(x).trace(x)),
    ("trace_empty", [(0, 3)], lambda x: x.trace()),
    ("trace_noncontig", [(3, 4)], lambda x: x.t().trace()),
    # grids and broadcasting
    ("meshgrid_ij", [(2,), (3,)], lambda a, b: L(a).meshgrid(a, b, indexing="ij")),
    ("meshgrid_xy", [(2,), (3,)], lambda a, b: L(a).meshgrid([a, b], indexing="xy")),
    ("meshgrid_xy_three", [(2,), (3,), (4,)],
     lambda a, b, c: L(a).meshgrid(a, b, c, indexing="xy")),
    ("meshgrid_one", [(3,)], lambda a: L(a).meshgrid(a, indexing="xy")),
    ("meshgrid_0d", [(), (3,)], lambda a, b: L(a).meshgrid(a, b, indexing="ij")),
    ("meshgrid_empty", [(0,), (3,)], lambda a, b: L(a).meshgrid(a, b, indexing="ij")),
    ("broadcast_tensors", [(2, 1), (3,), ()], lambda a, b, c: L(a).broadcast_tensors(a, b, c)),
    ("broadcast_tensors_empty", [(0, 1), (3,)], lambda a, b: L(a).broadcast_tensors(a, b)),
    ("broadcast_tensors_one", [(2, 3)], lambda a: L(a).broadcast_tensors(a)),
    ("atleast_1d", [()], lambda x: L(x).atleast_1d(x)),
    ("atleast_1d_many", [(), (2, 3)], lambda a, b: L(a).atleast_1d(a, b)),
    ("atleast_1d_list", [(), (2,)], lambda a, b: L(a).atleast_1d([a, b])),
    ("atleast_2d", [(), (3,), (2, 3)], lambda a, b, c: L(a).atleast_2d(a, b, c)),
    ("atleast_3d", [(), (3,), (2, 3), (1, 2, 3, 4)],
     lambda a, b, c, d: L(a).atleast_3d((a, b, c, d))),
    ("cartesian_prod", [(2,), (3,)], lambda a, b: L(a).cartesian_prod(a, b)),
    ("cartesian_prod_three", [(2,), (1,), (3,)], lambda a, b, c: L(a).cartesian_prod(a, b, c)),
    ("cartesian_prod_one", [(3,)], lambda a: L(a).cartesian_prod(a)),
]


@pytest.mark.parametrize("name,shapes,fn", PARITY, ids=[c[0] for c in PARITY])
def test_parity(name, shapes, fn, device):
    check(shapes, fn, device=device)


@pytest.mark.parametrize("name,shapes,fn", PARITY, ids=[c[0] for c in PARITY])
def test_parity_float32(name, shapes, fn):
    check(shapes, fn, dtype="float32")


INT_PARITY = [
    ("cat_promotes", [np.arange(6, dtype=np.int32).reshape(2, 3), np.ones((1, 3), np.float16),
                      np.array([[True, False, True]])],
     lambda a, b, c: L(a).cat([a, b, c])),
    ("cat_uint8_int8", [np.arange(3, dtype=np.uint8), np.array([-1, 2], np.int8)],
     lambda a, b: L(a).cat([a, b])),
    ("cat_skipped_empty_promotes", [np.zeros(0), np.arange(6, dtype=np.int32).reshape(2, 3)],
     lambda a, b: L(a).cat([a, b])),
    ("stack_promotes", [np.array(1), np.array(2.5)], lambda a, b: L(a).stack([a, b])),
    ("stack_int_float", [np.arange(3, dtype=np.int16), np.ones(3, np.float32)],
     lambda a, b: L(a).stack([a, b], 1)),
    ("hstack_bool", [np.array([True]), np.array([False, True])], lambda a, b: L(a).hstack([a, b])),
    ("split_int", [np.arange(10).reshape(5, 2)], lambda x: x.split([2, 3])),
    ("unbind_bool", [np.array([[True, False], [False, False]])], lambda x: x.unbind(1)),
    ("flip_int", [np.arange(6).reshape(2, 3)], lambda x: x.flip(1)),
    ("roll_int", [np.arange(6, dtype=np.int32)], lambda x: x.roll(2)),
    ("repeat_bool", [np.array([True, False])], lambda x: x.repeat(2, 2)),
    ("repeat_interleave_int", [np.arange(3)], lambda x: x.repeat_interleave(L(x).tensor([2, 0, 1]))),
    ("pad_int_value", [np.arange(6).reshape(2, 3)], lambda x: pad(x, (1, 1), value=1.7)),
    ("pad_bool_value", [np.array([True, False])], lambda x: pad(x, (1, 2), value=2)),
    ("pad_reflect_int", [np.arange(6).reshape(2, 3)], lambda x: pad(x, (2, 2), mode="reflect")),
    ("pad_replicate_int", [np.arange(6).reshape(2, 3)], lambda x: pad(x, (2, 1), mode="replicate")),
    ("pad_circular_int", [np.arange(6).reshape(2, 3)], lambda x: pad(x, (1, 3), mode="circular")),
    ("pad_circular_bool", [np.array([[True, False, False]])], lambda x: pad(x, (1, 1), mode="circular")),
    ("tril_bool", [np.ones((3, 3), bool)], lambda x: x.tril()),
    ("triu_int", [np.arange(9).reshape(3, 3)], lambda x: x.triu(1)),
    ("diag_int", [np.arange(3, dtype=np.int32)], lambda x: x.diag(1)),
    ("diag_embed_int", [np.arange(4).reshape(2, 2)], lambda x: x.diag_embed()),
    ("trace_int", [np.arange(12, dtype=np.int32).reshape(3, 4)], lambda x: x.trace()),
    ("trace_float16", [np.ones((3, 3), np.float16)], lambda x: x.trace()),
    ("trace_uint8", [np.full((3, 3), 200, np.uint8)], lambda x: x.trace()),
    ("meshgrid_int", [np.arange(2), np.arange(3)], lambda a, b: L(a).meshgrid(a, b, indexing="xy")),
    ("repeat_interleave_indices", [np.array([1, 2, 0, 3])], lambda r: L(r).repeat_interleave(r)),
    ("repeat_interleave_indices_int32", [np.array([2, 1], np.int32)],
     lambda r: L(r).repeat_interleave(r)),
    ("repeat_interleave_indices_empty", [np.zeros(0, np.int64)], lambda r: L(r).repeat_interleave(r)),
]


@pytest.mark.parametrize("name,vals,fn", INT_PARITY, ids=[c[0] for c in INT_PARITY])
def test_dtype_parity(name, vals, fn, device):
    check(None, fn, vals=vals, device=device)


# float64 finite differences; second order checks the backward of each backward
GRAD = [
    ("cat", [(2, 3), (1, 3)], lambda a, b: disttorch.cat([a, b, a])),
    ("cat_skip", [(0,), (2, 3)], lambda a, b: disttorch.cat([a, b], 1)),
    ("cat_promote", [(2, 3)], lambda a: disttorch.cat([a, disttorch.ones(1, 3, dtype=disttorch.float32, device=a.device)])),
    ("stack", [(2, 3), (2, 3)], lambda a, b: disttorch.stack([a, b], -1)),
    ("hstack", [(2,), (3,)], lambda a, b: disttorch.hstack([a, b])),
    ("split", [(5, 2)], lambda x: x.split(2)),
    ("split_partial_use", [(5, 2)], lambda x: x.split(2)[1] * 3),
    ("chunk", [(2, 5)], lambda x: x.chunk(3, 1)),
    ("tensor_split_overlap", [(6,)], lambda x: x.tensor_split([4, 1, 9])),
    ("tensor_split_overlap_one", [(6,)], lambda x: x.tensor_split([4, 1])[2]),
    ("unbind", [(3, 2)], lambda x: x.unbind(1)),
    ("unbind_partial_use", [(3, 2)], lambda x: x.unbind(0)[1] * 2),
    ("narrow", [(4, 5)], lambda x: x.narrow(1, 1, 3)),
    ("select", [(4, 5)], lambda x: x.select(0, -2)),
    ("flip", [(3, 4)], lambda x: x.flip(0, 1)),
    ("roll", [(3, 4)], lambda x: x.roll((1, -2), (0, 1))),
    ("roll_flat", [(3, 4)], lambda x: x.roll(5)),
    ("rot90", [(3, 4)], lambda x: x.rot90(1, (1, 0))),
    ("repeat", [(2, 3)], lambda x: x.repeat(2, 1, 3)),
    ("tile", [(2, 3)], lambda x: x.tile(2)),
    ("repeat_interleave", [(2, 3)], lambda x: x.repeat_interleave(2, dim=1)),
    ("repeat_interleave_tensor", [(3, 2)],
     lambda x: x.repeat_interleave(disttorch.tensor([2, 0, 3]), dim=0)),
    ("pad_constant", [(2, 3)], lambda x: movement.pad(x, (1, 2, -1, 1), value=2.0)),
    ("pad_reflect", [(2, 3, 4)], lambda x: movement.pad(x, (3, 1, 2, 1), mode="reflect")),
    ("pad_replicate", [(2, 3)], lambda x: movement.pad(x, (4, -1), mode="replicate")),
    ("pad_circular", [(1, 3, 4)], lambda x: movement.pad(x, (2, 4, 1, -1), mode="circular")),
    ("tril", [(3, 4)], lambda x: x.tril(1)),
    ("triu", [(2, 3, 3)], lambda x: x.triu()),
    ("diag_1d", [(3,)], lambda x: x.diag(1)),
    ("diag_2d", [(3, 4)], lambda x: x.diag(-1)),
    ("diagonal", [(2, 3, 4)], lambda x: x.diagonal(1, 0, 2)),
    ("diag_embed", [(2, 3)], lambda x: x.diag_embed(-1, 0, 2)),
    ("trace", [(3, 4)], lambda x: x.trace()),
    ("meshgrid", [(2,), (3,)], lambda a, b: disttorch.meshgrid(a, b, indexing="xy")),
    ("broadcast_tensors", [(2, 1), (3,)], lambda a, b: disttorch.broadcast_tensors(a, b)),
    ("atleast_3d", [(3,)], lambda x: disttorch.atleast_3d(x)),
    ("cartesian_prod", [(2,), (3,)], lambda a, b: disttorch.cartesian_prod(a, b)),
    ("column_stack", [(3,), (3, 2)], lambda a, b: disttorch.column_stack([a, b])),
]


@pytest.mark.parametrize("name,shapes,fn", GRAD, ids=[c[0] for c in GRAD])
def test_gradcheck(name, shapes, fn, device):
    gradcheck(shapes, fn, device=device, second_order=True)


def test_grad_of_skipped_empty_input():
    torch_ = pytest.importorskip("torch")
    for lib in (torch_, disttorch):
        a = lib.zeros(0, dtype=lib.float64, requires_grad=True)
        b = lib.ones(2, 3, requires_grad=True)
        lib.cat([a, b]).sum().backward()
        assert a.grad is not None and tuple(a.grad.shape) == (0,)
        assert str(a.grad.dtype).endswith("float64")
        assert str(b.grad.dtype).endswith("float32")


def test_multi_output_is_one_node():
    x = disttorch.ones(6, 2, requires_grad=True)
    parts = x.split(2)
    assert len({p.grad_fn for p in parts}) == 1
    assert [p.output_nr for p in parts] == [0, 1, 2]
    parts[2].sum().backward()  # grads of the unused outputs count as zeros
    assert x.grad.tolist() == [[0.0, 0.0]] * 4 + [[1.0, 1.0]] * 2
    y = disttorch.ones(3, 2, requires_grad=True)
    rows = y.unbind()
    assert len({r.grad_fn for r in rows}) == 1
    (rows[0] * 2 + rows[2]).sum().backward()
    assert y.grad.tolist() == [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]


def test_iteration_uses_unbind(device):
    x = disttorch.arange(6.0, device=device).reshape(3, 2)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert [v.shape for v in disttorch.arange(3.0, device=device)] == [disttorch.Size([])] * 3


VIEWS = {
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(0, 1),
    "select_last": lambda x: x.select(-1, 2),
    "unbind": lambda x: x.unbind(1)[2],
    "unbind_0d": lambda x: x.unbind(0)[1].unbind(0)[2],
    "split": lambda x: x.split(1)[1],
    "split_sizes": lambda x: x.split([1, 3], 1)[1],
    "chunk": lambda x: x.chunk(2, 1)[1],
    "tensor_split": lambda x: x.tensor_split([1, 3], 1)[1],
    "diagonal": lambda x: x.diagonal(1),
    "meshgrid": lambda x: disttorch.meshgrid(x.select(0, 0), x.select(1, 0), indexing="ij")[0],
    "atleast_3d": lambda x: disttorch.atleast_3d(x),
}


@pytest.mark.parametrize("name", VIEWS)
def test_views_share_memory_and_version(name, device):
    x = disttorch.arange(12.0, device=device).reshape(3, 4).clone()
    v = VIEWS[name](x)
    assert v._base is x
    before = v.tolist()
    x.add_(100)
    assert v._version == x._version
    assert np.allclose(np.asarray(v.tolist()), np.asarray(before) + 100)


@pytest.mark.parametrize("name", ["narrow", "select", "unbind", "split", "chunk", "diagonal"])
def test_writing_into_a_view_changes_the_base(name, device):
    torch_ = pytest.importorskip("torch")
    results = []
    for lib in (torch_, disttorch):
        x = lib.arange(12.0).reshape(3, 4)
        if lib is disttorch:
            x = x.to(device)
        v = VIEWS[name](x)
        v.mul_(-1)
        results.append((x.tolist(), x._version, v._version))
    assert results[0][0] == results[1][0]
    assert results[1][1] == results[1][2]


@pytest.mark.parametrize("fn", [
    lambda x: x.flip(0), lambda x: x.roll(1), lambda x: disttorch.cat([x]), lambda x: x.repeat(1, 1),
    lambda x: x.tril(), lambda x: x.diag(), lambda x: movement.pad(x, (0, 0)),
    lambda x: x.rot90(2), lambda x: x.narrow_copy(0, 0, 2),
])
def test_copies_do_not_alias(fn):
    x = disttorch.arange(16.0).reshape(4, 4)
    y = fn(x)
    assert y._base is None
    y.add_(1)
    assert x.tolist() == disttorch.arange(16.0).reshape(4, 4).tolist()


def test_inplace_tril_triu(device):
    torch_ = pytest.importorskip("torch")
    for name, k in (("tril_", 0), ("triu_", 1), ("tril_", -1)):
        a = torch_.arange(12.0).reshape(3, 4)
        b = disttorch.arange(12.0, device=device).reshape(3, 4)
        v = b._version
        assert getattr(b, name)(k) is b
        getattr(a, name)(k)
        assert b.tolist() == a.tolist()
        assert b._version == v + 1


def test_inplace_tril_with_autograd():
    torch_ = pytest.importorskip("torch")
    grads = []
    for lib in (torch_, disttorch):
        w = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = w * w
        y.triu_()
        y.sum().backward()
        grads.append(w.grad.tolist())
    assert grads[0] == grads[1]


def test_meshgrid_warns_without_indexing():
    a, b = disttorch.arange(2), disttorch.arange(3)
    with pytest.warns(UserWarning, match="indexing"):
        x, y = disttorch.meshgrid(a, b)
    assert x.shape == (2, 3) and y.shape == (2, 3)


def test_broadcast_shapes():
    torch_ = pytest.importorskip("torch")
    for shapes in [((2, 1), (3,)), ((1,), ()), ((0, 1), (1, 4)), (3, (2, 1)), ()]:
        assert tuple(disttorch.broadcast_shapes(*shapes)) == tuple(torch_.broadcast_shapes(*shapes))
    assert isinstance(disttorch.broadcast_shapes((2, 1), (3,)), disttorch.Size)


def test_identity_returns():
    x = disttorch.ones(3)
    assert disttorch.atleast_1d(x) is x
    assert disttorch.broadcast_tensors(x)[0] is x
    assert disttorch.cartesian_prod(x) is x
    assert disttorch.atleast_1d() == ()


def test_repeat_interleave_on_device_with_host_repeats(device):
    x = disttorch.arange(3.0, device=device)
    y = x.repeat_interleave(disttorch.tensor([1, 2, 0]))
    assert y.device == x.device and y.tolist() == [0.0, 1.0, 1.0]
    r = disttorch.repeat_interleave(disttorch.tensor([1, 2], device=device))
    assert r.device == x.device and r.tolist() == [0, 1, 1]


def test_exports():
    for name in movement.__all__:
        assert getattr(disttorch, name) is getattr(movement, name)
    assert "pad" not in movement.__all__ and callable(movement.pad)
    assert not hasattr(disttorch, "pad")


ERRORS = [
    # cat / stack
    (lambda t: t.cat([]), ValueError),
    (lambda t: t.cat(t.ones(2, 3)), TypeError),
    (lambda t: t.cat([t.ones(2), 1]), TypeError),
    (lambda t: t.cat([t.tensor(1.0), t.tensor(2.0)]), RuntimeError),
    (lambda t: t.cat([t.ones(2, 3), t.ones(2, 3, 4)]), RuntimeError),
    (lambda t: t.cat([t.ones(2, 3), t.ones(3, 4)], dim=1), RuntimeError),
    (lambda t: t.cat([t.ones(2, 3), t.ones(2, 3)], dim=2), IndexError),
    (lambda t: t.cat([t.ones(2, 0), t.ones(2, 3)], dim=0), RuntimeError),
    (lambda t: t.stack([]), RuntimeError),
    (lambda t: t.stack([t.ones(2, 3), t.ones(2, 4)]), RuntimeError),
    (lambda t: t.stack([t.ones(2, 3), t.ones(2, 3)], dim=3), IndexError),
    (lambda t: t.stack(t.ones(2, 3)), TypeError),
    (lambda t: t.hstack([]), RuntimeError),
    (lambda t: t.hstack([t.ones(2), t.ones(2, 3)]), RuntimeError),
    (lambda t: t.vstack([t.ones(2), t.ones(3)]), RuntimeError),
    # splitting
    (lambda t: t.zeros(5).split(0), RuntimeError),
    (lambda t: t.zeros(5).split(-1), RuntimeError),
    (lambda t: t.zeros(5).split([2, 2]), RuntimeError),
    (lambda t: t.zeros(5).split([6, -1]), RuntimeError),
    (lambda t: t.zeros(5).split(2.0), TypeError),
    (lambda t: t.tensor(1.0).split(1), RuntimeError),
    (lambda t: t.zeros(5).split(2, 1), IndexError),
    (lambda t: t.zeros(5).chunk(0), RuntimeError),
    (lambda t: t.zeros(5).chunk(2.0), TypeError),
    (lambda t: t.tensor(1.0).chunk(1), RuntimeError),
    (lambda t: t.zeros(6).tensor_split(0), RuntimeError),
    (lambda t: t.tensor(1.0).tensor_split(2), RuntimeError),
    (lambda t: t.zeros(6).tensor_split(t.tensor([1.0, 3.0])), RuntimeError),
    (lambda t: t.zeros(6).tensor_split(t.tensor([[1, 3]])), RuntimeError),
    (lambda t: t.zeros(2, 5).hsplit(3), RuntimeError),
    (lambda t: t.tensor(1.0).hsplit(1), RuntimeError),
    (lambda t: t.zeros(6).vsplit(2), RuntimeError),
    (lambda t: t.zeros(2, 6).dsplit(2), RuntimeError),
    (lambda t: t.tensor(1.0).unbind(), IndexError),
    (lambda t: t.zeros(2, 3).unbind(2), IndexError),
    (lambda t: t.tensor(1.0).narrow(0, 0, 1), RuntimeError),
    (lambda t: t.zeros(3).narrow(0, 4, 0), IndexError),
    (lambda t: t.zeros(3).narrow(0, -4, 0), IndexError),
    (lambda t: t.zeros(3).narrow(0, 2, 3), RuntimeError),
    (lambda t: t.zeros(3).narrow(0, 0, -1), RuntimeError),
    (lambda t: t.zeros(3).narrow(1, 0, 1), IndexError),
    (lambda t: t.zeros(5).narrow(0, 1.0, 2), TypeError),
    (lambda t: t.zeros(3, 4).select(0, 5), IndexError),
    (lambda t: t.zeros(3, 4).select(1, -5), IndexError),
    (lambda t: t.tensor(1.0).select(0, 0), IndexError),
    (lambda t: t.zeros(3, 4).select(2, 0), IndexError),
    (lambda t: t.zeros(5).select(0, 1.0), TypeError),
    # reordering
    (lambda t: t.zeros(2, 3).flip(0, 0), RuntimeError),
    (lambda t: t.zeros(2, 3).flip(0, -2), RuntimeError),
    (lambda t: t.zeros(2, 3).flip(2), IndexError),
    (lambda t: t.flip(t.zeros(2, 3), 0), TypeError),
    (lambda t: t.zeros(3).fliplr(), RuntimeError),
    (lambda t: t.tensor(1.0).flipud(), RuntimeError),
    (lambda t: t.zeros(2, 3).roll(()), RuntimeError),
    (lambda t: t.zeros(2, 3).roll((1, 2), 0), RuntimeError),
    (lambda t: t.zeros(2, 3).roll((1, 2)), RuntimeError),
    (lambda t: t.zeros(2, 3).roll(1, 2), IndexError),
    (lambda t: t.tensor(1.0).roll(1, 0), IndexError),
    (lambda t: t.zeros(5).roll(1.0), TypeError),
    (lambda t: t.zeros(2, 3, 4).rot90(1, [0, 1, 2]), RuntimeError),
    (lambda t: t.zeros(2, 3).rot90(1, [0, -2]), RuntimeError),
    (lambda t: t.zeros(3).rot90(), RuntimeError),
    (lambda t: t.zeros(2, 3).rot90(1, [0, 2]), IndexError),
    # repeating
    (lambda t: t.zeros(2, 3).repeat(2), RuntimeError),
    (lambda t: t.zeros(2, 3).repeat(-1, 2), RuntimeError),
    (lambda t: t.zeros(2, 3).tile((-1,)), RuntimeError),
    (lambda t: t.tile(t.zeros(2, 3), 2), TypeError),
    (lambda t: t.zeros(3).repeat_interleave(-1), RuntimeError),
    (lambda t: t.zeros(3).repeat_interleave(t.tensor([1, -1, 2])), RuntimeError),
    (lambda t: t.zeros(3).repeat_interleave(t.tensor([1, 2])), RuntimeError),
    (lambda t: t.zeros(3).repeat_interleave(t.tensor([1.0, 2.0, 3.0])), NotImplementedError),
    (lambda t: t.zeros(3).repeat_interleave(t.tensor([[1, 2, 3]])), RuntimeError),
    (lambda t: t.zeros(3).repeat_interleave(2, dim=1), IndexError),
    (lambda t: t.tensor(1.0).repeat_interleave(3, dim=0), IndexError),
    (lambda t: t.zeros(3).repeat_interleave(2, output_size=5), RuntimeError),
    (lambda t: t.zeros(3).repeat_interleave(), TypeError),
    # triangles and diagonals
    (lambda t: t.zeros(3).tril(), RuntimeError),
    (lambda t: t.tensor(1.0).triu(), RuntimeError),
    (lambda t: t.zeros(2, 2, 2).diag(), RuntimeError),
    (lambda t: t.tensor(1.0).diag(), RuntimeError),
    (lambda t: t.ones(3, 4).diagonal(0, 0, 0), RuntimeError),
    (lambda t: t.ones(3, 4).diagonal(0, 1, -1), RuntimeError),
    (lambda t: t.ones(3).diagonal(), IndexError),
    (lambda t: t.ones(2, 3).diag_embed(1, 0, 0), RuntimeError),
    (lambda t: t.ones(2, 3).diag_embed(0, 0, 3), IndexError),
    (lambda t: t.ones(3).trace(), RuntimeError),
    (lambda t: t.ones(3, 3, dtype=t.bool).trace(), NotImplementedError),
    # grids and broadcasting
    (lambda t: t.meshgrid(indexing="ij"), RuntimeError),
    (lambda t: t.meshgrid(t.ones(2, 2), t.ones(3), indexing="ij"), RuntimeError),
    (lambda t: t.meshgrid(t.ones(2), t.ones(3, dtype=t.int64), indexing="ij"), RuntimeError),
    (lambda t: t.meshgrid(t.ones(2), indexing="foo"), RuntimeError),
    (lambda t: t.broadcast_tensors(t.ones(2), t.ones(3)), RuntimeError),
    (lambda t: t.broadcast_tensors([t.ones(2), t.ones(3)]), TypeError),
    (lambda t: t.broadcast_shapes((2,), (3,)), RuntimeError),
    (lambda t: t.cartesian_prod(t.ones(2, 2)), RuntimeError),
    (lambda t: t.cartesian_prod(t.ones(2), t.ones(2, dtype=t.int64)), RuntimeError),
]


@pytest.mark.parametrize("fn,exc", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors(fn, exc):
    check_error(fn, exc)


PAD_ERRORS = [
    (lambda x: pad(x, (1,)), RuntimeError),
    (lambda x: pad(x, (1, 1, 1, 1, 1, 1)), RuntimeError),
    (lambda x: pad(x, (-2, -2)), RuntimeError),
    (lambda x: pad(x, (1.0, 1)), TypeError),
    (lambda x: pad(x, (1, 1), mode="foo"), NotImplementedError),
    (lambda x: pad(x.reshape(6), (1, 1), mode="reflect"), NotImplementedError),
    (lambda x: pad(x, (1, 1, 1, 1), mode="reflect"), NotImplementedError),
    (lambda x: pad(x.reshape(1, 1, 1, 2, 3), (1, 1), mode="replicate"), NotImplementedError),
    (lambda x: pad(x, (), mode="circular"), NotImplementedError),
    (lambda x: pad(x, (3, 0), mode="reflect"), RuntimeError),
    (lambda x: pad(x, (1, 1), mode="reflect", value=1.0), RuntimeError),
    (lambda x: pad(x.narrow(1, 0, 0), (0, 0), mode="reflect"), RuntimeError),
    (lambda x: pad(x.narrow(0, 0, 0), (1, 1), mode="replicate"), RuntimeError),
    (lambda x: pad(x, (4, 0), mode="circular"), RuntimeError),
    (lambda x: pad(x > 0, (1, 1), mode="reflect"), NotImplementedError),
    (lambda x: pad(x > 0, (1, 1), mode="replicate"), NotImplementedError),
    (lambda x: pad(x.to(L(x).uint8), (1, 1), value=300), RuntimeError),
    (lambda x: pad(x.to(L(x).uint8), (1, 1), value=-1), RuntimeError),
    (lambda x: pad(x.to(L(x).float16), (1, 1), value=1e10), RuntimeError),
]


@pytest.mark.parametrize("fn,exc", PAD_ERRORS, ids=[str(i) for i in range(len(PAD_ERRORS))])
def test_pad_errors(fn, exc):
    pytest.importorskip("torch")
    with pytest.raises(exc):
        fn(torch.ones(2, 3))
    with pytest.raises(exc):
        fn(disttorch.ones(2, 3))


def test_cross_device_inputs_raise(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    a = disttorch.ones(2, device=device)
    with pytest.raises(RuntimeError, match="same device"):
        disttorch.cat([a, disttorch.ones(2)])
    with pytest.raises(RuntimeError, match="same device"):
        disttorch.stack([a, disttorch.ones(2)])
