"""The deploy stage: a trained run -> CoreMap -> simulated chip -> RunResult.

    run_dir/network.npz + checkpoint.pt + train.json   (from `tnpipe train`)
      -> map_network -> validate_coremap -> coremap.npz + coremap.json -> read back (or --coremap)
      -> transduce the prepared test inputs (off-chip) -> simulate the loaded map
      -> accuracy on chip; equivalence with the trained network (votes, spikes, arg-max)
      -> energy/timing model (model estimates) -> result.json

`plan(recipe, network)` maps an architecture alone (`deploy --plan-only`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe.artifacts import (
    PreparedDataset,
    environment,
    load_result,
    read_json_object,
    save_result,
)
from tnpipe.errors import ArtifactError, MappingError

RESULT_NAME = "result.json"


def _fresh_result(run_dir: Path) -> dict[str, Any] | None:
    """The stored result when it is newer than network.npz and came from run_dir's own map."""
    res, net = run_dir / RESULT_NAME, run_dir / "network.npz"
    if not res.is_file() or not net.is_file() or res.stat().st_mtime < net.stat().st_mtime:
        return None
    try:
        old = load_result(res)
    except ArtifactError:
        return None
    return old if old.get("coremap", {}).get("folder") == str(run_dir) and "equivalence" in old else None


def _chip_cfg(run_dir: Path):
    """The [chip] section of the recipe the run was trained with (kept in its checkpoint);
    the defaults when the checkpoint has none."""
    from tnpipe.checkpoint import CHECKPOINT_NAME, load_checkpoint
    from tnpipe.chip.config import ChipCfg

    try:
        raw = load_checkpoint(run_dir / CHECKPOINT_NAME).get("recipe", {}).get("chip", {}) or {}
    except (ArtifactError, OSError):
        raw = {}
    known = {k: v for k, v in raw.items() if k in ChipCfg.__dataclass_fields__}
    return ChipCfg(**known)


def floorplan(cm, core_spikes: np.ndarray) -> dict[str, Any]:
    return {
        "width": cm.spec.chip_width, "height": cm.spec.chip_height, "chips": cm.chips,
        "layer_names": list(cm.layer_names),
        "core_chip": cm.arrays["core_chip"].astype(int).tolist(),
        "core_x": cm.arrays["core_x"].astype(int).tolist(),
        "core_y": cm.arrays["core_y"].astype(int).tolist(),
        "core_layer": cm.arrays["core_layer"].astype(int).tolist(),
        "core_spikes_per_frame": [round(float(v), 3) for v in core_spikes],
    }


def deploy(run_dir: Path, frames: int | None = None, tick_hz: float | None = None,
           device: str = "cpu", force: bool = False, coremap: Path | None = None,
           spike_frames: int | str | None = 32) -> dict:
    """Map, validate, simulate and measure one trained run; write coremap + result.json.

    The map is written, read back from disk (sha256 checked) and only the loaded map is
    simulated; coremap: a folder with coremap.npz + coremap.json to simulate instead of
    mapping afresh (never skipped). result.json's "equivalence" says whether the chip
    equals the trained network (votes of every frame, every spike on `spike_frames`
    frames: a number or "all"); it is written even when not.

    Skips (returns the stored RunResult) when a valid result.json newer than network.npz
    exists, unless force. frames: test frames to simulate (None or 0: the recipe's
    chip.frames, else all). tick_hz: fixed tick rate (None or 0: the recipe's chip.tick_hz,
    else the profile's tick model). The energy profile is the recipe's chip.profile."""
    from tnpipe.chip.energy import energy_model_record, estimate, load_profile
    from tnpipe.deploy_chip import load_given, map_and_reload, parse_spike_frames, run_chip
    from tnpipe.nn.export import load_trained

    run_dir = Path(run_dir)
    spike_frames = parse_spike_frames(spike_frames)
    if not force and coremap is None:
        old = _fresh_result(run_dir)
        if old is not None:
            old["skipped"] = True
            return old
    t0 = time.perf_counter()
    net = load_trained(run_dir, device=device)
    meta = net.meta
    for key in ("dataset", "network", "synthetic", "prepared_dir"):
        if key not in meta:
            raise ArtifactError(f"{run_dir / 'train.json'}: key {key!r} missing; re-run `tnpipe train --force`")
    chip = _chip_cfg(run_dir)
    frames = frames if frames else (chip.frames or None)
    tick_hz = tick_hz if tick_hz else (chip.tick_hz or None)
    ds = PreparedDataset.load(Path(meta["prepared_dir"]))
    n = len(ds.y["test"]) if not frames else min(int(frames), len(ds.y["test"]))
    if n == 0:
        raise ArtifactError(f"{meta['prepared_dir']}: the test split is empty; nothing to run on the chip")
    x, y = ds.x["test"][:n], ds.y["test"][:n].astype(np.int64)

    desc = net.description
    cm = load_given(coremap, desc) if coremap is not None else map_and_reload(desc, run_dir, chip.placement)
    spikes = net.transduce(x)
    if spikes.shape[1:] != tuple(desc.input_shape):
        raise MappingError(f"transduction gives {spikes.shape[1:]} spikes per frame; the core map expects {desc.input_shape}")
    graph_votes = net.hardware_votes(spikes)
    chip_run = run_chip(cm, desc, spikes, graph_votes, device, spike_frames)
    sim, eq = chip_run.sim, chip_run.equivalence
    chip_pred = sim.votes.argmax(1)
    graph_pred = graph_votes.argmax(1)
    float_pred = net.predict_float(x)

    prof = load_profile(chip.profile)
    activity = {
        "sops": sim.sops_per_frame, "hops": sim.hops_per_frame, "crossings": sim.crossings_per_frame,
        "io_spikes": sim.input_packets_per_frame + sim.output_packets_per_frame,
        "busiest_core_sops": sim.busiest_core_sops,
    }
    est = estimate(activity, cm.n_cores, prof, tick_hz)
    map_dir = Path(coremap) if coremap is not None else run_dir
    env = environment()
    result = {
        "dataset": str(meta["dataset"]),
        "network": str(meta["network"]),
        "synthetic": bool(meta["synthetic"]),
        "stand_in": str(meta.get("stand_in", "")),   # real data standing in for the paper's ("" = none)
        "frames": int(n),
        "accuracy_chip": float((chip_pred == y).mean()),
        "accuracy_graph": float((graph_pred == y).mean()),
        "accuracy_float": float((float_pred == y).mean()),
        "agreement": float((chip_pred == graph_pred).mean()),
        "votes_identical": eq.votes_exact,
        "equivalence": eq.to_dict(),
        "coremap": {"folder": str(map_dir), "npz_sha256": read_json_object(map_dir / "coremap.json", "CoreMap header")["npz_sha256"]},
        "cores": int(cm.n_cores),
        "chips": int(cm.chips),
        "cores_per_layer": cm.cores_per_layer(),
        "latency_ticks": int(cm.latency_ticks),
        "tick_hz": float(est["tick_hz"]),
        "tick_source": est["tick_source"],
        "fps": float(est["fps"]),
        "synaptic_events_per_frame": float(sim.sops_per_frame),
        "spikes_per_frame": float(sim.spikes_per_frame),
        "hops_per_frame": float(sim.hops_per_frame),
        "chip_crossings_per_frame": float(sim.crossings_per_frame),
        "io_spikes_per_frame": float(activity["io_spikes"]),
        "busiest_core_sops_per_tick": float(sim.busiest_core_sops),
        "mw": float(est["mw"]),
        "fps_per_w": float(est["fps_per_w"]),
        "uj_per_frame": float(est["uj_per_frame"]),
        "energy_breakdown_uj_per_frame": est["breakdown_uj_per_frame"],
        "static_mw": float(est["static_mw"]),
        "energy_model": energy_model_record(prof),
        "simulator": chip_run.simulator,
        "git_sha": env["git_sha"],
        "versions": env["versions"],
        "date": env["date"],
        "seconds": time.perf_counter() - t0,
        "floorplan": floorplan(cm, sim.core_spikes_per_frame),
    }
    save_result(run_dir / RESULT_NAME, result)
    return result


def plan(recipe_path: Path, network: str, overrides: list[str] | tuple[str, ...] = ()):
    """Map a recipe's network architecture alone (no weights): returns the CoreMap."""
    from tnpipe.artifacts import describe_architecture
    from tnpipe.chip.mapper import map_network
    from tnpipe.data import get_dataset
    from tnpipe.netspec import parse_network
    from tnpipe.recipe import load_recipe

    recipe = load_recipe(Path(recipe_path), overrides)
    text = recipe.network(network)
    src = get_dataset(recipe.data.name)
    try:
        shape = tuple(src.input_shape(recipe.data))
    except NotImplementedError:
        shape = (3, 32, 32)
    spec = parse_network(text, shape, src.num_classes)
    return map_network(describe_architecture(spec), placement=recipe.chip.placement)
