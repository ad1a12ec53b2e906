"""Rows -> the report's one pandas DataFrame (raw values; columns.py formats them).

Every column is built here and nowhere else, so the rich table, report.md, report.csv and
report.png cannot disagree. The frame keeps Python objects (dtype object) so that each
value reaches the csv exactly as result.json holds it: an int stays 3901, a float keeps
its repr (5555.555555555556), a missing value is None (an empty csv cell), never NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from tnpipe.artifacts import Equivalence
from tnpipe.report.row import Row


def _paper(attr: str) -> Callable[[Row], Any]:
    return lambda r: None if r.paper is None else getattr(r.paper, attr)


def _equivalence(r: Row) -> Equivalence | None:
    return r.result.equivalence


def exact_label(r: Row) -> str:
    """The compact verdict of result.json's `equivalence` object (INTERFACES.md #1):
    "votes+spikes" (both compared and equal), "votes" (votes equal, no spike-level sample),
    "NO" (anything differed), "-" (no equivalence record: an older result, never "exact")."""
    eq = _equivalence(r)
    if eq is None:
        return "-"
    if not eq.exact:
        return "NO"
    return "votes+spikes" if int(eq.spike_frames or 0) > 0 else "votes"


def _eq(key: str) -> Callable[[Row], Any]:
    return lambda r: None if (eq := _equivalence(r)) is None else getattr(eq, key)


def _device(r: Row) -> str:
    return r.result.device


def _profile(r: Row) -> str:
    return r.result.energy_model.profile


def _res(key: str) -> Callable[[Row], Any]:
    return lambda r: getattr(r.result, key)


def _nb(key: str) -> Callable[[Row], Any]:
    """A NeuroBench metric of result.json's "neurobench" (None for results made before it)."""
    return lambda r: (r.result.neurobench or {}).get(key)


# key -> Row -> raw value, in csv column order
FIELDS: dict[str, Callable[[Row], Any]] = {
    "data": lambda r: r.data,
    "dataset": lambda r: r.dataset,
    "network": lambda r: r.network,
    "accuracy_chip": _res("accuracy_chip"),
    "accuracy_graph": _res("accuracy_graph"),
    "agreement": _res("agreement"),
    "exact": exact_label,
    "cores": _res("cores"),
    "chips": _res("chips"),
    "fps": _res("fps"),
    "mw": _res("mw"),
    "fps_per_w": _res("fps_per_w"),
    "uj_per_frame": _res("uj_per_frame"),
    "paper_row": lambda r: r.paper_label,
    "paper_accuracy": _paper("accuracy"),
    "paper_cores": _paper("cores"),
    "paper_fps": _paper("fps"),
    "paper_mw": _paper("mw"),
    "paper_fps_per_w": _paper("fps_per_w"),
    # csv-only provenance and detail (the tables stay readable)
    "accuracy_float": _res("accuracy_float"),
    "votes_exact": _eq("votes_exact"),
    "vote_frames": _eq("vote_frames"),
    "spikes_exact": _eq("spikes_exact"),
    "spike_frames": _eq("spike_frames"),
    "spikes_compared": _eq("spikes_compared"),
    "first_mismatch": _eq("first_mismatch"),
    "frames": _res("frames"),
    "latency_ticks": _res("latency_ticks"),
    "tick_hz": _res("tick_hz"),
    "energy_profile": _profile,
    "model_estimate": lambda r: True,
    "paper_uj_per_frame_derived": _paper("uj_per_frame"),
    "git_sha": _res("git_sha"),
    "result_date": _res("date"),
    "tnpipe_version": lambda r: r.result.versions.get("tnpipe", ""),
    "torch_version": lambda r: r.result.versions.get("torch", ""),
    "device": _device,
    "result": lambda r: str(r.path),
    # NeuroBench's names for the deployed network (--wide and csv)
    "nb_footprint_bytes": _nb("footprint_bytes"),
    "nb_connection_sparsity": _nb("connection_sparsity"),
    "nb_activation_sparsity": _nb("activation_sparsity"),
    "nb_synops_dense": _nb("synops_dense"),
    "nb_synops_effective": lambda r: None if (nb := r.result.neurobench) is None
    else nb["synops_effective_macs"] + nb["synops_effective_acs"],
}
# not report columns: what the renderers and pictures need to style and place a row
HIDDEN: dict[str, Callable[[Row], Any]] = {
    "synthetic": lambda r: r.synthetic,
    "stand_in": lambda r: r.stand_in,
    "like_for_like": lambda r: r.paper_like_for_like,
    "run_dir": lambda r: r.run_dir,
}


def to_frame(rows: list[Row]) -> pd.DataFrame:
    """One row per result (in the rows' order), the FIELDS columns then the HIDDEN ones."""
    getters = {**FIELDS, **HIDDEN}
    records = [[get(r) for get in getters.values()] for r in rows]
    return pd.DataFrame(records, columns=list(getters), dtype=object)
