"""The backward engine: an iterative walk of the graph in dependency order.

1. Count, for every node reachable from the roots, how many edges point at it.
2. Start from the roots; a node is ready when every node that feeds it a gradient has
   run. Among ready nodes the most recently created runs first (a heap on the creation
   sequence number), and ``AccumulateGrad`` nodes run as soon as they are ready, so leaf
   gradients (and the hooks DDP builds on) arrive in reverse order of use.
3. Each node's output grads are summed in a buffer, checked against the shape and dtype
   its input had in forward (broadcast grads are summed back, dtypes cast back), and
   passed on. No recursion anywhere: a 100,000-op chain is just a longer loop.
"""
from __future__ import annotations

import heapq

from . import anomaly, grad_mode
from .node import AccumulateGrad

_callbacks: list | None = None


def queue_callback(fn) -> None:
    """Run ``fn()`` once the current backward pass has finished (DDP's reducer uses it)."""
    if _callbacks is None:
        raise RuntimeError("queue_callback can only be called during a backward pass")
    _callbacks.append(fn)


def _dependencies(roots):
    deps: dict = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _needed(roots, targets) -> set:
    """Nodes from which some target node is reachable (those worth running)."""
    needed: set = set()
    done: set = set()
    for root in roots:
        if root in done:
            continue
        stack = [(root, iter(root.next_functions))]
        done.add(root)
        while stack:
            node, it = stack[-1]
            for nxt, _ in it:
                if nxt is not None and nxt not in done:
                    done.add(nxt)
                    stack.append((nxt, iter(nxt.next_functions)))
                    break
            else:
                stack.pop()
                if node in targets or any(n in needed for n, _ in node.next_functions):
                    needed.add(node)
    return needed


def _check_grad(node, i, g, meta):
    shape, dtype, device = meta
    if g._device is not device:
        raise RuntimeError(
            f"Function {node.name()} returned an invalid gradient at index {i} - expected "
            f"device {device} but got {g._device}"
        )
    if g._data.shape != shape:
        try:
            g = g.sum_to_size(shape)
        except RuntimeError:
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - got "
                f"{list(g.shape)} but expected shape compatible with {list(shape)}"
            ) from None
    if g._data.dtype != dtype:
        g = g.to(dtype)
    return g


def _check_nan(node, outs) -> None:
    for i, g in enumerate(outs):
        if g is not None and bool((g._data != g._data).any()):  # NaN is the only x != x
            msg = f"Function '{node.name()}' returned nan values in its {i}th output."
            if node._trace:
                msg += ("\nThe forward call that created it (anomaly mode):\n" + node._trace)
            raise RuntimeError(msg)


def run_backward(
    roots,
    grad_roots,
    retain_graph: bool,
    create_graph: bool,
    inputs=None,
    allow_unused: bool = False,
    accumulate: bool = True,
):
    """Backpropagate ``grad_roots`` from the edges ``roots``.

    ``roots`` is a list of ``(node, output_nr)``. With ``accumulate`` leaf grads go into
    ``.grad`` (only those of ``inputs`` when given); without it the grads flowing into
    the edges of ``inputs`` are returned instead (``autograd.grad``).
    """
    global _callbacks
    root_nodes = list(dict.fromkeys(n for n, _ in roots))
    deps = _dependencies(root_nodes)

    captures = None
    targets = None
    if inputs is not None:
        input_edges = [t._edge_for_grad() for t in inputs]
        targets = {n for n, _ in input_edges}
        if not accumulate:
            captures = {}
            for k, (n, nr) in enumerate(input_edges):
                captures.setdefault(n, []).append((nr, k))
    needed = _needed(root_nodes, targets) if targets is not None else None

    buffers: dict = {}
    for (node, nr), g in zip(roots, grad_roots):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * _n_outputs(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    counter = 0
    ready = []
    for node in root_nodes:
        if deps.get(node, 0) == 0:
            ready.append((-(node._seq + node._priority), counter, node))
            counter += 1
    heapq.heapify(ready)
    heappop, heappush = heapq.heappop, heapq.heappush
    # the plain path (no hooks, no grad() captures, no anomaly mode) skips _run_node
    general = captures is not None or needed is not None or anomaly.state.enabled

    results = [None] * len(inputs) if captures is not None else None
    prev_callbacks, _callbacks = _callbacks, []
    prev_mode = grad_mode.state.grad_enabled
    grad_mode.state.grad_enabled = create_graph
    try:
        while ready:
            node = heappop(ready)[2]
            grads = buffers.pop(node, None) or [None]
            if (general or type(node) is AccumulateGrad or node._tensor_pre_hooks
                    or node._pre_hooks or node._hooks):
                outs = _run_node(node, grads, create_graph, retain_graph, captures, results,
                                 needed, accumulate, targets)
            else:
                if grads[0] is None and all(g is None for g in grads):
                    outs = (None,) * len(node.next_functions)
                else:
                    outs = node._call_backward(tuple(grads))
                if len(outs) != len(node.next_functions):
                    _wrong_count(node, outs)
                if not retain_graph:
                    node._release()
            for i, (nxt, nr) in enumerate(node.next_functions):
                if nxt is None:
                    continue
                g = outs[i] if i < len(outs) else None
                if g is not None:
                    meta = node._input_meta[i]
                    if g._data.shape != meta[0] or g._data.dtype != meta[1] or g._device is not meta[2]:
                        g = _check_grad(node, i, g, meta)
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * _n_outputs(nxt)
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                left = deps[nxt] - 1
                deps[nxt] = left
                if left == 0:
                    heappush(ready, (-(nxt._seq + nxt._priority), counter, nxt))
                    counter += 1
            # drop our references so AccumulateGrad can tell a grad nobody else holds
            outs = g = None
        grad_mode.state.grad_enabled = prev_mode
        for cb in _callbacks:
            cb()
    finally:
        grad_mode.state.grad_enabled = prev_mode
        _callbacks = prev_callbacks

    if results is not None:
        for k, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (index {k}) appears to not have been "
                    "used in the graph. Set allow_unused=True if this is the desired behavior."
                )
    return results


def _wrong_count(node, outs):
    raise RuntimeError(
        f"function {node.name()} returned an incorrect number of gradients "
        f"(expected {len(node.next_functions)}, got {len(outs)})"
    )


def _n_outputs(node) -> int:
    return getattr(node, "_n_outputs", 1)


def _run_node(node, grads, create_graph, retain_graph, captures, results, needed, accumulate,
              targets):
    n_next = len(node.next_functions)
    if needed is not None and node not in needed:
        return ()
    # tensor hooks (register_hook) see the grad of the tensor they were put on
    if type(node) is AccumulateGrad:
        extra = node.variable._extra
        hooks = extra.get("hooks") if extra else None
        if hooks and grads[0] is not None:
            for hook in tuple(hooks.values()):
                r = hook(grads[0])
                if r is not None:
                    grads[0] = r
    elif node._tensor_pre_hooks:
        for nr, hooks in node._tensor_pre_hooks.items():
            if grads[nr] is None:
                continue
            for hook in tuple(hooks.values()):
                r = hook(grads[nr])
                if r is not None:
                    grads[nr] = r
    if captures is not None and node in captures:
        for nr, k in captures[node]:
            g = grads[nr]
            if g is not None:
                results[k] = g if results[k] is None else results[k] + g
    if node._pre_hooks:
        for hook in tuple(node._pre_hooks.values()):
            r = hook(tuple(grads))
            if r is not None:
                grads = list(r)

    if type(node) is AccumulateGrad:
        if accumulate and grads[0] is not None and (targets is None or node in targets):
            node.accumulate(grads[0], create_graph)
        return ()
    if all(g is None for g in grads):
        return (None,) * n_next
    try:
        outs = node._call_backward(tuple(grads))
    except Exception as e:
        if node._trace:
            raise RuntimeError(
                f"Error in {node.name()} during backward: {e}\nThe forward call that "
                f"created it (anomaly mode):\n{node._trace}"
            ) from e
        raise
    if len(outs) != n_next:
        _wrong_count(node, outs)
    if node._hooks:
        for hook in tuple(node._hooks.values()):
            r = hook(outs, tuple(grads))
            if r is not None:
                outs = tuple(r)
    if not retain_graph:
        node._release()
    if anomaly.state.enabled and anomaly.state.check_nan:
        _check_nan(node, outs)
    return outs

