"""NIR in: a NIR graph (from tnpipe, snnTorch, norse, ...) -> TrueNorth's NetworkDescription.

The graph must be a chain (docs/nir.md, "NIR in"):

    input -> off-chip part -> spiking node -> (Conv2d -> spiking node)+ -> read-out -> output

- off-chip part: Conv2d / Affine / Linear / Scale nodes (real-valued, like Eedn's transduction
  layer): its first spiking node's output is the chip's binary input, computed off-chip;
- spiking node: IF (r = 1), LIF (tau = 0.1 ms, r = 1: one memoryless step per frame, see
  nir_export._neuron) or Threshold; z = [v > threshold];
- each on-chip Conv2d becomes one Eedn layer (S, N, P, P4 geometry), weights in {-1, 0, +1}
  (the mapper's two axon types), an integer bias; a block-diagonal dense Conv2d is read back
  as a grouped layer (groups are what make fan-in <= 128 possible);
- read-out: a Conv2d over the whole last map whose weight is one-hot over classes per feature
  (tnpipe's export), or SumPool2d -> Flatten -> Linear (tnpipe's format 1).

For an integer sum s + b, [s + b > theta] == [s + (b - floor(theta)) >= 1]: the chip's leak is
L = b + v_leak - floor(theta), per feature. Whatever breaks a rule is refused per node, one
line each, with the rule and the value (`refusals`); nothing is written for such a graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe.errors import MappingError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAX_ELEMENTS = 1 << 24          # per node: a declared shape larger than this is refused unread
TICK_S = 1e-4                   # LIF tau tnpipe exports (snnTorch's fixed step: beta = 0)
OFF_CHIP = ("Conv2d", "Affine", "Linear", "Scale")
SPIKING = ("IF", "LIF", "Threshold")
KNOWN = (*OFF_CHIP, *SPIKING, "Input", "Output", "SumPool2d", "Flatten")


class NirRefused(MappingError):
    """A NIR graph that cannot go on the chip: one line per broken rule, each naming the node."""

    def __init__(self, path: Path, lines: list[str]):
        self.lines = [f"{path}: {line}" for line in lines]
        super().__init__("\n".join(self.lines))


@dataclass
class ImportedLayer:
    node: str                  # the Conv2d's node name
    kind: str                  # S, N, P, P4
    weight: np.ndarray         # int8 (C_out, C_in/groups, k, k)
    groups: int
    leak: np.ndarray           # int64 (C_out,)
    padding: int


@dataclass
class ImportedGraph:
    """A NIR graph split at its first spiking node: off-chip prefix, then on-chip layers."""

    graph: Any
    order: list[str]                           # the chain, input first
    chip_input: str                            # the first spiking node (its output = chip input)
    input_shape: tuple[int, int, int]          # the graph's input (C, H, W)
    spike_shape: tuple[int, int, int]          # the chip's input (C, H, W)
    layers: list[ImportedLayer]
    class_of_feature: np.ndarray
    num_classes: int


def read_graph(path: Path):
    """nir.read after the checks a file can fail before parsing: present, HDF5."""
    import inspect

    import nir

    if "type_check" not in inspect.signature(nir.read).parameters:   # nir < 1.0.7 type-checks on read
        raise MappingError(f"nir {getattr(nir, '__version__', '< 1.0.7')} is installed; reading a graph to "
                           "check it node by node needs nir >= 1.0.7 (pip install -U nir)")
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"{path}: no such file; expected a NIR graph (.nir, HDF5)")
    with open(path, "rb") as f:
        if f.read(8) != HDF5_MAGIC:
            raise MappingError(f"{path}: not an HDF5 file; expected a NIR graph written by nir.write")
    try:
        return nir.read(str(path), type_check=False)
    except Exception as e:   # nir raises KeyError/TypeError/ValueError on malformed groups
        raise MappingError(f"{path}: not a readable NIR graph ({e.__class__.__name__}: {e})") from e


def chain_order(graph, path: Path) -> list[str]:
    """The nodes in order from `input` to `output`; refuses cycles, branches and strays."""
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    bad = [f"node {n}: type {k} is unknown here; expected one of {', '.join(KNOWN)}"
           for n, k in kinds.items() if k not in KNOWN]
    if bad:
        raise NirRefused(path, bad)
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    pred: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for a, b in graph.edges:
        if a not in succ or b not in succ:
            raise NirRefused(path, [f"edge {a} -> {b}: names a node that is not in the graph"])
        succ[a].append(b)
        pred[b].append(a)
    on_cycle = _cycle(succ)
    if on_cycle:
        raise NirRefused(path, [f"node {on_cycle[0]}: on a cycle ({' -> '.join([*on_cycle, on_cycle[0]])}); "
                                "expected a feed-forward chain"])
    for n in graph.nodes:
        if len(succ[n]) > 1 or len(pred[n]) > 1:
            raise NirRefused(path, [f"node {n}: {len(pred[n])} inputs and {len(succ[n])} outputs; "
                                    "expected a chain (one each)"])
    starts = [n for n in graph.nodes if kinds[n] == "Input"]
    if len(starts) != 1:
        raise NirRefused(path, [f"graph: {len(starts)} Input nodes; expected 1"])
    order, seen = [starts[0]], {starts[0]}
    while succ[order[-1]]:
        nxt = succ[order[-1]][0]
        if nxt in seen:
            raise NirRefused(path, [f"node {nxt}: on a cycle ({order[-1]} -> {nxt}); expected a feed-forward chain"])
        order.append(nxt)
        seen.add(nxt)
    if kinds[order[-1]] != "Output":
        raise NirRefused(path, [f"node {order[-1]}: the chain from {starts[0]} ends here; expected an Output node"])
    stray = [n for n in graph.nodes if n not in seen]
    if stray:
        raise NirRefused(path, [f"node {stray[0]}: not on the chain from {starts[0]} to {order[-1]}"])
    return order


def _cycle(succ: dict[str, list[str]]) -> list[str]:
    """The nodes of one cycle in edge order, or [] for an acyclic graph."""
    state: dict[str, int] = {}          # 1 = on the current path, 2 = done

    def visit(n: str, stack: list[str]) -> list[str]:
        state[n] = 1
        stack.append(n)
        for m in succ[n]:
            if state.get(m) == 1:
                return stack[stack.index(m):]
            if m not in state and (found := visit(m, stack)):
                return found
        state[n] = 2
        stack.pop()
        return []

    for n in succ:
        if n not in state and (found := visit(n, [])):
            return found
    return []


def _pair(v) -> tuple[int, int]:
    a = np.broadcast_to(np.asarray(v).reshape(-1), (2,))
    return int(a[0]), int(a[1])


def node_shapes(graph, order: list[str], path: Path) -> dict[str, tuple[int, ...]]:
    """Each node's output shape, propagated from the Input's declared shape; refuses a huge
    declared shape and shapes that do not chain, naming the node."""
    first = graph.nodes[order[0]]
    shape = tuple(int(v) for v in np.asarray(next(iter(first.input_type.values()))).reshape(-1))
    if len(shape) != 3 or min(shape) < 1 or np.prod(shape, dtype=np.float64) > MAX_ELEMENTS:
        raise NirRefused(path, [f"node {order[0]}: declared shape {shape}; expected (C, H, W) with at most "
                                f"{MAX_ELEMENTS:,} elements"])
    shapes = {order[0]: shape}
    for prev, name in zip(order, order[1:], strict=False):
        shape = _out_shape(graph.nodes[name], shapes[prev], name, prev)
        if np.prod(shape, dtype=np.float64) > MAX_ELEMENTS:
            raise NirRefused(path, [f"node {name}: shape {shape} has more than {MAX_ELEMENTS:,} elements"])
        shapes[name] = shape
    return shapes


def _out_shape(node, shape: tuple[int, ...], name: str, prev: str) -> tuple[int, ...]:
    kind = type(node).__name__
    fail = lambda what: NirRefused(Path("<graph>"), [f"node {name}: {what}"])   # noqa: E731
    if kind == "Conv2d":
        w = np.asarray(node.weight)
        groups = int(node.groups)
        if w.ndim != 4 or len(shape) != 3 or w.shape[1] * groups != shape[0]:
            raise fail(f"takes {w.shape[1] * groups if w.ndim == 4 else '?'} input channels; "
                       f"node {prev} gives shape {shape}")
        (sy, sx), (dy, dx) = _pair(node.stride), _pair(node.dilation)
        if isinstance(node.padding, str):
            raise fail(f"padding {node.padding!r}; expected numbers")
        (py, px) = _pair(node.padding)
        h = (shape[1] + 2 * py - dy * (w.shape[2] - 1) - 1) // sy + 1
        ww = (shape[2] + 2 * px - dx * (w.shape[3] - 1) - 1) // sx + 1
        if h < 1 or ww < 1:
            raise fail(f"a {w.shape[2]}x{w.shape[3]} kernel does not fit input {shape}")
        return (w.shape[0], h, ww)
    if kind in ("Affine", "Linear"):
        w = np.asarray(node.weight)
        if w.ndim != 2 or (w.shape[1],) != tuple(shape):
            raise fail(f"weight {w.shape} takes ({w.shape[-1]},); node {prev} gives shape {shape}")
        return (w.shape[0],)
    if kind == "SumPool2d":
        (ky, kx), (sy, sx), (py, px) = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
        return (shape[0], (shape[1] + 2 * py - ky) // sy + 1, (shape[2] + 2 * px - kx) // sx + 1)
    if kind == "Flatten":
        return (int(np.prod(shape)),)
    if kind in (*SPIKING, "Scale"):
        field = {"IF": "v_threshold", "LIF": "v_threshold", "Threshold": "threshold", "Scale": "scale"}[kind]
        got = np.asarray(getattr(node, field)).shape
        if got not in (tuple(shape), ()) and int(np.prod(got)) != int(np.prod(shape)):
            raise fail(f"{field} has shape {got}; node {prev} gives shape {shape}")
        return tuple(shape)
    return tuple(shape)                                       # Output


def _first_value(bad: np.ndarray, values: np.ndarray) -> str:
    return f"{float(np.asarray(values).reshape(-1)[np.flatnonzero(np.asarray(bad).reshape(-1))[0]]):g}"


def recover_groups(w: np.ndarray) -> int:
    """The most groups g (dividing C_in and C_out) for which w is block-diagonal."""
    c_out, c_in = w.shape[:2]
    linked = np.asarray(w).reshape(c_out, c_in, -1).any(axis=2)      # (C_out, C_in): any tap nonzero
    for g in range(min(c_out, c_in), 1, -1):
        if c_out % g or c_in % g:
            continue
        blocks = linked.reshape(g, c_out // g, g, c_in // g).any(axis=(1, 3))   # (g, g)
        if not (blocks & ~np.eye(g, dtype=bool)).any():
            return g
    return 1


def _neuron_leak(node, name: str, shape: tuple[int, int, int], problems: list[str]) -> np.ndarray | None:
    """Per-feature (v_leak - floor(theta)) of a spiking node; the refusals appended."""
    kind = type(node).__name__
    c = shape[0]
    raw = np.asarray(node.threshold if kind == "Threshold" else node.v_threshold, np.float64)
    theta = np.broadcast_to(raw.reshape(shape) if raw.size == int(np.prod(shape)) else raw, shape)
    n0 = len(problems)
    if kind in ("IF", "LIF"):
        r = np.asarray(node.r, np.float64)
        if not np.all(r == 1):
            problems.append(f"node {name}: r {_first_value(r != 1, np.broadcast_to(r, shape))} is not 1 "
                            "(the chip adds synaptic weights unscaled)")
    v_leak = np.zeros(shape)
    if kind == "LIF":
        tau = np.asarray(node.tau, np.float64)
        off = ~np.isclose(np.broadcast_to(tau, shape), TICK_S, rtol=1e-6, atol=0)   # stored as float32
        if off.any():
            problems.append(f"node {name}: leak tau {float(np.broadcast_to(tau, shape)[off][0]) * 1e3:g} ms has no "
                            f"TrueNorth equivalent (a frame is one memoryless tick: tau = {TICK_S * 1e3:g} ms, "
                            "one Euler step of dt = tau)")
        v_leak = np.broadcast_to(np.asarray(node.v_leak, np.float64), shape)
        if not np.all(v_leak == np.round(v_leak)):
            problems.append(f"node {name}: v_leak {_first_value(v_leak != np.round(v_leak), v_leak)} "
                            "is not an integer")
    if not np.all(np.isfinite(theta)):
        problems.append(f"node {name}: threshold {_first_value(~np.isfinite(theta), theta)} is not finite")
        return None
    per = theta.reshape(c, -1)
    if not np.all(per == per[:, :1]) or not np.all(v_leak.reshape(c, -1) == v_leak.reshape(c, -1)[:, :1]):
        ch = int(np.flatnonzero(~np.all(per == per[:, :1], axis=1))[0]) if not np.all(per == per[:, :1]) else 0
        problems.append(f"node {name}: threshold or v_leak differs across positions of feature {ch}; "
                        "a core neuron's leak is one per feature")
    if len(problems) > n0:
        return None
    return v_leak.reshape(c, -1)[:, 0] - np.floor(per[:, 0])


def _chip_layer(conv, name: str, in_shape, out_shape, neuron_leak, problems: list[str],
                padding_mode: list[str]) -> ImportedLayer | None:
    from tnpipe.corespec import TRUENORTH
    from tnpipe.netspec import GEOMETRY

    n0 = len(problems)
    w = np.asarray(conv.weight, np.float64)
    b = np.broadcast_to(np.asarray(conv.bias, np.float64), (w.shape[0],))
    if not np.all(w == np.round(w)):
        problems.append(f"node {name}: weight {_first_value(w != np.round(w), w)} is not an integer")
    elif not np.isin(w, (-1, 0, 1)).all():
        problems.append(f"node {name}: weight {_first_value(~np.isin(w, (-1, 0, 1)), w)} is not in "
                        "{-1, 0, +1} (the mapper's two axon types carry +1 and -1)")
    if not np.all(b == np.round(b)):
        problems.append(f"node {name}: bias {_first_value(b != np.round(b), b)} is not an integer leak")
    k, s, d = w.shape[2], _pair(conv.stride), _pair(conv.dilation)
    p = _pair(conv.padding)
    kind = next((kd for kd, (kk, ss, pp) in GEOMETRY.items()
                 if w.shape[2] == w.shape[3] == kk and s == (ss, ss) and d == (1, 1) and p[0] == p[1]
                 and p[0] in (pp, 0)), None)
    if kind is None:
        problems.append(f"node {name}: kernel {w.shape[2]}x{w.shape[3]}, stride {s}, padding {p}, dilation {d} "
                        "is not a layer the mapper knows (S 3x3/1/1, N 1x1/1/0, P 2x2/2/0, P4 4x4/2/1; "
                        "padding 0 for 'valid')")
    else:
        mode = "same" if p[0] == GEOMETRY[kind][2] else "valid"
        if GEOMETRY[kind][2] != 0:
            padding_mode.append(mode)
    groups = recover_groups(w) if w.shape[1] == in_shape[0] else int(conv.groups)
    if int(conv.groups) != 1 and w.shape[1] * int(conv.groups) == in_shape[0]:
        groups = int(conv.groups)
    fan_in = k * k * in_shape[0] // groups
    if fan_in > TRUENORTH.max_fan_in:
        problems.append(f"node {name}: fan-in {k}x{k}x{in_shape[0]}/{groups} = {fan_in} exceeds "
                        f"{TRUENORTH.max_fan_in} (one axon pair per trinary input)")
    if out_shape[0] // groups > TRUENORTH.neurons:
        problems.append(f"node {name}: {out_shape[0] // groups} features per group exceed "
                        f"{TRUENORTH.neurons} neurons per core")
    if len(problems) > n0 or neuron_leak is None:
        return None
    if int(conv.groups) == 1 and groups > 1:          # dense block-diagonal -> grouped weights
        po, pi = w.shape[0] // groups, w.shape[1] // groups
        w = np.concatenate([w[g * po:(g + 1) * po, g * pi:(g + 1) * pi] for g in range(groups)])
    return ImportedLayer(name, kind, w.astype(np.int8), groups, (b + neuron_leak).astype(np.int64), p[0])


def _read_out(graph, tail: list[str], shapes, path: Path, problems: list[str]):
    """(class_of_feature, num_classes) from the nodes after the last spiking node."""
    kinds = [type(graph.nodes[n]).__name__ for n in tail]
    if kinds[:1] == ["Conv2d"] and kinds[1:] == ["Output"]:
        wt = np.asarray(graph.nodes[tail[0]].weight, np.float64)
        per_pos = wt.reshape(*wt.shape[:2], -1)
        ok = (np.isin(wt, (0, 1)).all() and np.all(per_pos == per_pos[:, :, :1])
              and np.all(per_pos[:, :, 0].sum(0) == 1) and not np.asarray(graph.nodes[tail[0]].bias).any())
        assign = per_pos[:, :, 0]
    elif kinds == ["SumPool2d", "Flatten", "Linear", "Output"]:
        assign = np.asarray(graph.nodes[tail[2]].weight, np.float64)
        ok = np.isin(assign, (0, 1)).all() and np.all(assign.sum(0) == 1)
    else:
        problems.append(f"node {tail[0]}: read-out {' -> '.join(kinds)}; expected a Conv2d over the whole last "
                        "map (one-hot class per feature) or SumPool2d -> Flatten -> Linear, then Output")
        return None, 0
    if not ok or (kinds[0] == "Conv2d" and tuple(shapes[tail[0]][1:]) != (1, 1)):
        problems.append(f"node {tail[0]}: the read-out is not a vote count (each feature must vote for "
                        "exactly one class, weight 1, at every position of the whole map, no bias)")
        return None, 0
    return assign.argmax(0).astype(np.int64), int(assign.shape[0])


def import_graph(path: Path) -> ImportedGraph:
    """Read and check a NIR graph against the chip's rules; NirRefused lists every broken rule."""
    path = Path(path)
    graph = read_graph(path)
    order = chain_order(graph, path)
    try:
        shapes = node_shapes(graph, order, path)
    except NirRefused as e:
        raise NirRefused(path, [line.split(": ", 1)[1] for line in e.lines]) from None
    kinds = [type(graph.nodes[n]).__name__ for n in order]
    spiking = [i for i, k in enumerate(kinds) if k in SPIKING]
    if not spiking:
        raise NirRefused(path, [f"graph: no spiking node (one of {', '.join(SPIKING)}); nothing to put on cores"])
    problems: list[str] = []
    for i in range(1, spiking[0]):
        if kinds[i] not in OFF_CHIP:
            problems.append(f"node {order[i]}: {kinds[i]} before the first spiking node; expected one of "
                            f"{', '.join(OFF_CHIP)} (the off-chip part)")
    layers: list[ImportedLayer] = []
    padding_mode: list[str] = []
    i = spiking[0] + 1
    while i < len(order) and kinds[i] == "Conv2d" and i + 1 < len(order) and kinds[i + 1] in SPIKING:
        conv, neuron = order[i], order[i + 1]
        if len(shapes[order[i - 1]]) != 3:
            problems.append(f"node {conv}: input shape {shapes[order[i - 1]]}; expected (C, H, W) spikes")
            break
        leak = _neuron_leak(graph.nodes[neuron], neuron, shapes[neuron], problems)
        layer = _chip_layer(graph.nodes[conv], conv, shapes[order[i - 1]], shapes[conv], leak, problems,
                            padding_mode)
        if layer is not None:
            layers.append(layer)
        i += 2
    if i == spiking[0] + 1:
        problems.append(f"node {order[i]}: {kinds[i]} after the first spiking node; expected an on-chip Conv2d "
                        "followed by a spiking node")
    cof, k = _read_out(graph, order[i:], shapes, path, problems)
    if len(set(padding_mode)) > 1:
        problems.append("graph: on-chip layers mix 'same' and 'valid' padding; the mapper takes one for all")
    if problems:
        raise NirRefused(path, problems)
    return ImportedGraph(graph, order, order[spiking[0]], shapes[order[0]], shapes[order[spiking[0]]],
                         layers, cof, k)


def description(imp: ImportedGraph):
    """The imported graph as tnpipe's NetworkDescription (the mapper's input). The off-chip
    part is described by its output only: an S layer of C features on an input of the
    chip input's size (the network string reads e.g. `S-8 N-32 P-32(2) N-16(2)`)."""
    from tnpipe.artifacts import LayerDescription, NetworkDescription
    from tnpipe.netspec import parse_network

    c, h, w = imp.spike_shape
    tokens = [f"S-{c}"] + [f"{ly.kind}-{ly.weight.shape[0]}" + (f"({ly.groups})" if ly.groups > 1 else "")
                           for ly in imp.layers]
    padding = "valid" if any(ly.padding == 0 and ly.kind in ("S", "P4") for ly in imp.layers) else "same"
    spec = parse_network(" ".join(tokens), (imp.input_shape[0], h, w), imp.num_classes, padding=padding)
    layers = []
    for ls, ly in zip(spec.chip_layers, imp.layers, strict=True):
        # |s| <= fan_in: clamping L into [-fan_in, fan_in + 1] changes no spike and fits the 9-bit leak
        leak = np.clip(ly.leak, -ls.fan_in, ls.fan_in + 1).astype(np.int16)
        layers.append(LayerDescription(ls, ly.weight, leak))
    return NetworkDescription(spec, layers, imp.class_of_feature)


__all__ = ["ImportedGraph", "NirRefused", "chain_order", "description", "import_graph", "read_graph",
           "recover_groups"]
