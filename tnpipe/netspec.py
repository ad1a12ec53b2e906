"""Eedn's network notation (Esser et al. 2016, Table 1), parsed and checked against the core.

A network is a string of space-separated layer tokens, e.g. the 1-chip CIFAR-10 network:

    S-16 P4-252(2) N-256(2) P-256(8) S-512(32) N-512(4) N-512(4) N-512(4) P-512(16)
    S-1024(64) N-1024(8) P-1024(32) N-1024(8) N-1024(8) N-2040(8)

    token        kernel  stride  padding   meaning
    S-F(g)       3x3     1       1 (same)  spatial filter, F features in g groups
    N-F(g)       1x1     1       0         network-in-network
    P-F(g)       2x2     2       0         convolutional pooling (learned, non-overlapping)
    P4-F(g)      4x4     2       1         pooling with overlap (halves the size)
    D            -       -       -         dropout (training only; no cores)

(g) is optional and defaults to 1. A leading `pad=valid` token (or parse_network's
`padding="valid"`) gives every on-chip layer padding 0 (32 -> 15 -> 13 -> ... instead of
32 -> 16 -> 16): the paper does not state its padding; "same" (the table above) is the
default. The transduction layer keeps its padding either way.

The FIRST layer is the transduction layer: it turns multi-bit input into spikes off-chip with real-valued weights, so TrueNorth's limits do not
apply to it. Every later layer is on-chip and must satisfy, per filter group:

    fan-in   = k * k * C_in / g  <= spec.max_fan_in (128: one axon pair per trinary input)
    features = C_out / g         <= spec.neurons    (256)

`parse_network` checks both when the network is built and fails with a one-line error that
names the layer, the value and the limit. Pure Python: the trainer, the mapper,
`deploy --plan-only` and NetworkDescription.load all share this one parser, and its
`LayerSpec` is the one geometry type of a layer everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tnpipe.corespec import TRUENORTH, CoreSpec
from tnpipe.errors import NetworkSpecError

# kind -> (kernel, stride, padding)
GEOMETRY: dict[str, tuple[int, int, int]] = {
    "S": (3, 1, 1),
    "N": (1, 1, 0),
    "P": (2, 2, 0),
    "P4": (4, 2, 1),
}
PADDINGS = ("same", "valid")
_TOKEN = re.compile(r"^(S|N|P4|P)-(\d+)(?:\((\d+)\))?$")


@dataclass(frozen=True)
class LayerSpec:
    """One convolutional layer with its geometry resolved for a given input."""

    index: int               # position among conv layers, 0 = transduction
    token: str               # as written, e.g. "P4-252(2)"
    kind: str                # S, N, P, P4
    in_channels: int
    out_channels: int
    groups: int
    kernel: int
    stride: int
    padding: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    dropout_before: bool = False  # a D token stood right before this layer

    @property
    def on_chip(self) -> bool:
        return self.index > 0

    @property
    def fan_in(self) -> int:
        """Trinary inputs per neuron: k*k*C_in/groups."""
        return self.kernel * self.kernel * self.in_channels // self.groups

    @property
    def features_per_group(self) -> int:
        return self.out_channels // self.groups

    @property
    def name(self) -> str:
        return f"L{self.index} {self.token}"


@dataclass(frozen=True)
class NetworkSpec:
    text: str
    input_shape: tuple[int, int, int]  # (C, H, W) of the multi-bit input
    layers: tuple[LayerSpec, ...]
    num_classes: int

    @property
    def transduction(self) -> LayerSpec:
        return self.layers[0]

    @property
    def chip_layers(self) -> tuple[LayerSpec, ...]:
        return self.layers[1:]

    @property
    def votes_per_class(self) -> float:
        last = self.layers[-1]
        return last.out_channels * last.out_hw[0] * last.out_hw[1] / self.num_classes


def _padding(tokens: list[str], padding: str) -> str:
    """The padding a leading `pad=...` token names (removed from tokens), else `padding`."""
    if tokens and tokens[0].startswith("pad="):
        padding = tokens.pop(0)[4:]
    if padding not in PADDINGS:
        raise NetworkSpecError(f"padding {padding!r} is unknown; expected one of {', '.join(PADDINGS)}")
    return padding


def parse_network(
    text: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    spec: CoreSpec = TRUENORTH,
    padding: str = "same",
) -> NetworkSpec:
    """Parse Eedn notation, resolve every layer's geometry and check the core limits."""
    tokens = text.split()
    padding = _padding(tokens, padding)
    if not tokens:
        raise NetworkSpecError("network spec is empty; expected e.g. 'S-16 P4-128(2) N-256(2)'")
    c, h, w = (int(v) for v in input_shape)
    layers: list[LayerSpec] = []
    pending_dropout = False
    for pos, tok in enumerate(tokens, start=1):
        if tok == "D":
            if not layers:
                raise NetworkSpecError(f"token {pos} 'D': dropout cannot come before the transduction layer")
            pending_dropout = True
            continue
        layer = _layer(pos, tok, len(layers), (c, h, w), pending_dropout, padding)
        if layer.on_chip:
            _check_core_limits(layer, spec)
        layers.append(layer)
        pending_dropout = False
        c, (h, w) = layer.out_channels, layer.out_hw
    if pending_dropout:
        raise NetworkSpecError("a trailing 'D' has no layer after it")
    if len(layers) < 2:
        raise NetworkSpecError(
            f"network {text!r} has {len(layers)} layer(s); expected a transduction layer and at least one on-chip layer"
        )
    if num_classes > layers[-1].out_channels:
        raise NetworkSpecError(
            f"last layer {layers[-1].token!r} has {layers[-1].out_channels} features, fewer than "
            f"the {num_classes} classes that must each get voters"
        )
    return NetworkSpec(text, (int(input_shape[0]), int(input_shape[1]), int(input_shape[2])), tuple(layers), num_classes)


def _layer(pos: int, tok: str, index: int, chw: tuple[int, int, int], dropout_before: bool,
           padding: str = "same") -> LayerSpec:
    """One conv token read against its input (C, H, W): the layer with its geometry resolved
    ("valid": padding 0 on chip)."""
    m = _TOKEN.match(tok)
    if not m:
        raise NetworkSpecError(
            f"token {pos} {tok!r}: unknown layer token; expected S-F, N-F, P-F, P4-F "
            "(optionally with '(groups)', e.g. 'N-256(2)') or D"
        )
    kind, features, groups = m.group(1), int(m.group(2)), int(m.group(3) or 1)
    k, s, p = GEOMETRY[kind]
    p = 0 if padding == "valid" and index > 0 else p
    c, h, w = chw
    label = f"layer {index} {tok!r}"
    if features < 1 or groups < 1:
        raise NetworkSpecError(f"{label}: features and groups must be >= 1")
    if index == 0 and groups != 1:
        raise NetworkSpecError(f"{label}: the transduction layer takes 1 group, got {groups}")
    if c % groups or features % groups:
        raise NetworkSpecError(
            f"{label}: groups={groups} must divide both input features ({c}) and output features ({features})"
        )
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    if oh < 1 or ow < 1:
        raise NetworkSpecError(f"{label}: input {h}x{w} is too small for a {k}x{k} stride-{s} layer")
    return LayerSpec(index, tok, kind, c, features, groups, k, s, p, (h, w), (oh, ow), dropout_before)


def _check_core_limits(layer: LayerSpec, spec: CoreSpec) -> None:
    """Fan-in and features per group of an on-chip layer against one core."""
    label = f"layer {layer.index} {layer.token!r}"
    k, c, groups = layer.kernel, layer.in_channels, layer.groups
    if layer.fan_in > spec.max_fan_in:
        raise NetworkSpecError(
            f"{label}: fan-in {k}x{k}x{c}/{groups} = {layer.fan_in} exceeds the limit of "
            f"{spec.max_fan_in} trinary inputs per core ({spec.axons} axons / 2); use more groups"
        )
    if layer.features_per_group > spec.neurons:
        raise NetworkSpecError(
            f"{label}: {layer.features_per_group} features per group exceeds the limit of "
            f"{spec.neurons} neurons per core; use more groups"
        )
