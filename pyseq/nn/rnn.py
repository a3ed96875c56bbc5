"""Recurrent layers as torch.nn's: RNN, LSTM and GRU (multi-layer, bidirectional, batch_first,
dropout between layers, PackedSequence input) and the cells RNNCell, LSTMCell and GRUCell.

Parameter names, shapes, gate order and initialisation are PyTorch's, so state dicts carry over
both ways: weight_ih_l{k}{_reverse} (G H, input), weight_hh_l{k}{_reverse} (G H, H), bias_ih_l{k},
bias_hh_l{k} (G H,), G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n), all U(-1/sqrt(H), 1/sqrt(H)).
An LSTM with proj_size P > 0 projects its state, h_t = W_hr (o_t tanh(c_t)) with weight_hr_l{k}
(P, H), so its weight_hh is (4 H, P) and its h (and output) has P features.

Each layer and direction is one C++ op over the whole sequence (_core.rnn_layer: one GEMM for
the input projection of all steps, then per step one GEMM and one fused gate kernel; backward
through time in one node), so there is no Python loop over time.
"""

import math
import numbers
import warnings

from .. import _core
from .._core import Tensor
from .._tensor import tensor
from . import functional as F
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, pad_packed_sequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_size(value, name, cls, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{cls}: {name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{cls}: {name} must be at least {minimum}, got {value}")
    return int(value)


def _check_device(device, cls):
    if device not in (None, "cpu"):
        raise ValueError(f"{cls}: only the 'cpu' device is supported, got {device!r}")


def _mode_of_nonlinearity(nonlinearity, cls):
    if nonlinearity == "tanh":
        return "RNN_TANH"
    if nonlinearity == "relu":
        return "RNN_RELU"
    raise ValueError(f"{cls}: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or 'relu')")


def _check_input(input, cls):
    if not isinstance(input, Tensor):
        raise TypeError(f"{cls}: input must be a Tensor, got {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{cls}: expected a floating input (float32 or float64), got {input.dtype}; integer "
                        f"token ids go through an nn.Embedding first")


def _check_state(h, expected, dtype, cls, name):
    if not isinstance(h, Tensor):
        raise TypeError(f"{cls}: {name} must be a Tensor, got {type(h).__name__}")
    if tuple(h.shape) != tuple(expected):
        raise ValueError(f"{cls}: expected {name} of shape {tuple(expected)}, got {tuple(h.shape)}")
    if h.dtype != dtype:
        raise TypeError(f"{cls}: expected {name} of the input's dtype {dtype}, got {h.dtype}")


class RNNBase(Module):
    """The shared body of RNN, LSTM and GRU: the parameters of every layer and direction, the
    checks, and the loop over layers (each layer one op per direction)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        cls = type(self).__name__
        _check_device(device, cls)
        if mode not in _GATES:
            raise ValueError(f"{cls}: unknown mode {mode!r} (expected one of {sorted(_GATES)})")
        self.mode = mode
        self.input_size = _check_size(input_size, "input_size", cls)  # torch's layers refuse 0 (its cells take it)
        self.hidden_size = _check_size(hidden_size, "hidden_size", cls)
        self.num_layers = _check_size(num_layers, "num_layers", cls)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"{cls}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{cls}: dropout acts between layers, so dropout={dropout} with num_layers=1 does "
                          f"nothing", UserWarning, stacklevel=3)
        self.proj_size = _check_size(proj_size, "proj_size", cls, minimum=0)
        if proj_size and mode != "LSTM":
            raise ValueError(f"{cls}: proj_size is only supported for LSTM, not RNN or GRU (got {proj_size})")
        if proj_size >= hidden_size:
            raise ValueError(f"{cls}: proj_size must be smaller than hidden_size, got proj_size={proj_size} and "
                             f"hidden_size={hidden_size}")
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        gate_size, state_size = _GATES[mode] * hidden_size, self.proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else state_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, state_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if self.proj_size:
                    shapes.update(weight_hr=(self.proj_size, hidden_size))
                for name, shape in shapes.items():
                    setattr(self, name + suffix, Parameter(_core.empty(*shape, dtype=dtype)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self):
        """Kept so that code written for PyTorch runs: the weights are always used where they are."""

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters grouped per layer and direction: [[w_ih, w_hh, b_ih, b_hh(, w_hr)], ...]."""
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def _layer_weights(self, layer, direction):
        """[w_ih, w_hh, b_ih, b_hh, w_hr] of one layer and direction, None for those it lacks."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"]
        return [getattr(self, name + suffix, None) for name in names]

    def _initial_states(self, hx, batch, dtype, batched):
        """hx checked against (L D, B, S) for h0 and (L D, B, H) for c0 (S = proj_size or H; no B
        unbatched): [h0] or [h0, c0], each (L D, B, .) or None."""
        cls = type(self).__name__
        count = 2 if self.mode == "LSTM" else 1
        if hx is None:
            return [None] * count
        if count == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                what = f"a {type(hx).__name__} of {len(hx)}" if isinstance(hx, (tuple, list)) else type(hx).__name__
                raise TypeError(f"{cls}: hx must be a tuple (h_0, c_0), got {what}")
            states, names = list(hx), ["h_0", "c_0"]
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"{cls}: hx must be a Tensor h_0 (only LSTM takes a tuple (h_0, c_0))")
            states, names = [hx], ["h_0"]
        D = 2 if self.bidirectional else 1
        for h, name, size in zip(states, names, [self.proj_size or self.hidden_size, self.hidden_size]):
            expected = (self.num_layers * D, batch, size) if batched else (self.num_layers * D, size)
            _check_state(h, expected, dtype, cls, name)
        return states if batched else [h.unsqueeze(1) for h in states]

    def forward(self, input, hx=None):
        """input (T, B, input_size) ((B, T, input_size) with batch_first, (T, input_size) unbatched,
        or a PackedSequence); hx: h_0 (or (h_0, c_0) for LSTM), each (num_layers * D, B, H), zeros
        when None. Returns (output, h_n) or, for LSTM, (output, (h_n, c_n)): output (T, B, D H) (a
        PackedSequence for packed input), h_n and c_n (num_layers * D, B, H). With proj_size P, h_0,
        h_n and output have P features in place of H."""
        cls = type(self).__name__
        lengths, packed = None, None
        if isinstance(input, PackedSequence):
            packed = input
            _check_input(packed.data, cls)
            input, lengths = pad_packed_sequence(packed)
            batched = True
        else:
            _check_input(input, cls)
            if input.ndim not in (2, 3):
                raise ValueError(f"{cls}: expected input of 2 dims (T, input_size) or 3 dims (T, B, input_size), "
                                 f"got {input.ndim} dims of shape {tuple(input.shape)}")
            batched = input.ndim == 3
            if not batched:
                input = input.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{cls}: expected input with {self.input_size} features (input_size) in the last "
                             f"dim, got {input.shape[-1]} (input of shape {tuple(input.shape)})")
        if self.weight_ih_l0.dtype != input.dtype:
            raise TypeError(f"{cls}: the input is {input.dtype} but the parameters are {self.weight_ih_l0.dtype}; "
                            f"convert one with .float() / .double()")
        states = self._initial_states(hx, input.shape[1], input.dtype, batched)

        D = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                k = layer * D + direction
                h0, c0 = [None if s is None else s[k] for s in states] + [None] * (2 - len(states))
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(layer, direction)
                out, h, c = _core.rnn_layer(self.mode, layer_input, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths,
                                            direction == 1, w_hr)
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if D == 1 else _core.cat(outputs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        h_n = _core.stack(h_n, 0)
        c_n = _core.stack(c_n, 0) if self.mode == "LSTM" else None
        if packed is not None:
            rows = tensor(packed._rows())  # the input's layout
            data = output.reshape([-1, output.shape[2]]).index_select(0, rows)
            output = packed._replace(data=data)
        elif not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"  # PyTorch's: an RNN's nonlinearity is not shown
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, proj_size=0):
        super().__init__(_mode_of_nonlinearity(nonlinearity, "RNN"), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, proj_size, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o; c_t = f c_{t-1} + i g, h_t = o tanh(c_t)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit: gates r, z; n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h_t = (1 - z) n + z h_{t-1}."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, proj_size=0):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)


class RNNCellBase(Module):
    """One step of a recurrent layer: weight_ih (G H, input_size), weight_hh (G H, H), bias_ih,
    bias_hh (G H,), PyTorch's names and initialisation. A step runs as the layer op over T = 1."""

    def __init__(self, mode, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        cls = type(self).__name__
        _check_device(device, cls)
        self.mode = mode
        self.input_size = _check_size(input_size, "input_size", cls, minimum=0)
        self.hidden_size = _check_size(hidden_size, "hidden_size", cls)
        self.bias = bool(bias)
        gate_size = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(_core.empty(gate_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(_core.empty(gate_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_core.empty(gate_size, dtype=dtype))
            self.bias_hh = Parameter(_core.empty(gate_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _step(self, input, hx):
        """input (B, input_size) or (input_size,); hx: None, a state, or (h, c) -> (h', c' or None)."""
        cls = type(self).__name__
        _check_input(input, cls)
        if input.ndim not in (1, 2):
            raise ValueError(f"{cls}: expected input of 1 dim (input_size,) or 2 dims (B, input_size), got "
                             f"{input.ndim} dims of shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{cls}: expected input with {self.input_size} features (input_size) in the last "
                             f"dim, got {input.shape[-1]}")
        if self.weight_ih.dtype != input.dtype:
            raise TypeError(f"{cls}: the input is {input.dtype} but the parameters are {self.weight_ih.dtype}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        states = [] if hx is None else (list(hx) if self.mode == "LSTM" else [hx])
        if self.mode == "LSTM" and hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{cls}: hx must be a tuple (h, c), got {type(hx).__name__}")
        for s, name in zip(states, ["h", "c"]):
            _check_state(s, expected, input.dtype, cls, name)
        if not batched:
            states = [s.unsqueeze(0) for s in states]
        h0, c0 = (states + [None, None])[:2]
        _, h, c = _core.rnn_layer(self.mode, x.unsqueeze(0), h0, c0, self.weight_ih, self.weight_hh, self.bias_ih,
                                  self.bias_hh)
        if not batched:
            h, c = h.squeeze(0), (c.squeeze(0) if c is not None else None)
        return h, c

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity=relu"  # unquoted, as PyTorch
        return s


class RNNCell(RNNCellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu. forward(input, hx=None) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(_mode_of_nonlinearity(nonlinearity, "RNNCell"), input_size, hidden_size, bias, device,
                         dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step. forward(input, hx=None) with hx = (h, c) -> (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx)


class GRUCell(RNNCellBase):
    """One GRU step. forward(input, hx=None) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx)[0]
