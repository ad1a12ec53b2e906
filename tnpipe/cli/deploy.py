"""`tnpipe deploy`: map a trained run onto TrueNorth cores, simulate it, measure it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tnpipe.cli.app import app, user_errors
from tnpipe.cli.options import DEVICE_HELP, Command, check_device, check_rate, require_device

# the plan table's short headers (it fits 80 columns) and what each means (docs/energy-model.md)
PLAN_TITLES = {"layer": "layer", "tile": "tile", "g/core": "g/c", "fsplit": "fspl", "cores": "cores",
               "splitters": "split", "bound": "bound", "axons": "ax%", "neurons": "nrn%", "copies": "copies"}
PLAN_LEGEND = ("tile: output positions per core (rows x columns); g/c: filter groups per core; fspl: cores one "
               "group's features are split over; split: splitter cores (relay outputs wanted by more cores than "
               "a neuron's copies reach); bound: the fewest cores any rectangular tiling of the layer can use "
               "(tiling.lower_bound); ax%, nrn%: share of the layer's axons and neurons in use; copies: neurons "
               "per output value (one per consumer core). More in docs/energy-model.md.")

if TYPE_CHECKING:   # typing only: the command's imports stay inside it (fast --help)
    from tnpipe.artifacts import Equivalence, RunResult


def _layer_table(cm, title: str):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from tnpipe.chip.search import plan_rows

    rows = plan_rows(cm)
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 0), show_edge=False)
    for col in rows.columns:
        table.add_column(PLAN_TITLES.get(col, col), justify="left" if col == "layer" else "right", no_wrap=True)
    for r in rows.itertuples(index=False):
        table.add_row(*(Text(f"{v:.0%}" if c in ("axons", "neurons") else f"{v:.2f}" if isinstance(v, float)
                             else str(v)) for c, v in zip(rows.columns, r, strict=True)))
    return table


def _plan_only(target: Path, network: str | None, overrides: tuple[str, ...]) -> None:
    from tnpipe.deploy import plan
    from tnpipe.errors import RecipeError
    from tnpipe.log import console

    if network is None:
        raise RecipeError(f"--plan-only {target}: name the network with --network (e.g. --network 1chip)")
    cm = plan(target, network, overrides)
    console.print(_layer_table(cm, f"{target.stem} {network}: cores per layer (architecture only)"))
    console.print(PLAN_LEGEND, highlight=False, markup=False)
    console.print(f"chips: {cm.chips}   latency: {cm.latency_ticks} ticks   "
                  f"input packets per frame (all inputs spiking): {cm.info['input_packets']}")
    console.print(f"total cores: {cm.n_cores}", highlight=False)
    from tnpipe.chip.budget import OVERRIDE, budget_of

    budget = budget_of(network)
    if budget is not None and cm.n_cores > budget[0]:
        from tnpipe.log import err

        err.print(f"warning: {network!r} promises at most {budget[0]} cores ({budget[1]}) and needs {cm.n_cores}; "
                  f"`tnpipe train` refuses it unless {OVERRIDE}", highlight=False, soft_wrap=True)


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _print_result(res: RunResult) -> None:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from tnpipe.log import console

    name = escape(f"{res.dataset}{' (synthetic)' if res.synthetic else ''} {res.network}")
    layers = Table(title=f"{name}: cores per layer")
    layers.add_column("layer")
    layers.add_column("cores", justify="right")
    for layer, n in res.cores_per_layer.items():
        layers.add_row(Text(layer), str(n))   # Text: shown literally, never read as markup
    layers.add_row("[bold]total[/]", f"[bold]{res.cores}[/]")
    console.print(layers)
    from rich import box

    # accuracies as percentages, as in the report; headers fold onto two lines (fits 80 columns)
    t = Table(title="on the simulated chip (* model estimates)", box=box.SIMPLE_HEAD, padding=(0, 1), show_edge=False)
    for col in ("frames", "chips", "acc\nchip", "acc\ngraph", "agree", "fps*", "mW*", "fps/W*", "uJ/\nframe*"):
        t.add_column(col, justify="right", no_wrap=True)
    t.add_row(str(res.frames), str(res.chips), _pct(res.accuracy_chip), _pct(res.accuracy_graph),
              _pct(res.agreement), f"{res.fps:.0f}", f"{res.mw:.1f}", f"{res.fps_per_w:.0f}",
              f"{res.uj_per_frame:.1f}")
    console.print(t)
    agree = round(res.agreement * res.frames)
    console.print(f"agreement with the training graph: {100 * res.agreement:.2f}% ({agree}/{res.frames} frames); "
                  f"cores: {res.cores} on {res.chips} chip(s); latency: {res.latency_ticks} ticks", highlight=False)
    _equivalence(res.equivalence)


def _equivalence(eq: Equivalence) -> None:
    """The three levels in one line; not exact: the first mismatch, and exit status 3."""
    from rich.markup import escape

    from tnpipe.deploy.on_chip import equivalence_summary
    from tnpipe.log import console, err

    console.print(equivalence_summary(eq), highlight=False, soft_wrap=True)
    if not eq.exact:
        err.print(f"[bold red]error:[/] the chip is not the trained network; first mismatch: "
                  f"{escape(eq.first_mismatch or '')}", highlight=False, soft_wrap=True)
        raise typer.Exit(3)


def _placement_note(res: RunResult) -> None:
    """chip.placement orders cores across chips: on one chip every placement is the same map."""
    from tnpipe.log import err

    placement = (res.chip or {}).get("placement")
    if placement and res.chips == 1:
        err.print(f"note: placement {placement!r}: the network fits one chip, where every placement gives the same "
                  "map (placement decides which chip a core goes to); it matters from 2 chips on",
                  highlight=False, soft_wrap=True)


def _check_run_folder(target: Path) -> None:
    """A recipe given where a run folder is expected is the likeliest slip: say so."""
    from tnpipe.errors import ArtifactError
    if target.suffix == ".nir":
        raise ArtifactError(f"{target}: a NIR graph; put it on the chip with `tnpipe import {target}`")
    if target.is_file() and target.suffix == ".toml":
        raise ArtifactError(f"{target}: a recipe, but deploy takes a run folder made by `tnpipe train` (e.g. "
                            f"results/{target.stem}/tiny); to map the recipe's network without training: "
                            f"tnpipe deploy --plan-only {target} --network NAME")
    if not target.is_dir():
        raise ArtifactError(f"{target}: run folder not found; expected results/NAME/NET made by `tnpipe train`")
    if not (target / "train.json").is_file() and not (target / "network.npz").is_file():
        raise ArtifactError(f"{target}: no trained network here (train.json, network.npz); train one first, e.g. "
                            f"`tnpipe train recipes/NAME.toml --network NET` (it writes results/NAME/NET), then "
                            f"`tnpipe deploy results/NAME/NET`")
    if (target / "train.json").is_file() and not (target / "network.npz").is_file():
        raise ArtifactError(f"{target / 'network.npz'}: not found; the run's exported network is missing "
                            "(train it again with `tnpipe train ... --force`)")


@app.command(cls=Command)
def deploy(
    target: Annotated[Path, typer.Argument(help="Run folder (results/NAME/NET), or with --plan-only a recipe TOML.")],
    frames: Annotated[int | None, typer.Option(min=0, help="Test frames to simulate, >= 0; 0 = the whole test split (default: the recipe's chip.frames).")] = None,
    tick_hz: Annotated[float | None, typer.Option(callback=check_rate, help="Fixed tick rate in Hz, >= 0; 0 = the energy profile's tick model (default: the recipe's chip.tick_hz).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a \\[chip] setting of the recipe the run was trained with, e.g. --set chip.placement=snake (repeatable).")] = None,
    device: Annotated[str, typer.Option(callback=check_device, help=f"{DEVICE_HELP}, for the chip simulation.")] = "cpu",
    force: Annotated[bool, typer.Option(help="Redo even when result.json was made from the same network, run and chip settings.")] = False,
    plan_only: Annotated[bool, typer.Option("--plan-only", help="Map the recipe's network architecture alone and print cores per layer.")] = False,
    network: Annotated[str | None, typer.Option(help="With --plan-only: the recipe network to map, e.g. 1chip.")] = None,
    coremap: Annotated[Path | None, typer.Option(help="Simulate this core map (a folder with coremap.npz + coremap.json) "
                                                      "against the run's trained network instead of mapping afresh.")] = None,
    spike_frames: Annotated[str, typer.Option(help="Frames whose every spike of every core at every tick is compared "
                                                   "with the trained network: a number or 'all'.")] = "32",
) -> None:
    """Map a trained network onto cores, simulate the chip on the test set, and write result.json.

    Exits with status 3 (after writing result.json) when the chip is not exactly the trained
    network: the votes of a frame, or a spike of a sampled frame, differ."""
    from tnpipe.log import err

    with user_errors():
        overrides = tuple(set_ or ())
        if plan_only:
            _plan_only(target, network, overrides)
            return
        from tnpipe.settings import check_sections

        check_sections(overrides, ("chip",), "deploy")
        _check_run_folder(target)
        require_device(device)
        from tnpipe.deploy import deploy as deploy_stage
        from tnpipe.log import heartbeat

        with heartbeat(lambda: f"deploy {target}: mapping, simulating the chip (the first deploy in a "
                                "session also compiles its kernels), verifying"):
            out = deploy_stage(target, frames=frames, tick_hz=tick_hz, device=device, force=force,
                               overrides=overrides, coremap=coremap, spike_frames=spike_frames)
        if out.status == "reused":
            err.print(f"{target}: result.json was made from this network, run and chip settings; "
                      "reused (use --force to redo)")
        if out.set_aside is not None:
            err.print(f"{target}: the earlier deployment (other chip settings, frames or network) was moved to "
                      f"{out.set_aside}; result.json now holds this one", highlight=False, soft_wrap=True)
        _print_result(out.record)
        _placement_note(out.record)
