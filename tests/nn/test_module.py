"""nn.Module semantics: registration, iteration, state_dict, modes, hooks, repr."""
from __future__ import annotations

import copy
import pickle

import pytest

import disttorch
from disttorch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(disttorch.ones(2, 3))
        self.register_buffer("running", disttorch.zeros(3))
        self.register_buffer("scratch", disttorch.zeros(1), persistent=False)
        self.seq = nn.Sequential(Leaf(), Leaf())
        self.none_param = None

    def forward(self, x):
        return x * 2


class Leaf(nn.Module):
    def __init__(self):
        super().__init__()
        self.b = nn.Parameter(disttorch.zeros(3))

    def forward(self, x):
        return x + self.b


def test_registration_and_iteration():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == ["w", "seq.0.b", "seq.1.b"]
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    assert [n for n, _ in m.named_modules()] == ["", "seq", "seq.0", "seq.1"]
    assert [n for n, _ in m.named_children()] == ["seq"]
    assert list(m.state_dict()) == ["w", "running", "seq.0.b", "seq.1.b"]
    assert m.get_submodule("seq.1") is m.seq[1]
    assert m.get_parameter("seq.0.b") is m.seq[0].b
    with pytest.raises(AttributeError):
        m.missing_attr
    with pytest.raises(TypeError):
        m.w = disttorch.ones(2)  # a plain tensor cannot replace a parameter
    with pytest.raises(KeyError):
        m.register_buffer("a.b", disttorch.ones(1))
    shared = nn.Linear if hasattr(nn, "Linear") else None
    del shared


def test_shared_parameters_are_deduplicated():
    leaf = Leaf()
    seq = nn.Sequential(leaf, leaf)
    assert len(list(seq.parameters())) == 1
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 2


def test_state_dict_roundtrip_and_errors():
    a, b = Net(), Net()
    with disttorch.no_grad():
        a.w.mul_(5)
        a.running.fill_(2)
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert b.w.tolist() == a.w.tolist() and b.running.tolist() == [2.0] * 3
    sd = a.state_dict()
    assert not sd["w"].requires_grad and a.state_dict(keep_vars=True)["w"] is a.w
    sd.pop("running")
    sd["extra"] = disttorch.ones(1)
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "running"'):
        b.load_state_dict(sd)
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["running"] and res.unexpected_keys == ["extra"]
    bad = a.state_dict()
    bad["w"] = disttorch.ones(3, 3)
    with pytest.raises(RuntimeError, match="size mismatch for w"):
        b.load_state_dict(bad)


def test_state_dict_keys_match_torch():
    torch = pytest.importorskip("torch")

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(2, 3))
            self.register_buffer("running", torch.zeros(3))
            self.register_buffer("scratch", torch.zeros(1), persistent=False)
            self.seq = torch.nn.Sequential(torch.nn.Module(), torch.nn.Module())
            self.seq[0].b = torch.nn.Parameter(torch.zeros(3))
            self.seq[1].b = torch.nn.Parameter(torch.zeros(3))

    assert list(TNet().state_dict()) == list(Net().state_dict())


def test_train_eval_zero_grad_apply_requires_grad():
    m = Net()
    m.eval()
    assert not m.training and not m.seq[0].training
    m.train()
    assert m.seq[1].training
    (m.w.sum() + m.seq[0].b.sum()).backward()
    assert m.w.grad is not None
    m.zero_grad(set_to_none=False)
    assert m.w.grad.tolist() == [[0.0] * 3] * 2
    m.zero_grad()
    assert m.w.grad is None
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Leaf", "Leaf", "Sequential", "Net"]
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_and_dtype_casts():
    m = Net()
    w = m.w
    m.double()
    assert m.w is w and m.w.dtype is disttorch.float64 and m.running.dtype is disttorch.float64
    m.to(disttorch.float32)
    assert m.w.dtype is disttorch.float32
    with pytest.raises(TypeError):
        m.to(disttorch.int64)


def test_forward_hooks():
    m = Leaf()
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 10,))
    h2 = m.register_forward_hook(lambda mod, args, out: out + 1)
    m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(kwargs), with_kwargs=True)
    out = m(disttorch.ones(3))
    assert out.tolist() == [11.0] * 3 and calls == [{}]
    h1.remove()
    h2.remove()
    assert m(disttorch.ones(3)).tolist() == [1.0] * 3


def test_full_backward_hook():
    m = Leaf()
    seen = {}

    def hook(mod, grad_input, grad_output):
        seen["in"] = [g.tolist() for g in grad_input]
        seen["out"] = [g.tolist() for g in grad_output]

    m.register_full_backward_hook(hook)
    x = disttorch.ones(3, requires_grad=True)
    (m(x) * 3).sum().backward()
    assert seen["out"] == [[3.0] * 3] and seen["in"] == [[3.0] * 3]
    assert x.grad.tolist() == [3.0] * 3


def test_repr_and_copy():
    m = nn.Sequential(Leaf(), nn.ModuleList([Leaf()]))
    assert repr(m) == "Sequential(\n  (0): Leaf()\n  (1): ModuleList(\n    (0): Leaf()\n  )\n)"
    c = copy.deepcopy(m)
    with disttorch.no_grad():
        c[0].b.fill_(1)
    assert m[0].b.tolist() == [0.0] * 3
    p = pickle.loads(pickle.dumps(m))
    assert isinstance(p[0].b, nn.Parameter)



def test_module_list_repr_merges_runs_like_torch():
    def build(lib):
        nn_ = lib.nn
        return nn_.Sequential(nn_.ModuleList(
            [nn_.Linear(2, 2) for _ in range(3)] + [nn_.ReLU()]
            + [nn_.Sequential(nn_.Linear(2, 3), nn_.Tanh()) for _ in range(2)]))

    text = repr(build(disttorch))
    assert "(0-2): 3 x Linear(in_features=2, out_features=2, bias=True)" in text
    assert "(4-5): 2 x Sequential(" in text
    assert repr(nn.ModuleList()) == "ModuleList()"
    torch = pytest.importorskip("torch")
    assert text == repr(build(torch))

def test_containers():
    seq = nn.Sequential(Leaf(), Leaf(), Leaf())
    assert len(seq) == 3 and len(seq[1:]) == 2 and isinstance(seq[-1], Leaf)
    del seq[0]
    assert list(seq._modules) == ["0", "1"]
    seq.append(Leaf())
    assert len(seq) == 3
    ml = nn.ModuleList([Leaf()])
    ml += [Leaf()]
    ml.insert(0, Leaf())
    assert len(ml) == 3 and len(list(ml.parameters())) == 3
    md = nn.ModuleDict({"a": Leaf()})
    md["b"] = Leaf()
    assert list(md.keys()) == ["a", "b"] and "a" in md
    pl = nn.ParameterList([disttorch.ones(2), nn.Parameter(disttorch.zeros(1))])
    assert isinstance(pl[0], nn.Parameter) and len(list(pl.parameters())) == 2
    pd = nn.ParameterDict({"x": disttorch.ones(1)})
    assert isinstance(pd["x"], nn.Parameter) and list(pd) == ["x"]
    with pytest.raises(IndexError):
        seq[5]


def test_parameter():
    p = nn.Parameter(disttorch.ones(2))
    assert p.requires_grad and p.is_leaf and isinstance(p, disttorch.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor([1., 1.], requires_grad=True)")
    assert not nn.Parameter(disttorch.ones(1), requires_grad=False).requires_grad
    y = p * 2
    assert type(y) is disttorch.Tensor
