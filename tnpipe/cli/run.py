"""`tnpipe run`: prepare, train, deploy and report in one command (the README's demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tnpipe.cli.app import app, user_errors
from tnpipe.cli.options import DEVICE_HELP, Command, check_device, require_device
from tnpipe.data import NAMES_HELP
from tnpipe.errors import TrainingInterrupted

COLOURS = {"done": "green", "reused": "cyan", "failed": "bold red"}
NEXT_STAGE = {"prepare": "train", "train": "deploy"}


def _show(o) -> None:
    from tnpipe.log import err

    what = o.detail if o.status != "reused" else f"{o.detail} (exists and verifies)"
    err.print(f"  {o.dataset:<24} {o.stage:<8} [{COLOURS[o.status]}]{o.status:<7}[/] {o.seconds:7.1f} s  {what}",
              highlight=False, soft_wrap=True)


def _not_exact(results: list[Path]) -> list[Path]:
    """The deployed runs whose chip is not exactly the trained network (result.json's equivalence)."""
    from tnpipe.artifacts import load_result

    return [p for p in results if not load_result(p).exact]


def _finish(summary, chosen: list[str], plot: bool) -> None:
    """The report of what was deployed, then each failure on its own line (exit 1), else
    each run whose chip is not exactly its trained network (exit 3, as `deploy`)."""
    # show_run_report prints; what it writes and replaces is tnpipe.report.rewrite_full's policy
    from tnpipe.cli.report import show_run_report
    from tnpipe.log import err

    err.print(f"[bold]run[/] finished in {summary.seconds:.1f} s: {len(summary.results)} of {len(chosen)} "
              "dataset(s) deployed", highlight=False)
    if summary.results:
        show_run_report(summary.results, plot)
    if not summary.ok:   # each error was printed once, on its stage's line above
        where = ", ".join(f"{o.dataset} at {o.stage}" for o in summary.failures)
        err.print(f"[bold red]error:[/] {len(summary.failures)} of {len(chosen)} dataset(s) failed: {where} "
                  "(each error is above)", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    for p in (bad := _not_exact(summary.results)):
        err.print(f"[bold red]error:[/] {p}: the chip is not exactly the trained network (see its equivalence)",
                  highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(3)


def _resume_command(names, all_: bool, opt) -> str:
    """This `tnpipe run` command line with --resume: what continues an interrupted run (every
    option that differs from RunOptions' defaults, --tensorboard included)."""
    from tnpipe.command_line import command_line
    from tnpipe.run import RunOptions

    default = RunOptions()
    return command_line("run", [] if all_ else list(names or ()), [
        ("--all", all_), ("--synthetic", opt.synthetic),
        ("--network", opt.network if opt.network != default.network else None), ("--raw-root", opt.raw_root),
        ("--device", opt.device if opt.device != default.device else None), ("--frames", opt.frames),
        ("--set", list(opt.overrides)), ("--tensorboard", opt.tensorboard), ("--resume", True)])


@app.command(cls=Command)
def run(
    names: Annotated[list[str] | None, typer.Argument(help=f"Datasets: {NAMES_HELP}")] = None,
    all_: Annotated[bool, typer.Option("--all", help="The eight benchmarks (plus fsdd with --synthetic or where its raw folder exists).")] = False,
    synthetic: Annotated[bool, typer.Option(help="Use the generated stand-ins (labelled synthetic all the way into the report).")] = False,
    network: Annotated[str, typer.Option(help="Recipe network to train and deploy for every dataset.")] = "tiny",
    raw_root: Annotated[Path | None, typer.Option(help="Root of raw data, one folder per dataset in its official layout (default datasets/raw, or $TNPIPE_RAW_ROOT).")] = None,
    device: Annotated[str, typer.Option(callback=check_device, help=f"{DEVICE_HELP}, for training and the chip simulation.")] = "cpu",
    set_: Annotated[list[str] | None, typer.Option("--set", help="Recipe override section.key=value, passed to every stage (repeatable), e.g. --set train.epochs=1 or --set chip.placement=snake.")] = None,
    frames: Annotated[int | None, typer.Option(min=0, help="Test frames to run on the simulated chip, >= 0; 0 = the whole test split (default: the recipe's chip.frames).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted training from its checkpoint.pt (as train --resume).")] = False,
    force: Annotated[bool, typer.Option(help="Redo every stage even where its artifact exists and verifies.")] = False,
    plot: Annotated[bool, typer.Option(help="Also draw report.png and the chip floorplans.")] = False,
    tensorboard: Annotated[bool, typer.Option(help="Also write TensorBoard events into each run folder's tensorboard/ (needs the tensorboard package).")] = False,
) -> None:
    """Chain prepare -> train -> deploy for each dataset (reusing verified stages), then print the report."""
    from tnpipe.log import err, heartbeat
    from tnpipe.run import RunOptions, check_settings, choose_datasets, run_pipeline

    with user_errors():
        chosen = choose_datasets(names, all_, synthetic, raw_root)
        require_device(device)
        opt = RunOptions(network, synthetic, raw_root, device, force, tuple(set_ or ()), frames,
                         tensorboard=tensorboard, resume=resume)
        check_settings(chosen, opt)
        err.print(f"[bold]run[/] {len(chosen)} dataset(s), network {network!r}"
                  f"{', synthetic stand-ins' if synthetic else ''}: {' '.join(chosen)}", highlight=False)

        now = {"dataset": "", "stage": None}   # what runs, for the heartbeat (train prints its own epochs)

        def header(i: int, n: int, dataset: str) -> None:
            err.print(f"[bold][{i}/{n}] {dataset}[/] {network}", highlight=False)
            now.update(dataset=dataset, stage="prepare")

        def stage_done(o) -> None:
            _show(o)
            now["stage"] = None if o.status == "failed" else NEXT_STAGE.get(o.stage)

        def label() -> str | None:
            return f"{now['dataset']:<24} {now['stage']}" if now["stage"] in ("prepare", "deploy") else None

        try:
            with heartbeat(label):
                summary = run_pipeline(chosen, opt, on_stage=stage_done, on_dataset=header)
        except TrainingInterrupted as e:
            again = _resume_command(names, all_, opt)
            raise TrainingInterrupted(f"{e.detail}; continue with: {again}") from None
        _finish(summary, chosen, plot)
