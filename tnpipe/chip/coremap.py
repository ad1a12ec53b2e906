"""The CoreMap artifact: a complete TrueNorth configuration, loadable on its own.

On disk (`results/<id>/<net>/`):
    coremap.npz   the arrays below (np.savez_compressed)
    coremap.json  header: format + version, the CoreSpec used, counts, timing, layer names,
                  cores per layer, and the sha256 of coremap.npz (a truncated or tampered
                  npz is refused with an ArtifactError before any array is trusted)

Per core c (n cores) and neuron j / axon i (256 each):
    crossbar      uint8 (n, 256, 32)  np.packbits of the 256x256 bit matrix w[i, j] along j
    axon_type     uint8 (n, 256)      G_i in 0..3 (Eedn: 0 = +1 axon, 1 = -1 axon)
    type_weight   int16 (n, 256, 4)   s_j^G, signed 9-bit
    leak          int16 (n, 256)      added to V every tick (Eedn's L; the sign is the value's)
    threshold     int32 (n, 256)      alpha: spike when V >= alpha
    reset_mode    uint8 (n, 256)      gamma: 0 normal (V = R), 1 linear (V -= alpha), 2 none
    reset_value   int32 (n, 256)      R
    neg_threshold int32 (n, 256)      beta >= 0: the floor is -beta
    neg_mode      uint8 (n, 256)      kappa: 1 saturate (V = -beta), 0 bounce (see simulator)
    target_core   int32 (n, 256)      core index, or UNUSED (-1) or OFF_CHIP (-2, output wiring)
    target_axon   int16 (n, 256)
    target_delay  uint8 (n, 256)      1..15 ticks
    core_chip, core_x, core_y  int32/int16 (n,)  placement on the chips' 64x64 meshes
    core_layer    int16 (n,)          index into header["layer_names"] (reports only)
    neuron_source int32 (n, 256)      which network value a neuron carries (-1: none); for
                                      tests and reports only, the simulator never reads it
    in_index, in_core, in_axon, in_delay   input wiring: external input index -> (core, axon)
    out_core, out_neuron, out_index        output wiring: (core, neuron) -> output (class vote)
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe.artifacts import read_json_object, sha256_file
from tnpipe.atomic import atomic_path, write_json
from tnpipe.corespec import TRUENORTH, CoreSpec
from tnpipe.errors import ArtifactError

COREMAP_FORMAT = "tnpipe.CoreMap"
COREMAP_VERSION = 1

UNUSED = -1      # target_core of a neuron that drives nothing (never evaluated)
OFF_CHIP = -2    # target_core of a neuron whose spike leaves the chip (output wiring)

RESET_NORMAL, RESET_LINEAR, RESET_NONE = 0, 1, 2
NEG_BOUNCE, NEG_SATURATE = 0, 1

# name -> (dtype, shape suffix after the core axis); None = not per-core
CORE_ARRAYS: dict[str, tuple[str, tuple[int, ...]]] = {
    "crossbar": ("uint8", (256, 32)),
    "axon_type": ("uint8", (256,)),
    "type_weight": ("int16", (256, 4)),
    "leak": ("int16", (256,)),
    "threshold": ("int32", (256,)),
    "reset_mode": ("uint8", (256,)),
    "reset_value": ("int32", (256,)),
    "neg_threshold": ("int32", (256,)),
    "neg_mode": ("uint8", (256,)),
    "target_core": ("int32", (256,)),
    "target_axon": ("int16", (256,)),
    "target_delay": ("uint8", (256,)),
    "neuron_source": ("int32", (256,)),
    "core_chip": ("int32", ()),
    "core_x": ("int16", ()),
    "core_y": ("int16", ()),
    "core_layer": ("int16", ()),
}
WIRING_ARRAYS: dict[str, str] = {
    "in_index": "int32", "in_core": "int32", "in_axon": "int16", "in_delay": "uint8",
    "out_core": "int32", "out_neuron": "int16", "out_index": "int32",
}


@dataclass
class CoreMap:
    """Every core's configuration plus the chip-level wiring (see the module docstring)."""

    arrays: dict[str, np.ndarray]
    n_inputs: int                      # external inputs (transduction spikes per frame)
    n_outputs: int                     # outputs (class votes)
    latency_ticks: int                 # a frame injected at tick t has its votes at tick t + latency
    layer_names: list[str]
    spec: CoreSpec = TRUENORTH
    chips: int = 1
    chip_grid: tuple[int, int] = (1, 1)    # chips laid out as (columns, rows)
    info: dict[str, Any] = field(default_factory=dict)   # cores_per_layer, network, ...

    # ---------------------------------------------------------------- accessors
    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays")
        if arrays is not None and name in arrays:
            return arrays[name]
        raise AttributeError(name)

    @property
    def n_cores(self) -> int:
        return int(self.arrays["crossbar"].shape[0])

    def crossbar_bits(self, cores: np.ndarray | slice | None = None) -> np.ndarray:
        """bool (n, 256 axons, 256 neurons) for the chosen cores (unpacked on demand)."""
        packed = self.arrays["crossbar"] if cores is None else self.arrays["crossbar"][cores]
        return np.unpackbits(packed, axis=-1, count=self.spec.neurons).astype(bool)

    def used(self) -> np.ndarray:
        """bool (n, 256): neurons that are evaluated (they drive an axon or an output)."""
        return self.arrays["target_core"] != UNUSED

    def chip_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Each core's chip position in the grid of chips: a snake over rows of chip_grid[0]
        chips, so that consecutive chips (consecutive layers) are always neighbours."""
        chip = self.arrays["core_chip"].astype(np.int64)
        cols = self.chip_grid[0]
        cy = chip // cols
        cx = np.where(cy % 2 == 1, cols - 1 - chip % cols, chip % cols)
        return cx, cy

    def global_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Core coordinates on the whole system mesh of chips."""
        cx, cy = self.chip_xy()
        return cx * self.spec.chip_width + self.arrays["core_x"], cy * self.spec.chip_height + self.arrays["core_y"]

    def route_cost(self) -> tuple[np.ndarray, np.ndarray]:
        """Per neuron: (hops, chip crossings) of its spike, dimension order x then y.

        hops = |dx| + |dy| on the system mesh (Manhattan: x-then-y routing is a shortest
        path); crossings = chip columns + chip rows passed. Off-chip and unused neurons: 0.
        """
        gx, gy = self.global_xy()
        cx, cy = self.chip_xy()
        tc = self.arrays["target_core"].astype(np.int64)
        on = tc >= 0
        t = np.where(on, tc, 0)
        hops = np.where(on, np.abs(gx[t] - gx[:, None]) + np.abs(gy[t] - gy[:, None]), 0)
        cross = np.where(on, np.abs(cx[t] - cx[:, None]) + np.abs(cy[t] - cy[:, None]), 0)
        return hops.astype(np.int64), cross.astype(np.int64)

    def cores_per_layer(self) -> dict[str, int]:
        counts = np.bincount(self.arrays["core_layer"].astype(np.int64), minlength=len(self.layer_names))
        return {name: int(n) for name, n in zip(self.layer_names, counts, strict=False) if n}

    def header(self) -> dict[str, Any]:
        return {
            "format": COREMAP_FORMAT,
            "version": COREMAP_VERSION,
            "spec": asdict(self.spec),
            "counts": {
                "cores": self.n_cores,
                "chips": self.chips,
                "inputs": self.n_inputs,
                "outputs": self.n_outputs,
                "used_neurons": int(self.used().sum()),
                "input_targets": int(len(self.arrays["in_index"])),
                "output_wires": int(len(self.arrays["out_index"])),
            },
            "chip_grid": list(self.chip_grid),
            "latency_ticks": self.latency_ticks,
            "layer_names": list(self.layer_names),
            "cores_per_layer": self.cores_per_layer(),
            "info": self.info,
        }

    # ---------------------------------------------------------------- disk
    def save(self, folder: Path) -> tuple[Path, Path]:
        """Write coremap.npz then coremap.json (the header carries the npz's sha256, so a
        crash between the two leaves a header that does not verify: never a silent mix)."""
        folder = Path(folder)
        npz, js = folder / "coremap.npz", folder / "coremap.json"
        with atomic_path(npz) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **self.arrays)
        header = self.header()
        header["npz_sha256"] = sha256_file(npz)
        write_json(js, header)
        return npz, js

    @classmethod
    def load(cls, folder: Path, spec: CoreSpec = TRUENORTH) -> CoreMap:
        """Read and verify a map; `spec` is the chip's own rules. The header's copy of them
        must equal `spec`: a file cannot widen the limits it is validated against."""
        folder = Path(folder)
        npz, js = folder / "coremap.npz", folder / "coremap.json"
        if not js.is_file():
            raise ArtifactError(f"{js}: core map header not found; run `tnpipe deploy` to create it")
        header = read_json_object(js, "CoreMap header")
        if header.get("format") != COREMAP_FORMAT or header.get("version") != COREMAP_VERSION:
            found = f"{header.get('format')} version {header.get('version')}"
            raise ArtifactError(f"{js}: format {found}; expected {COREMAP_FORMAT} version {COREMAP_VERSION} "
                                "(re-run `tnpipe deploy --force`)")
        if not npz.is_file():
            raise ArtifactError(f"{npz}: core map arrays not found beside {js.name}")
        digest = sha256_file(npz)
        if digest != header.get("npz_sha256"):
            raise ArtifactError(
                f"{npz}: sha256 {digest[:12]}... differs from {js.name} ({str(header.get('npz_sha256'))[:12]}...): "
                "truncated or modified; re-run `tnpipe deploy --force`"
            )
        try:
            with np.load(npz, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            raise ArtifactError(f"{npz}: unreadable ({e.__class__.__name__}: {e})") from e
        from tnpipe.artifacts.common import fix_hint

        with fix_hint("map it again with `tnpipe deploy RUN_DIR --force`"):
            check_header(header, spec, str(js))
        try:
            cm = cls(arrays=arrays, n_inputs=int(header["counts"]["inputs"]),
                     n_outputs=int(header["counts"]["outputs"]), latency_ticks=int(header["latency_ticks"]),
                     layer_names=list(header["layer_names"]), spec=spec, chips=int(header["counts"]["chips"]),
                     chip_grid=tuple(header["chip_grid"]), info=dict(header.get("info", {})))
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"{js}: header field missing or malformed ({e.__class__.__name__}: {e})") from e
        check_shapes(cm, str(npz))
        if cm.n_cores != header["counts"]["cores"]:
            raise ArtifactError(f"{js}: counts.cores is {header['counts']['cores']}; {npz.name} holds {cm.n_cores}")
        return cm


def check_header(header: dict[str, Any], spec: CoreSpec, where: str) -> None:
    """The header's fields as the chip and the arrays allow: its spec is the chip's own,
    counts are non-negative integers, layer names plain text (one line naming the field)."""
    from tnpipe.artifacts.common import check_number, check_text

    if header.get("spec") != asdict(spec):
        theirs = header.get("spec") if isinstance(header.get("spec"), dict) else {}
        diff = [f"{k} {theirs.get(k)!r} (chip: {v!r})" for k, v in asdict(spec).items() if theirs.get(k) != v]
        raise ArtifactError(f"{where}: field 'spec' differs from the chip's own rules: {', '.join(diff[:3]) or 'malformed'}; "
                            "a map is checked against the chip, never against limits its own file states")
    counts = header.get("counts")
    if not isinstance(counts, dict):
        raise ArtifactError(f"{where}: field 'counts' missing or not an object")
    for key in ("inputs", "outputs", "chips", "cores"):
        check_number(counts.get(key), where, f"counts.{key}", 1, 1 << 24, integer=True)
    check_number(header.get("latency_ticks"), where, "latency_ticks", 0, 1 << 20, integer=True)
    grid = header.get("chip_grid")
    if not (isinstance(grid, list) and len(grid) == 2):
        raise ArtifactError(f"{where}: field 'chip_grid' is {str(grid)[:40]}; expected [columns, rows]")
    for i, g in enumerate(grid):
        check_number(g, where, f"chip_grid[{i}]", 1, 1 << 12, integer=True)
    if grid[0] * grid[1] < counts["chips"]:
        raise ArtifactError(f"{where}: chip_grid {grid} holds fewer than its {counts['chips']} chips")
    names = header.get("layer_names")
    if not isinstance(names, list):
        raise ArtifactError(f"{where}: field 'layer_names' missing or not a list")
    for n in names:
        check_text(n, where, "layer_names")


def check_shapes(cm: CoreMap, where: str) -> None:
    """Every array present, with the dtype and shape the format promises."""
    n = None
    for name, (dtype, suffix) in CORE_ARRAYS.items():
        a = cm.arrays.get(name)
        if a is None:
            raise ArtifactError(f"{where}: array {name!r} missing")
        if n is None:
            n = a.shape[0] if a.ndim else -1
        if a.dtype != np.dtype(dtype) or a.shape != (n, *suffix):
            raise ArtifactError(f"{where}: array {name!r} is {a.dtype} {a.shape}; expected {dtype} {(n, *suffix)}")
    for name, dtype in WIRING_ARRAYS.items():
        a = cm.arrays.get(name)
        if a is None:
            raise ArtifactError(f"{where}: array {name!r} missing")
        if a.dtype != np.dtype(dtype) or a.ndim != 1:
            raise ArtifactError(f"{where}: array {name!r} is {a.dtype} {a.shape}; expected 1-D {dtype}")
    for group in (("in_index", "in_core", "in_axon", "in_delay"), ("out_core", "out_neuron", "out_index")):
        lens = {len(cm.arrays[g]) for g in group}
        if len(lens) != 1:
            raise ArtifactError(f"{where}: wiring arrays {group} differ in length {sorted(lens)}")
    layer = cm.arrays["core_layer"]
    if len(layer) and not 0 <= int(layer.min()) <= int(layer.max()) < len(cm.layer_names):
        raise ArtifactError(f"{where}: array 'core_layer' holds {int(layer.min())}..{int(layer.max())}; the header "
                            f"lists {len(cm.layer_names)} layer names")


def empty_arrays(n_cores: int, n_in_wires: int = 0, n_out_wires: int = 0) -> dict[str, np.ndarray]:
    """Arrays for n cores, every neuron unused, every crossbar empty, wiring zero-length."""
    out: dict[str, np.ndarray] = {}
    for name, (dtype, suffix) in CORE_ARRAYS.items():
        out[name] = np.zeros((n_cores, *suffix), dtype=dtype)
    out["target_core"][:] = UNUSED
    out["neuron_source"][:] = -1
    out["threshold"][:] = 1
    out["neg_mode"][:] = NEG_SATURATE
    for name, dtype in WIRING_ARRAYS.items():
        out[name] = np.zeros(n_in_wires if name.startswith("in_") else n_out_wires, dtype=dtype)
    return out
