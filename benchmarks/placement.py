"""Placement benchmark: how many core-to-core connections cross chips, snake vs regions.

    nice -n 19 python benchmarks/placement.py [--recipe recipes/cifar10.toml] [2chip 4chip 8chip]

Each network is mapped once, architecture only (as `tnpipe deploy --plan-only` does), then
its cores are placed both ways from the same wiring. Per placement: the share of
connections (each neuron's target counts 1) whose target core is on another chip, the
mean chip crossings and the mean hops per connection (CoreMap.route_cost, the quantities
the energy model charges), the seconds placement took, and each number's ratio to the
snake measured in the same run. Both placements are checked by the validator.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tnpipe.chip.coremap import CoreMap
from tnpipe.chip.placement import PLACEMENTS, chip_grid, input_positions, place
from tnpipe.chip.validate import validate_coremap
from tnpipe.deploy import plan

ROOT = Path(__file__).resolve().parents[1]


def placed(cm: CoreMap, placement: str) -> tuple[CoreMap, float]:
    """The same map with its cores placed anew; and the seconds placement took."""
    a = dict(cm.arrays)
    shape = tuple(cm.info["source_maps"][0]["shape"])
    t0 = time.perf_counter()
    chip, x, y, chips = place(placement, a["target_core"], a["in_core"], input_positions(a["in_index"], shape), cm.spec)
    seconds = time.perf_counter() - t0
    a["core_chip"], a["core_x"], a["core_y"] = chip, x, y
    out = CoreMap(arrays=a, n_inputs=cm.n_inputs, n_outputs=cm.n_outputs, latency_ticks=cm.latency_ticks,
                  layer_names=cm.layer_names, spec=cm.spec, chips=chips, chip_grid=chip_grid(chips), info=cm.info)
    return out, seconds


def crossing_stats(cm: CoreMap) -> dict[str, float]:
    """Per core-to-core connection: share that leaves its chip, mean crossings, mean hops."""
    hops, crossings = cm.route_cost()
    on = cm.arrays["target_core"] >= 0
    return {"cross_share": float((crossings[on] > 0).mean()), "crossings": float(crossings[on].mean()),
            "hops": float(hops[on].mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default=str(ROOT / "recipes" / "cifar10.toml"))
    ap.add_argument("networks", nargs="*", default=["2chip", "4chip", "8chip"])
    args = ap.parse_args()
    print(f"{'network':8} {'cores':>6} {'chips':>5} {'placement':9} {'cross chips':>11} {'ratio':>6} "
          f"{'crossings':>9} {'ratio':>6} {'mean hops':>9} {'ratio':>6} {'place s':>7}")
    for net in args.networks:
        cm = plan(Path(args.recipe), net)
        base = None
        for name in PLACEMENTS:   # snake first: the baseline of the ratios
            pm, seconds = placed(cm, name)
            validate_coremap(pm)
            s = crossing_stats(pm)
            base = base or s
            ratio = {k: s[k] / base[k] if base[k] else float("nan") for k in s}
            print(f"{net:8} {pm.n_cores:6d} {pm.chips:5d} {name:9} {100 * s['cross_share']:10.1f}% {ratio['cross_share']:6.3f} "
                  f"{s['crossings']:9.3f} {ratio['crossings']:6.3f} {s['hops']:9.2f} {ratio['hops']:6.3f} {seconds:7.2f}",
                  flush=True)
        del cm, pm   # the 8-chip map holds ~2 GB of crossbars


if __name__ == "__main__":
    main()
