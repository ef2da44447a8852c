"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells.

Each layer and direction projects the whole input sequence with one GEMM, then loops over
time with two ops per step: ``addmm`` for the recurrent product and one fused cell op
(``_LSTMCell`` / ``_GRUCell``) for the gate nonlinearities. The fused ops' backward runs on
arrays when no graph is being built and with Tensor ops under ``create_graph=True`` (so
higher-order gradients are right).

A ``PackedSequence`` input runs the same two ops per step on the rows still active at that
step (``batch_sizes[t]``, a prefix since the batch is sorted by decreasing length): the
forward direction drops the rows of finished sequences, keeping their last state as the
final one; the reverse direction starts each sequence from its initial state at its own
last step.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..._tensor import Tensor, _wrap
from ...autograd import grad_mode
from ...backend import dtypes
from ...creation import empty, zeros
from ...ops._op import Op
from ...ops.linalg import Addmm, Mm
from ...ops.movement import cat, stack
from .. import functional as F
from .. import init as _init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

_grad_state = grad_mode.state
_F32 = np.dtype(np.float32)


def _low(dt) -> bool:
    return dt.kind == "V" or dt == np.float16


def _sigmoid(xp, x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + xp.exp(-x))


# ------------------------------------------------------------------------------ cells
def _lstm_grads(gh, gc, i, f, g, o, c, tc, concat):
    """Grads of (gates, c_prev) from those of (h, c) for arrays or Tensors alike."""
    dc = gh * o * (1 - tc * tc)
    if gc is not None:
        dc = dc + gc
    di = dc * g * i * (1 - i)
    df = dc * c * f * (1 - f)
    dg = dc * i * (1 - g * g)
    do = gh * tc * o * (1 - o)
    return concat([di, df, dg, do]), dc * f


class _LSTMCell(Op):
    """One LSTM step: pre-activation gates (..., 4H) in torch's order [i, f, g, o] and
    the cell state c (..., H) give ``(h, c')`` with ``c' = f*c + i*g`` and ``h = o*tanh(c')``.
    """

    def forward(self, gates, c):
        self.retain_inputs(0, 1)
        xp = self.xp
        dt = gates.dtype
        if _low(dt):
            gates, c = gates.astype(_F32), c.astype(_F32)
        H = c.shape[-1]
        a = _sigmoid(xp, gates)
        i, f, o = a[..., :H], a[..., H:2 * H], a[..., 3 * H:]
        g = xp.tanh(gates[..., 2 * H:3 * H])
        c2 = f * c
        c2 += i * g
        tc = xp.tanh(c2)
        h = o * tc
        self.arrays = (i, f, g, o, c, tc)
        if _low(dt):
            return h.astype(dt), c2.astype(dt)
        return h, c2

    def backward(self, gh, gc):
        need = self.needs_input_grad
        if _grad_state.grad_enabled:  # create_graph: the formula as a function of the inputs
            gates, c = self.saved_tensors
            i, f, g, o = gates.chunk(4, -1)
            i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
            tc = (f * c + i * g).tanh()
            if gh is None:
                gh = tc * 0
            dgates, dc = _lstm_grads(gh, gc, i, f, g, o, c, tc, lambda xs: cat(xs, -1))
            return (dgates if need[0] else None), (dc if need[1] else None)
        xp = self.xp
        i, f, g, o, c, tc = self.arrays
        dev = (gh if gh is not None else gc)._device
        ghd = gh._data if gh is not None else xp.zeros_like(tc)
        gcd = gc._data if gc is not None else None
        dgates, dc = _lstm_grads(ghd, gcd, i, f, g, o, c, tc, lambda xs: xp.concatenate(xs, -1))
        return (_wrap(dgates, dev) if need[0] else None), (_wrap(dc, dev) if need[1] else None)


def _gru_grads(gy, r, z, n, hn, h, concat):
    """Grads of (input gates, hidden gates, h_prev) from that of h' for arrays or Tensors."""
    dz = gy * (h - n) * z * (1 - z)
    dn = gy * (1 - z) * (1 - n * n)
    dr = dn * hn * r * (1 - r)
    return concat([dr, dz, dn]), concat([dr, dz, dn * r]), gy * z


class _GRUCell(Op):
    """One GRU step from the input gates ``xg`` (..., 3H) = W_ih x + b_ih, the hidden gates
    ``hg`` = W_hh h + b_hh (order [r, z, n]) and ``h``:
    ``n = tanh(x_n + r * h_n)``, ``h' = (1 - z) * n + z * h``.
    """

    def forward(self, xg, hg, h):
        self.retain_inputs(0, 1, 2)
        xp = self.xp
        dt = xg.dtype
        if _low(dt):
            xg, hg, h = xg.astype(_F32), hg.astype(_F32), h.astype(_F32)
        H = h.shape[-1]
        rz = _sigmoid(xp, xg[..., :2 * H] + hg[..., :2 * H])
        r, z = rz[..., :H], rz[..., H:]
        hn = hg[..., 2 * H:]
        n = xp.tanh(xg[..., 2 * H:] + r * hn)
        y = h - n
        y *= z
        y += n
        self.arrays = (r, z, n, hn, h)
        return y.astype(dt) if _low(dt) else y

    def backward(self, gy):
        need = self.needs_input_grad
        if _grad_state.grad_enabled:
            xg, hg, h = self.saved_tensors
            xr, xz, xn = xg.chunk(3, -1)
            hr, hz, hn = hg.chunk(3, -1)
            r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
            n = (xn + r * hn).tanh()
            gx, gh, gprev = _gru_grads(gy, r, z, n, hn, h, lambda xs: cat(xs, -1))
        else:
            xp = self.xp
            r, z, n, hn, h = self.arrays
            gx, gh, gprev = _gru_grads(gy._data, r, z, n, hn, h, lambda xs: xp.concatenate(xs, -1))
            dev = gy._device
            gx, gh, gprev = _wrap(gx, dev), _wrap(gh, dev), _wrap(gprev, dev)
        return (gx if need[0] else None), (gh if need[1] else None), (gprev if need[2] else None)


def _check_state_dtypes(x: Tensor, *states: Tensor) -> None:
    """Hidden/cell states must have the input's dtype (torch's matmul error otherwise)."""
    xd = x._data.dtype
    for h in states:
        if h._data.dtype != xd:
            raise RuntimeError(
                "mat1 and mat2 must have the same dtype, but got "
                f"{dtypes.from_numpy(h._data.dtype).legacy_name} and {dtypes.from_numpy(xd).legacy_name}")


def _addmm(bias: Tensor, x: Tensor, w_t: Tensor) -> Tensor:
    return Addmm.apply(bias, x, w_t, beta=1, alpha=1)


# ------------------------------------------------------------------------ the RNN base
_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNBase(Module):
    """Parameters, checks and the time loop shared by ``RNN``, ``LSTM`` and ``GRU``."""

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout) if isinstance(dropout, numbers.Number) else dropout
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                f"expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}", UserWarning, stacklevel=3)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        real_hidden = proj_size if proj_size > 0 else hidden_size
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                params = [Parameter(empty((gate_size, layer_input), **kw)),
                          Parameter(empty((gate_size, real_hidden), **kw))]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    params += [Parameter(empty(gate_size, **kw)), Parameter(empty(gate_size, **kw))]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    params.append(Parameter(empty((proj_size, hidden_size), **kw)))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for name, p in zip(names, params):
                    setattr(self, name, p)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters grouped per layer and direction."""
        return [[getattr(self, w) for w in ws] for ws in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op (the weights are not packed into one buffer here)."""

    def reset_parameters(self) -> None:
        """Every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            _init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- checks --------------------------------------------------------------------------
    def _check_input(self, input: Tensor, batch_sizes=None) -> None:
        w = self._parameters[self._flat_weights_names[0]]
        if input.dtype != w.dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({w.dtype}). Convert "
                f"input: input.to({w.dtype}), or convert model: model.to({input.dtype})")
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{input.shape[-1]}")
        if input.shape[0 if not self.batch_first else 1] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")

    def _expected_hidden_size(self, input: Tensor) -> tuple[int, int, int]:
        mini_batch = input.shape[0 if self.batch_first else 1]
        d = 2 if self.bidirectional else 1
        h = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * d, mini_batch, h)

    @staticmethod
    def _check_hidden_size(hx: Tensor, expected: tuple, msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))

    def _prepare(self, input: Tensor):
        """(input as (T, B, I), is_batched) after the dimension check."""
        nd = input.dim()
        if nd not in (2, 3):
            raise ValueError(
                f"{self._name()}: Expected input to be 2D or 3D, got {nd}D instead")
        return nd == 3

    def _name(self) -> str:
        return type(self).__name__

    # -- the time loop -------------------------------------------------------------------
    def _run(self, x: Tensor, h0: Tensor, c0: Tensor | None, batch_sizes: list[int] | None = None):
        """``x`` (T, B, I), or packed (N, I) with ``batch_sizes``; ``h0``/``c0`` (L*D, B, *):
        returns (output, h_n, c_n or None)."""
        mode = self.mode
        lstm = mode == "LSTM"
        gru = mode == "GRU"
        D = 2 if self.bidirectional else 1
        P = self._parameters
        p = self.dropout
        h0s = h0.unbind(0)
        c0s = c0.unbind(0) if lstm else None
        hn, cn = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w_ih, w_hh = P["weight_ih" + sfx], P["weight_hh" + sfx]
                b_ih, b_hh = P.get("bias_ih" + sfx), P.get("bias_hh" + sfx)
                w_hr = P.get("weight_hr" + sfx)
                k = layer * D + d
                if batch_sizes is not None:
                    out, h, c = self._packed_dir(layer_input, batch_sizes, h0s[k],
                                                 c0s[k] if lstm else None, w_ih, w_hh, b_ih, b_hh,
                                                 w_hr, bool(d))
                    if lstm:
                        cn.append(c)
                elif gru:
                    out, h = self._gru_dir(layer_input, h0s[k], w_ih, w_hh, b_ih, b_hh, bool(d))
                elif lstm:
                    out, h, c = self._lstm_dir(layer_input, h0s[k], c0s[k], w_ih, w_hh, b_ih, b_hh,
                                               w_hr, bool(d))
                    cn.append(c)
                else:
                    out, h = self._rnn_dir(layer_input, h0s[k], w_ih, w_hh, b_ih, b_hh, bool(d))
                outs.append(out)
                hn.append(h)
            layer_input = outs[0] if D == 1 else cat(outs, -1)
            if p > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, p, True)
        return layer_input, stack(hn, 0), (stack(cn, 0) if lstm else None)

    @staticmethod
    def _steps(x: Tensor, w_ih: Tensor, b: Tensor | None, reverse: bool):
        xs = F.linear(x, w_ih, b).unbind(0)
        T = len(xs)
        return xs, (range(T - 1, -1, -1) if reverse else range(T))

    def _lstm_dir(self, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
        b = b_ih + b_hh if b_ih is not None else None
        xs, order = self._steps(x, w_ih, b, reverse)
        w_hh_t = w_hh.t()
        w_hr_t = w_hr.t() if w_hr is not None else None
        outs = [None] * len(xs)
        for t in order:
            h, c = _LSTMCell.apply(_addmm(xs[t], h, w_hh_t), c)
            if w_hr_t is not None:
                h = Mm.apply(h, w_hr_t)
            outs[t] = h
        return stack(outs, 0), h, c

    def _gru_dir(self, x, h, w_ih, w_hh, b_ih, b_hh, reverse):
        xs, order = self._steps(x, w_ih, b_ih, reverse)
        w_hh_t = w_hh.t()
        outs = [None] * len(xs)
        for t in order:
            hg = _addmm(b_hh, h, w_hh_t) if b_hh is not None else Mm.apply(h, w_hh_t)
            h = _GRUCell.apply(xs[t], hg, h)
            outs[t] = h
        return stack(outs, 0), h

    def _rnn_dir(self, x, h, w_ih, w_hh, b_ih, b_hh, reverse):
        b = b_ih + b_hh if b_ih is not None else None
        xs, order = self._steps(x, w_ih, b, reverse)
        w_hh_t = w_hh.t()
        act = F.relu if self.mode == "RNN_RELU" else Tensor.tanh
        outs = [None] * len(xs)
        for t in order:
            h = act(_addmm(xs[t], h, w_hh_t))
            outs[t] = h
        return stack(outs, 0), h

    def _packed_dir(self, x, bs, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
        """One layer and direction over packed ``x`` (sum(bs), I): (output, h_n, c_n)."""
        mode = self.mode
        gru = mode == "GRU"
        b = b_ih if gru else (b_ih + b_hh if b_ih is not None else None)
        xs = F.linear(x, w_ih, b).split(bs, 0)
        w_hh_t = w_hh.t()
        w_hr_t = w_hr.t() if w_hr is not None else None
        act = F.relu if mode == "RNN_RELU" else Tensor.tanh

        def step(t, h, c):
            if gru:
                hg = _addmm(b_hh, h, w_hh_t) if b_hh is not None else Mm.apply(h, w_hh_t)
                return _GRUCell.apply(xs[t], hg, h), None
            if c is not None:
                h, c = _LSTMCell.apply(_addmm(xs[t], h, w_hh_t), c)
                return (Mm.apply(h, w_hr_t) if w_hr_t is not None else h), c
            return act(_addmm(xs[t], h, w_hh_t)), None

        T = len(bs)
        outs = [None] * T
        if not reverse:
            h, c = h0, c0
            done_h, done_c = [], []
            for t in range(T):
                n = bs[t]
                if n < h.shape[0]:  # rows n.. ended at step t-1: their state is final
                    done_h.append(h[n:])
                    h = h[:n]
                    if c is not None:
                        done_c.append(c[n:])
                        c = c[:n]
                h, c = step(t, h, c)
                outs[t] = h
            # Finished rows were split off from the bottom up, so reverse to restore order.
            hn = cat([h, *done_h[::-1]], 0) if done_h else h
            cn = cat([c, *done_c[::-1]], 0) if done_c else c
        else:
            n = bs[-1]
            h, c = h0[:n], (c0[:n] if c0 is not None else None)
            for t in range(T - 1, -1, -1):
                n, m = bs[t], h.shape[0]
                if n > m:  # rows m..n have their last step at t: start them from h0/c0
                    h = cat([h, h0[m:n]], 0)
                    if c is not None:
                        c = cat([c, c0[m:n]], 0)
                h, c = step(t, h, c)
                outs[t] = h
            hn, cn = h, c
        return cat(outs, 0), hn, cn

    def _forward_packed(self, input: PackedSequence, hx):
        """RNN/GRU/LSTM on a ``PackedSequence``: packed output and the final states of each
        sequence at its own last step, in the caller's batch order."""
        data, batch_sizes, sorted_indices, unsorted_indices = input
        bs = [int(b) for b in batch_sizes.tolist()]
        lstm = self.mode == "LSTM"
        w = self._parameters[self._flat_weights_names[0]]
        if data.dtype != w.dtype:
            if lstm:  # torch's LSTM skips its checks on packed input: the matmul complains
                raise RuntimeError(
                    f"mat1 and mat2 must have the same dtype, but got {data.dtype.legacy_name} and "
                    f"{w.dtype.legacy_name}")
            raise ValueError(
                f"RNN input dtype ({data.dtype}) does not match weight dtype ({w.dtype}). Convert "
                f"input: input.to({w.dtype}), or convert model: model.to({data.dtype})")
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        if self.input_size != data.shape[-1]:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{data.shape[-1]}")
        nd = self.num_layers * (2 if self.bidirectional else 1)
        expected = (nd, bs[0], self.proj_size if self.proj_size > 0 else self.hidden_size)
        expected_c = (nd, bs[0], self.hidden_size)
        c0 = None
        if hx is None:
            h0 = zeros(expected, dtype=data.dtype, device=data.device)
            if lstm:
                c0 = zeros(expected_c, dtype=data.dtype, device=data.device)
        else:
            if lstm:
                h0, c0 = hx[0], hx[1]
                self._check_hidden_size(h0, expected, "Expected hidden[0] size {}, got {}")
                self._check_hidden_size(c0, expected_c, "Expected hidden[1] size {}, got {}")
                _check_state_dtypes(data, h0, c0)
            else:
                h0 = hx
                self._check_hidden_size(h0, expected)
                _check_state_dtypes(data, h0)
            # hx is given in the caller's batch order; the packed rows are sorted.
            if sorted_indices is not None:
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if lstm else None
        out, hn, cn = self._run(data, h0, c0, bs)
        if unsorted_indices is not None:
            hn = hn.index_select(1, unsorted_indices)
            cn = cn.index_select(1, unsorted_indices) if lstm else None
        output = PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices)
        return output, ((hn, cn) if lstm else hn)

    def _forward_single(self, input: Tensor, hx: Tensor | None):
        """The GRU/RNN forward: one hidden state."""
        is_batched = self._prepare(input)
        x = input
        if is_batched:
            if hx is not None and hx.dim() != 3:
                raise RuntimeError(
                    f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
        else:
            if hx is not None and hx.dim() != 2:
                raise RuntimeError(
                    f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor")
            x = x.unsqueeze(0 if self.batch_first else 1)
            if hx is not None:
                hx = hx.unsqueeze(1)
        self._check_input(x)
        expected = self._expected_hidden_size(x)
        if hx is None:
            hx = zeros(expected, dtype=x.dtype, device=x.device)
        else:
            self._check_hidden_size(hx, expected)
            _check_state_dtypes(x, hx)
        if self.batch_first:
            x = x.transpose(0, 1)
        out, hn, _ = self._run(x, hx, None)
        if self.batch_first:
            out = out.transpose(0, 1)
        if not is_batched:
            out = out.squeeze(0 if self.batch_first else 1)
            hn = hn.squeeze(1)
        return out, hn


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None
                ) -> tuple[Tensor | PackedSequence, Tensor]:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        return self._forward_single(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit with torch's gate order (r, z, n) and n-gate formula."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)

    forward = RNN.forward  # one hidden state, as in RNN


class LSTM(RNNBase):
    """Long short-term memory with torch's gate order (i, f, g, o); optional projections."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)

    def _expected_cell_size(self, input: Tensor) -> tuple[int, int, int]:
        mini_batch = input.shape[0 if self.batch_first else 1]
        d = 2 if self.bidirectional else 1
        return (self.num_layers * d, mini_batch, self.hidden_size)

    def forward(self, input: Tensor | PackedSequence, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor | PackedSequence, tuple[Tensor, Tensor]]:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        is_batched = self._prepare(input)
        x = input if is_batched else input.unsqueeze(0 if self.batch_first else 1)
        if hx is not None:
            h0, c0 = hx[0], hx[1]
            if is_batched:
                if h0.dim() != 3 or c0.dim() != 3:
                    raise RuntimeError(
                        "For batched 3-D input, hx and cx should also be 3-D but got "
                        f"({h0.dim()}-D, {c0.dim()}-D) tensors")
            else:
                if h0.dim() != 2 or c0.dim() != 2:
                    raise RuntimeError(
                        "For unbatched 2-D input, hx and cx should also be 2-D but got "
                        f"({h0.dim()}-D, {c0.dim()}-D) tensors")
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
        self._check_input(x)
        expected = self._expected_hidden_size(x)
        expected_c = self._expected_cell_size(x)
        if hx is None:
            h0 = zeros(expected, dtype=x.dtype, device=x.device)
            c0 = zeros(expected_c, dtype=x.dtype, device=x.device)
        else:
            self._check_hidden_size(h0, expected, "Expected hidden[0] size {}, got {}")
            self._check_hidden_size(c0, expected_c, "Expected hidden[1] size {}, got {}")
            _check_state_dtypes(x, h0, c0)
        if self.batch_first:
            x = x.transpose(0, 1)
        out, hn, cn = self._run(x, h0, c0)
        if self.batch_first:
            out = out.transpose(0, 1)
        if not is_batched:
            out = out.squeeze(0 if self.batch_first else 1)
            hn, cn = hn.squeeze(1), cn.squeeze(1)
        return out, (hn, cn)


# ---------------------------------------------------------------------- the cell modules
class RNNCellBase(Module):
    """Parameters ``weight_ih`` (chunks*H, I), ``weight_hh`` (chunks*H, H) and biases."""

    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += f", bias={self.bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        """Every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            _init.uniform_(weight, -stdv, stdv)

    def _batched(self, input: Tensor) -> bool:
        nd = input.dim()
        if nd not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {nd}D instead")
        return nd == 2

    def _check(self, input: Tensor, hxs) -> None:
        if input.shape[1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[1]} expected {self.input_size}")
        for k, h in enumerate(hxs):
            if input.shape[0] != h.shape[0]:
                raise RuntimeError(
                    f"Input batch size {input.shape[0]} doesn't match hidden{k} batch size {h.shape[0]}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(
                    f"hidden{k} has inconsistent hidden_size: got {h.shape[1]}, expected "
                    f"{self.hidden_size}")

    def _zeros(self, input: Tensor) -> Tensor:
        return zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)


class RNNCell(RNNCellBase):
    """``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu)."""

    __constants__ = ["input_size", "hidden_size", "bias", "nonlinearity"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._batched(input)
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            hx = self._zeros(x)
        elif not batched:
            hx = hx.unsqueeze(0)
        self._check(x, (hx,))
        pre = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(hx, self.weight_hh, self.bias_hh)
        if self.nonlinearity == "tanh":
            h = pre.tanh()
        elif self.nonlinearity == "relu":
            h = F.relu(pre)
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: ``(h', c') = cell(x, (h, c))`` with gates (i, f, g, o)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        batched = self._batched(input)
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            z = self._zeros(x)
            h, c = z, z
        else:
            h, c = hx
            if not batched:
                h, c = h.unsqueeze(0), c.unsqueeze(0)
        self._check(x, (h, c))
        _check_state_dtypes(x, h, c)
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        h2, c2 = _LSTMCell.apply(gates, c)
        if not batched:
            return h2.squeeze(0), c2.squeeze(0)
        return h2, c2


class GRUCell(RNNCellBase):
    """One GRU step with gates (r, z, n) and ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._batched(input)
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            hx = self._zeros(x)
        elif not batched:
            hx = hx.unsqueeze(0)
        self._check(x, (hx,))
        _check_state_dtypes(x, hx)
        xg = F.linear(x, self.weight_ih, self.bias_ih)
        hg = F.linear(hx, self.weight_hh, self.bias_hh)
        h = _GRUCell.apply(xg, hg, hx)
        return h if batched else h.squeeze(0)


__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]
