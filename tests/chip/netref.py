"""Test helpers: random trinary networks and a numpy reference of the integer semantics.

The reference lives in the tests on purpose: tnpipe/chip knows nothing of layers, so the
chip is checked against an independent statement of LayerDescription's docstring:
    s = zero-padded conv of binary spikes with trinary weights (grouped, strided)
    spike = (s + leak >= 1)
"""

from __future__ import annotations

import numpy as np

from tnpipe.artifacts import describe_architecture
from tnpipe.netspec import parse_network


def random_description(text: str, input_shape=(3, 16, 16), num_classes: int = 10, seed: int = 0,
                       p_zero: float = 0.4, leak_range: tuple[int, int] = (-6, 4)):
    """A NetworkDescription of `text` with random trinary weights and leaks.

    Leaks are drawn near 0 so that a fair share of neurons fire and a fair share do not
    (all-silent or all-firing layers would let a broken chip pass)."""
    rng = np.random.default_rng(seed)
    desc = describe_architecture(parse_network(text, input_shape, num_classes))
    for layer in desc.layers:
        shape = (layer.out_channels, layer.in_channels // layer.groups, layer.kernel, layer.kernel)
        p = [(1 - p_zero) / 2, p_zero, (1 - p_zero) / 2]
        layer.weights = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=shape, p=p)
        layer.leak = rng.integers(leak_range[0], leak_range[1] + 1, size=layer.out_channels).astype(np.int16)
    return desc


def random_spikes(desc, n: int, seed: int = 1, p: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, *desc.input_shape)) < p).astype(np.uint8)


def layer_forward(layer, x: np.ndarray) -> np.ndarray:
    """(N, C_in, H, W) {0,1} -> (N, C_out, oh, ow) {0,1}, exactly the docstring's sums."""
    n, cin, h, w = x.shape
    k, s, p, g = layer.kernel, layer.stride, layer.padding, layer.groups
    oh, ow = layer.out_hw
    xp = np.zeros((n, cin, h + 2 * p, w + 2 * p), dtype=np.int64)
    xp[:, :, p:p + h, p:p + w] = x
    cin_g, cout_g = cin // g, layer.out_channels // g
    out = np.zeros((n, layer.out_channels, oh, ow), dtype=np.int64)
    for gi in range(g):
        xg = xp[:, gi * cin_g:(gi + 1) * cin_g]
        wg = layer.weights[gi * cout_g:(gi + 1) * cout_g].astype(np.int64)   # (cout_g, cin_g, k, k)
        for dy in range(k):
            for dx in range(k):
                patch = xg[:, :, dy:dy + s * oh:s, dx:dx + s * ow:s]       # (n, cin_g, oh, ow)
                out[:, gi * cout_g:(gi + 1) * cout_g] += np.einsum("nchw,fc->nfhw", patch, wg[:, :, dy, dx])
    return (out + layer.leak.astype(np.int64)[None, :, None, None] >= 1).astype(np.uint8)


def forward(desc, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's spikes, input first: [x, layer1, ..., last]."""
    maps = [x.astype(np.uint8)]
    for layer in desc.layers:
        maps.append(layer_forward(layer, maps[-1]))
    return maps


def assert_signals_equal_reference(cm, prog, ref, signals: np.ndarray, frames: int) -> None:
    """Every used neuron's spike in every frame of a compiled engine (`signals`, frames x
    signals) equals the reference tick engine's recording (`ref`, run with record=True),
    each core read at the tick its frame reaches it."""
    rec, per = ref.recorded["spikes"], ref.recorded["frames_per_stream"]
    cores, neurons = np.nonzero(cm.used())
    tick = prog.core_tick[cores]
    for f in range(frames):
        b, fl = divmod(f, per)
        want = rec[fl + tick, cores, neurons, b]
        got = signals[f, prog.neuron_sig[cores, neurons]]
        assert (got == want).all(), f"frame {f}: {(got != want).sum()} neurons differ"
