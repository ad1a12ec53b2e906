"""NetworkDescription: the trained network as the chip sees it (`network.npz`).

Exported by `train`, read by the mapper and `deploy`. The layers' geometry is not stored
layer by layer: the header keeps the Eedn string, the multi-bit input shape and the class
count, and `load` parses the string once with `tnpipe.netspec.parse_network`, so the
geometry is the one `LayerSpec` the trainer built its model from. Only the integer arrays
(int8 trinary weights, int16 leaks, the read-out assignment) are stored beside it.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe.atomic import atomic_path
from tnpipe.errors import ArtifactError, NetworkSpecError
from tnpipe.netspec import LayerSpec, NetworkSpec, parse_network

NETWORK_FORMAT = "tnpipe.NetworkDescription"
NETWORK_FORMAT_VERSION = 2   # 2: geometry parsed from the network string (1 stored it per layer)


@dataclass
class LayerDescription:
    """One on-chip layer in integer form: its parsed geometry plus weights and leaks.

    Exact semantics (hardware mode; the chip must reproduce it spike for spike):
        s[c_out, y, x] = sum over (c_in in group(c_out), dy, dx) of
                         weights[c_out, c_in - group_start, dy, dx] * spikes_in[c_in, y*stride+dy-padding, x*stride+dx-padding]
                         (positions outside the input contribute 0)
        spike_out[c_out, y, x] = 1  if  s + leak[c_out] >= 1  else 0
    i.e. a TrueNorth neuron with threshold 1, reset to 0 and a floor at 0, evaluated once
    per tick with no memory between frames.
    """

    spec: LayerSpec
    weights: np.ndarray | None = None   # int8 (C_out, C_in/groups, k, k), values in {-1, 0, +1}
    leak: np.ndarray | None = None      # int16 (C_out,), within the core's leak range

    # the geometry, read through from the one LayerSpec
    name = property(lambda self: self.spec.name)             # e.g. "L3 P-256(8)"
    kind = property(lambda self: self.spec.kind)             # S, N, P, P4
    in_channels = property(lambda self: self.spec.in_channels)
    out_channels = property(lambda self: self.spec.out_channels)
    groups = property(lambda self: self.spec.groups)
    kernel = property(lambda self: self.spec.kernel)
    stride = property(lambda self: self.spec.stride)
    padding = property(lambda self: self.spec.padding)
    in_hw = property(lambda self: self.spec.in_hw)
    out_hw = property(lambda self: self.spec.out_hw)
    fan_in = property(lambda self: self.spec.fan_in)

    def geometry(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "in_channels": self.in_channels,
                "out_channels": self.out_channels, "groups": self.groups, "kernel": self.kernel,
                "stride": self.stride, "padding": self.padding, "in_hw": list(self.in_hw),
                "out_hw": list(self.out_hw)}


@dataclass
class NetworkDescription:
    """The parsed network, its on-chip layers in order, and the vote read-out.

    `input_shape` is the (C, H, W) of the binary spike map the off-chip transduction layer
    produces; the last layer's feature c votes for class `class_of_feature[c]` at every
    position. Prediction = argmax of the votes, ties broken toward the lowest class index
    (numpy/torch argmax convention). Weights may be None for an architecture alone
    (`deploy --plan-only`).
    """

    spec: NetworkSpec
    layers: list[LayerDescription]
    class_of_feature: np.ndarray         # int64 (C_last,)

    @property
    def network(self) -> str:
        return self.spec.text

    @property
    def input_shape(self) -> tuple[int, int, int]:
        t = self.spec.transduction
        return (t.out_channels, *t.out_hw)

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    @property
    def has_weights(self) -> bool:
        return all(layer.weights is not None and layer.leak is not None for layer in self.layers)

    def votes(self, last_spikes: np.ndarray) -> np.ndarray:
        """(N, C_last, H, W) spikes of the last layer -> (N, num_classes) vote counts."""
        per_feature = last_spikes.reshape(last_spikes.shape[0], last_spikes.shape[1], -1).sum(-1)
        out = np.zeros((last_spikes.shape[0], self.num_classes), dtype=np.int64)
        np.add.at(out.T, self.class_of_feature, per_feature.T.astype(np.int64))
        return out

    def save(self, path: Path) -> None:
        header = {"format": NETWORK_FORMAT, "version": NETWORK_FORMAT_VERSION, "network": self.network,
                  "net_input_shape": list(self.spec.input_shape), "num_classes": self.num_classes}
        arrays: dict[str, np.ndarray] = {
            "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            "class_of_feature": self.class_of_feature.astype(np.int64),
        }
        for i, layer in enumerate(self.layers):
            if layer.weights is not None:
                arrays[f"w{i}"] = layer.weights.astype(np.int8)
            if layer.leak is not None:
                arrays[f"leak{i}"] = layer.leak.astype(np.int16)
        with atomic_path(Path(path)) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path: Path) -> NetworkDescription:
        path = Path(path)
        arrays = _read_npz(path)
        try:
            header = json.loads(arrays["header"].tobytes().decode())
        except (KeyError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ArtifactError(f"{path}: header missing or corrupt") from e
        if header.get("format") != NETWORK_FORMAT or header.get("version") != NETWORK_FORMAT_VERSION:
            raise ArtifactError(
                f"{path}: format {header.get('format')!r} version {header.get('version')!r}; "
                f"expected {NETWORK_FORMAT} version {NETWORK_FORMAT_VERSION} (re-run `tnpipe train --force`)"
            )
        from tnpipe.artifacts.common import fix_hint

        with fix_hint("train it again with `tnpipe train RECIPE --network NET --force`"):
            _check_header(header, str(path))
        try:
            spec = parse_network(header["network"], tuple(header["net_input_shape"]), int(header["num_classes"]))
        except (KeyError, TypeError, ValueError, NetworkSpecError) as e:
            raise ArtifactError(f"{path}: header does not describe a valid network ({e})") from e
        layers = [LayerDescription(s, arrays.get(f"w{i}"), arrays.get(f"leak{i}"))
                  for i, s in enumerate(spec.chip_layers)]
        with fix_hint("train it again with `tnpipe train RECIPE --network NET --force`"):
            for i, layer in enumerate(layers):
                _check_layer(layer, i, str(path))
        cof = arrays.get("class_of_feature")
        last = spec.chip_layers[-1].out_channels
        if cof is None or cof.dtype != np.int64 or cof.shape != (last,) or \
                (len(cof) and not 0 <= int(cof.min()) <= int(cof.max()) < spec.num_classes):
            found = "missing" if cof is None else f"{cof.dtype} {cof.shape}"
            raise ArtifactError(f"{path}: array 'class_of_feature' is {found}; expected int64 ({last},) of classes "
                                f"0..{spec.num_classes - 1} for the recorded network")
        return cls(spec, layers, cof)


def _check_header(header: Any, where: str) -> None:
    """The header's own fields, typed, before the network string is parsed."""
    from tnpipe.artifacts.common import check_number, check_text

    if not isinstance(header, dict):
        raise ArtifactError(f"{where}: header is {type(header).__name__}; expected a JSON object")
    check_text(header.get("network"), where, "network", max_len=4000)
    shape = header.get("net_input_shape")
    if not (isinstance(shape, list) and len(shape) == 3):
        raise ArtifactError(f"{where}: field 'net_input_shape' is {str(shape)[:40]}; expected [C, H, W]")
    for i, v in enumerate(shape):
        check_number(v, where, f"net_input_shape[{i}]", 1, 1 << 16, integer=True)
    check_number(header.get("num_classes"), where, "num_classes", 2, 1 << 16, integer=True)


def _check_layer(layer: LayerDescription, i: int, where: str) -> None:
    """Weights and leak of layer i: the shape the recorded network string gives, trinary
    int8 weights, int16 leaks within the core's leak range (TRUENORTH)."""
    from tnpipe.corespec import TRUENORTH

    s = layer.spec
    want = (s.out_channels, s.in_channels // s.groups, s.kernel, s.kernel)
    w, leak = layer.weights, layer.leak
    if (w is None) != (leak is None):
        raise ArtifactError(f"{where}: layer {i} ({s.name}) has {'w' if leak is None else 'leak'}{i} but not the other")
    if w is None:
        return
    if w.dtype != np.int8 or w.shape != want:
        raise ArtifactError(f"{where}: array 'w{i}' is {w.dtype} {w.shape}; the recorded network's {s.name} "
                            f"needs int8 {want}")
    if w.size and not (int(w.min()) >= -1 and int(w.max()) <= 1):
        raise ArtifactError(f"{where}: array 'w{i}' holds {int(w.min())}..{int(w.max())}; expected trinary -1, 0, +1")
    if leak.dtype != np.int16 or leak.shape != (s.out_channels,):
        raise ArtifactError(f"{where}: array 'leak{i}' is {leak.dtype} {leak.shape}; expected int16 ({s.out_channels},)")
    lo, hi = TRUENORTH.leak_min, TRUENORTH.leak_max
    if leak.size and not (lo <= int(leak.min()) and int(leak.max()) <= hi):
        raise ArtifactError(f"{where}: array 'leak{i}' holds {int(leak.min())}..{int(leak.max())}; "
                            f"expected {lo}..{hi} (the core's leak range)")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ArtifactError(f"{path}: network description not found; run `tnpipe train` first")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise ArtifactError(f"{path}: unreadable network description ({e.__class__.__name__}: {e})") from e


def describe_architecture(net: NetworkSpec, class_of_feature: np.ndarray | None = None) -> NetworkDescription:
    """A weightless NetworkDescription of a parsed network (its LayerSpecs, shared)."""
    if class_of_feature is None:
        class_of_feature = default_class_of_feature(net.chip_layers[-1].out_channels, net.num_classes)
    return NetworkDescription(net, [LayerDescription(s) for s in net.chip_layers], class_of_feature)


def default_class_of_feature(features: int, num_classes: int) -> np.ndarray:
    """Feature c votes for class c mod num_classes (equal populations when it divides)."""
    return np.arange(features, dtype=np.int64) % num_classes
