"""`tnpipe train RECIPE --network NAME`: train an Eedn network (thin shell over tnpipe.train.train).

Distributed: `torchrun --nproc-per-node N -m tnpipe train RECIPE --network NAME ...`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tnpipe.cli.app import app, user_errors
from tnpipe.cli.options import DEVICE_HELP, Command, check_device, require_device

SEED_MAX = 2**32 - 1   # numpy's and torch's seeds are 32/64-bit unsigned


def _check_fast(recipe: Path, network: str, layers: str | None, overrides: tuple[str, ...]) -> None:
    """The recipe, its network name and the --set values, before torch is imported (a typo
    answers in a fraction of a second, not after seconds of imports)."""
    from tnpipe.recipe import load_recipe

    loaded = load_recipe(recipe, overrides)
    if layers is None:
        loaded.network(network)
    where = f"{loaded.path} [train]"
    loaded.train.for_network(network, overrides, where).validate(where)


@app.command("train", cls=Command)
def train_cmd(
    recipe: Annotated[Path, typer.Argument(help="recipe TOML, e.g. recipes/cifar10.toml")],
    network: Annotated[str, typer.Option("--network", "-n", help="network name from the recipe's \\[networks]")],
    layers: Annotated[str | None, typer.Option("--layers", help="Eedn string to train instead of the recipe's network")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a recipe value, e.g. train.epochs=5 (repeatable)")] = None,
    device: Annotated[str, typer.Option("--device", help=DEVICE_HELP, callback=check_device)] = "cpu",
    seed: Annotated[int | None, typer.Option("--seed", min=0, max=SEED_MAX, help=f"random seed, 0..{SEED_MAX} (default: the recipe's train.seed)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue an unfinished run from its checkpoint.pt (same settings)")] = False,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="train on the NAME-synthetic prepared stand-in")] = False,
    force: Annotated[bool, typer.Option("--force", help="start over even where a run exists; its train.log, checkpoint.pt, metrics.csv, train.json, network.npz and what was deployed from it (result.json, coremap.*) are moved to previous-TIME/ first")] = False,
    tensorboard: Annotated[bool, typer.Option("--tensorboard", help="also write TensorBoard events into RUN_DIR/tensorboard/ (needs the tensorboard package); metrics.csv is always written")] = False,
) -> None:
    """Train under TrueNorth's constraints; report the hardware-mode test accuracy.

    Ctrl-C (or SIGTERM) stops after the current step with exit 130, keeping the last
    epoch's checkpoint and printing the --resume command that continues the run."""
    with user_errors():
        _check_fast(recipe, network, layers, tuple(set_ or ()))
        require_device(device)
        # torch: imported only once the arguments are known good
        from tnpipe.train import train

        train(recipe, network, overrides=tuple(set_ or ()), device=device, seed=seed, resume=resume,
              synthetic=synthetic, layers=layers, force=force, tensorboard=tensorboard)
