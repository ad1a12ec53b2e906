"""The hardware-mode graph in plain numpy, from the exported integer network alone.

LayerDescription's docstring is the whole contract: for every on-chip layer,
    s[c_out, y, x] = sum over the group's inputs and the k x k window (zero padding) of
                     weights * spikes_in,    spike_out = (s + leak[c_out] >= 1).
Values are enumerated as the CoreMap's `neuron_source` counts them: the input spike map
first, then each layer's output (channel, row, column), flattened in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tnpipe.artifacts import LayerDescription, NetworkDescription


def layer_spikes(layer: LayerDescription, x: np.ndarray) -> np.ndarray:
    """(N, C_in, H, W) {0,1} -> (N, C_out, oh, ow) uint8 {0,1}."""
    n, cin, h, w = x.shape
    k, s, p, g = layer.kernel, layer.stride, layer.padding, layer.groups
    oh, ow = layer.out_hw
    xp = np.zeros((n, cin, h + 2 * p, w + 2 * p), dtype=np.int32)
    xp[:, :, p:p + h, p:p + w] = x
    cin_g, cout_g = cin // g, layer.out_channels // g
    total = np.zeros((n, layer.out_channels, oh, ow), dtype=np.int32)
    weights = layer.weights.astype(np.int32)
    for gi in range(g):
        xg = xp[:, gi * cin_g:(gi + 1) * cin_g]
        wg = weights[gi * cout_g:(gi + 1) * cout_g]                          # (cout_g, cin_g, k, k)
        for dy in range(k):
            for dx in range(k):
                window = xg[:, :, dy:dy + s * (oh - 1) + 1:s, dx:dx + s * (ow - 1) + 1:s]   # (n, cin_g, oh, ow)
                total[:, gi * cout_g:(gi + 1) * cout_g] += np.einsum("nchw,fc->nfhw", window, wg[:, :, dy, dx])
    return (total + layer.leak.astype(np.int32)[None, :, None, None] >= 1).astype(np.uint8)


def forward(desc: NetworkDescription, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's spikes for frames x (N, C, H, W): [x, layer 1, ..., last layer]."""
    if not desc.has_weights:
        raise ValueError(f"network {desc.network!r} has no weights: nothing to compare the chip with")
    maps = [np.asarray(x, dtype=np.uint8)]
    for layer in desc.layers:
        maps.append(layer_spikes(layer, maps[-1]))
    return maps


@dataclass(frozen=True)
class ValueMap:
    """Where each flat value index lives: (name, (C, H, W), offset) per map, input first."""

    maps: tuple[tuple[str, tuple[int, int, int], int], ...]

    @classmethod
    def of(cls, desc: NetworkDescription) -> ValueMap:
        out, off = [("input", tuple(desc.input_shape), 0)], int(np.prod(desc.input_shape))
        for layer in desc.layers:
            shape = (layer.out_channels, *layer.out_hw)
            out.append((layer.name, shape, off))
            off += int(np.prod(shape))
        return cls(tuple(out))

    @property
    def size(self) -> int:
        name, shape, off = self.maps[-1]
        return off + int(np.prod(shape))

    def flat(self, maps: list[np.ndarray]) -> np.ndarray:
        """(N, size) uint8: every value of every frame in this enumeration."""
        return np.concatenate([m.reshape(m.shape[0], -1) for m in maps], axis=1)

    def describe(self, index: int) -> tuple[str, int, tuple[int, int]]:
        """(layer name, feature, (row, column)) of flat value `index`."""
        for name, (c, h, w), off in self.maps:
            if off <= index < off + c * h * w:
                f, rest = divmod(index - off, h * w)
                return name, int(f), divmod(int(rest), w)
        raise IndexError(f"value {index} is outside the network's {self.size} values")
