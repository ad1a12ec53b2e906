"""Stage 3, `tnpipe deploy`: a trained run -> CoreMap -> simulated chip -> RunResult.

    run_dir/train.json + network.npz + checkpoint.pt   (from `tnpipe train`)
      -> [chip] settings: the recipe's as recorded in train.json, then `--set chip.X=...`
      -> map_network -> validate_coremap -> coremap.npz + coremap.json -> read back (sha256
         checked), or the map `--coremap FOLDER` names
      -> transduce the prepared test inputs (off-chip) -> simulate the loaded map
      -> accuracy on chip; equivalence with the trained network (tnpipe.verify: votes of
         every frame, every spike on a sample, arg-max agreement)
      -> energy/timing model (model estimates) -> result.json (with the chip settings used)

A result.json is reused only when it was made from the same network.npz (sha256), the same
training run, the same chip settings and frame count and the same spike sample
(`made_from`); a changed setting redoes the work, and so does a map given with --coremap. `plan(recipe, network)` maps an architecture alone (`deploy --plan-only`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tnpipe.artifacts import (
    Floorplan,
    MapSource,
    PreparedDataset,
    RunResult,
    describe_architecture,
    environment,
    load_result,
    read_json_object,
    save_result,
    sha256_file,
)
from tnpipe.artifacts.result import RESULT_NAME
from tnpipe.artifacts.training import TrainingRecord
from tnpipe.chip.config import ChipCfg
from tnpipe.chip.energy import energy_model_record, estimate
from tnpipe.chip.mapper import map_network
from tnpipe.chip.profile import ChipProfile, load_profile
from tnpipe.data import get_dataset
from tnpipe.deploy.on_chip import load_given, map_and_reload, parse_spike_frames, run_chip
from tnpipe.errors import ArtifactError, MappingError, RecipeError
from tnpipe.locks import hold, run_lock
from tnpipe.netspec import parse_network
from tnpipe.nn import trained
from tnpipe.recipe import load_recipe
from tnpipe.settings import check_values, overrides_for


@dataclass
class DeployOutcome:
    status: Literal["done", "reused"]
    path: Path                 # result.json
    record: RunResult
    seconds: float
    set_aside: Path | None = None   # where an earlier deployment with other settings was moved


DEPLOY_FILES = ("result.json", "coremap.npz", "coremap.json")


def keep_earlier(run_dir: Path, source: dict[str, Any], names: Sequence[str] = DEPLOY_FILES) -> Path | None:
    """An earlier deployment made from anything else (other chip settings, frames, sample,
    network) is moved into previous-deploy-TIME/, never overwritten; one made from the same
    (a --force redo) is replaced by its identical recomputation. `names`: what this deploy
    will write (with --coremap only result.json: the run folder's map stays)."""
    from tnpipe.aside import set_aside

    path = Path(run_dir) / RESULT_NAME
    if not path.is_file():
        return None
    try:
        same = load_result(path).made_from == source
    except ArtifactError:
        same = False   # unreadable: kept aside too, for whoever wants to look at it
    return None if same else set_aside(run_dir, names, "deploy")


def chip_settings(record: TrainingRecord, overrides: Sequence[str] = (), frames: int | None = None,
                  tick_hz: float | None = None) -> ChipCfg:
    """The recipe's [chip] as the run trained with it (the record's ChipCfg), then `--set chip.*`,
    then --frames/--tick-hz."""
    values = overrides_for("chip", overrides)
    if frames is not None:   # 0 = the whole test split, as in a recipe
        values["frames"] = int(frames)
    if tick_hz is not None:  # 0 = the profile's tick model, as in a recipe
        values["tick_hz"] = float(tick_hz)
    check_values(ChipCfg, values, "--set chip")
    try:
        return dataclasses.replace(record.chip, **values)
    except RecipeError as e:   # ChipCfg's own check of a value, e.g. an unknown placement
        raise RecipeError(f"--set chip: {e}") from e


def made_from(run_dir: Path, record: TrainingRecord, chip: ChipCfg,
              spike_frames: int | None = 32) -> dict[str, Any]:
    """What a result is computed from; equal -> the stored result is still the answer. The
    engine is left out: it changes the speed, never a vote or a spike (tests/chip)."""
    settings = {k: v for k, v in dataclasses.asdict(chip).items() if k != "engine"}
    return {"network_sha256": sha256_file(Path(run_dir) / "network.npz"), "run_key": record.run_key,
            "chip": settings, "spike_frames": spike_frames}


def _reusable(path: Path, source: dict[str, Any]) -> RunResult | None:
    try:
        old = load_result(path)
    except ArtifactError:
        return None
    return old if old.made_from == source else None


def floorplan(cm, core_spikes: np.ndarray) -> Floorplan:
    return Floorplan(
        width=cm.spec.chip_width, height=cm.spec.chip_height, chips=cm.chips,
        layer_names=list(cm.layer_names),
        core_chip=cm.arrays["core_chip"].astype(int).tolist(),
        core_x=cm.arrays["core_x"].astype(int).tolist(),
        core_y=cm.arrays["core_y"].astype(int).tolist(),
        core_layer=cm.arrays["core_layer"].astype(int).tolist(),
        core_spikes_per_frame=[round(float(v), 3) for v in core_spikes],
    )


def deploy(run_dir: Path, frames: int | None = None, tick_hz: float | None = None, device: str = "cpu",
           force: bool = False, overrides: Sequence[str] = (), coremap: Path | None = None,
           spike_frames: int | str | None = 32) -> DeployOutcome:
    """Map, validate, save, read back, simulate and measure one trained run; write
    coremap + result.json. Only the map as loaded from disk is simulated.

    frames / tick_hz override chip.frames / chip.tick_hz (None: the recipe's; 0, there as
    here, means all test frames / the profile's tick model). coremap: a folder with
    coremap.npz + coremap.json to simulate against the trained network instead of mapping
    afresh. spike_frames: frames whose every spike is compared with the network (a number or
    "all"). result.json's "equivalence" says whether the chip is the trained network; it is
    written either way. Reuses the stored result when it was made from the same network,
    run, chip settings and sample, unless force or coremap."""
    t0 = time.perf_counter()
    run_dir = Path(run_dir)
    spike_frames = parse_spike_frames(spike_frames)
    with hold(run_lock(run_dir), str(run_dir)):
        return _deploy_locked(run_dir, frames, tick_hz, device, force, overrides, coremap, spike_frames, t0)


def _deploy_locked(run_dir: Path, frames, tick_hz, device, force, overrides, coremap, spike_frames,
                   t0: float) -> DeployOutcome:
    record = trained.load_record(run_dir)
    chip = chip_settings(record, overrides, frames, tick_hz)
    source = made_from(run_dir, record, chip, spike_frames)
    old = None if force or coremap is not None else _reusable(run_dir / RESULT_NAME, source)
    if old is not None:
        return DeployOutcome("reused", run_dir / RESULT_NAME, old, time.perf_counter() - t0)
    moved = keep_earlier(run_dir, source, DEPLOY_FILES if coremap is None else (RESULT_NAME,))
    try:
        result = _simulate_run(run_dir, record, chip, device, coremap, spike_frames)
        result = dataclasses.replace(result, chip=dataclasses.asdict(chip), made_from=source,
                                     seconds=time.perf_counter() - t0)
        save_result(run_dir / RESULT_NAME, result)
    except BaseException:
        from tnpipe.aside import put_back

        put_back(moved, run_dir)   # a failed deploy leaves the earlier deployment where it was
        raise
    return DeployOutcome("done", run_dir / RESULT_NAME, result, time.perf_counter() - t0, moved)


def _test_frames(record: TrainingRecord, frames: int) -> tuple[np.ndarray, np.ndarray]:
    ds = PreparedDataset.load(Path(record.prepared_dir))
    n = len(ds.y["test"]) if not frames else min(int(frames), len(ds.y["test"]))
    if n == 0:
        raise ArtifactError(f"{record.prepared_dir}: the test split is empty; nothing to run on the chip")
    return ds.x["test"][:n], ds.y["test"][:n].astype(np.int64)


def _simulate_run(run_dir: Path, record: TrainingRecord, chip: ChipCfg, device: str,
                  coremap: Path | None, spike_frames: int | None) -> RunResult:
    prof = load_profile(chip.profile)   # the chip's limits and its energy/timing model, checked first
    net = trained.load_trained(run_dir, device=device)
    x, y = _test_frames(record, chip.frames)
    desc = net.description
    map_dir = Path(coremap) if coremap is not None else run_dir
    cm = (load_given(map_dir, desc, prof) if coremap is not None
          else map_and_reload(desc, run_dir, chip.placement, prof.spec))
    spikes = net.transduce(x)
    if spikes.shape[1:] != tuple(desc.input_shape):
        raise MappingError(f"transduction gives {spikes.shape[1:]} spikes per frame; the core map expects {desc.input_shape}")
    graph_votes = net.hardware_votes(spikes)
    chip_run = run_chip(cm, desc, spikes, graph_votes, device, spike_frames, chip.engine)
    sim, eq = chip_run.sim, chip_run.equivalence
    chip_pred, graph_pred = sim.votes.argmax(1), graph_votes.argmax(1)
    env = environment()
    return RunResult(
        dataset=record.dataset, network=record.network, synthetic=record.synthetic,
        stand_in=record.stand_in,   # real data standing in for the paper's ("" = none)
        frames=int(len(x)),
        accuracy_chip=float((chip_pred == y).mean()),
        accuracy_graph=float((graph_pred == y).mean()),
        accuracy_float=float((net.predict_float(x) == y).mean()),
        agreement=float((chip_pred == graph_pred).mean()),
        votes_identical=eq.votes_exact,
        equivalence=eq,
        coremap=MapSource(str(map_dir),
                          read_json_object(map_dir / "coremap.json", "CoreMap header")["npz_sha256"]),
        cores=int(cm.n_cores), chips=int(cm.chips), cores_per_layer=cm.cores_per_layer(),
        latency_ticks=int(cm.latency_ticks),
        simulator=chip_run.simulator,
        floorplan=floorplan(cm, sim.core_spikes_per_frame),
        **_measures(cm, sim, prof, chip.tick_hz),
        neurobench=_neurobench(net, x),
        git_sha=env["git_sha"], versions=env["versions"], date=env["date"],
    )


def _neurobench(net, x: np.ndarray) -> dict[str, Any] | None:
    """NeuroBench's metric names for the deployed network (tnpipe/nn/nb_metrics.py); None for
    a network without its torch model (the transduction weights live only there)."""
    if getattr(net, "model", None) is None:
        return None
    from tnpipe.nn.nb_metrics import neurobench_metrics

    return neurobench_metrics(net, x)


def _measures(cm, sim, prof: ChipProfile, tick_hz: float) -> dict[str, Any]:
    """Activity from the simulation and the energy/timing model's estimates."""
    activity = {"sops": sim.sops_per_frame, "hops": sim.hops_per_frame, "crossings": sim.crossings_per_frame,
                "io_spikes": sim.input_packets_per_frame + sim.output_packets_per_frame,
                "busiest_core_sops": sim.busiest_core_sops}
    est = estimate(activity, cm.n_cores, prof, tick_hz or None)
    return {
        "tick_hz": float(est["tick_hz"]), "tick_source": est["tick_source"], "fps": float(est["fps"]),
        "synaptic_events_per_frame": float(sim.sops_per_frame), "spikes_per_frame": float(sim.spikes_per_frame),
        "hops_per_frame": float(sim.hops_per_frame), "chip_crossings_per_frame": float(sim.crossings_per_frame),
        "io_spikes_per_frame": float(activity["io_spikes"]),
        "busiest_core_sops_per_tick": float(sim.busiest_core_sops),
        "mw": float(est["mw"]), "fps_per_w": float(est["fps_per_w"]), "uj_per_frame": float(est["uj_per_frame"]),
        "energy_breakdown_uj_per_frame": est["breakdown_uj_per_frame"], "static_mw": float(est["static_mw"]),
        "energy_model": energy_model_record(prof),
    }


def plan(recipe_path: Path, network: str, overrides: Sequence[str] = ()):
    """Map a recipe's network architecture alone (no weights): returns the CoreMap."""
    recipe = load_recipe(Path(recipe_path), overrides)
    text = recipe.network(network)
    src = get_dataset(recipe.data.name)
    limits = load_profile(recipe.chip.profile).spec
    spec = parse_network(text, tuple(src.input_shape(recipe.data)), src.num_classes, spec=limits)
    return map_network(describe_architecture(spec), spec=limits, placement=recipe.chip.placement)
