"""What a training run is, before any data is read: the recipe's settings for the network,
the network checked against the core, where its data and results live, and its run key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tnpipe import paths
from tnpipe.artifacts.prepared import PreparedRecord
from tnpipe.artifacts.training import TrainingRecord
from tnpipe.data import DATASET_NAMES, get_dataset
from tnpipe.errors import ArtifactError, DataError
from tnpipe.netspec import parse_network
from tnpipe.nn.train_section import TrainCfg
from tnpipe.nn.trained import load_record
from tnpipe.recipe import load_recipe


@dataclass(frozen=True)
class RunPlan:
    name: str                    # dataset
    network: str                 # the recipe's name for the network
    net_text: str                # the Eedn string
    cfg: TrainCfg
    seed: int
    synthetic: bool
    recipe_dict: dict[str, Any]  # Recipe.to_dict() with the network's own [train] settings
    prep: Path                   # prepared dataset folder
    run_dir: Path
    key: str

    @property
    def prepare_hint(self) -> str:
        return f"tnpipe prepare {self.name}{' --synthetic' if self.synthetic else ''}"


LATER_DEFAULTS = {"bias_lr_scale": 1.0}   # [train] settings newer than run keys, at their default


def run_key(recipe_dict: dict[str, Any], network_text: str, seed: int, synthetic: bool,
            prepared_files: dict[str, str]) -> str:
    """Everything that defines a run's outcome (not the device, the process count or [chip])."""
    # settings that change speed, not the outcome, stay out (threads, eval batch); a setting
    # added later stays out at its default, so runs trained before it existed keep their key
    train_cfg = {k: v for k, v in recipe_dict["train"].items()
                 if k not in ("per_network", "threads", "eval_batch_size", "allow_over_budget")
                 and LATER_DEFAULTS.get(k, object()) != v}
    blob = json.dumps({"data": recipe_dict["data"], "train": train_cfg, "network": network_text,
                       "seed": seed, "synthetic": synthetic, "prepared": prepared_files},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def plan_run(recipe_path: Path, network: str, overrides: Sequence[str] = (), seed: int | None = None,
             synthetic: bool = False, layers: str | None = None) -> RunPlan:
    """The run's settings and paths; the network is checked against the core before the
    prepared dataset is looked for (a fan-in error should not wait for data)."""
    recipe = load_recipe(Path(recipe_path), list(overrides))
    cfg = recipe.train.for_network(network, list(overrides), f"{recipe.path} [train]")
    cfg.validate(f"{recipe.path} [train]")
    net_text = layers if layers is not None else recipe.network(network)
    name = recipe.data.name
    if name in DATASET_NAMES:  # a test may train on an ad-hoc prepared set; it is checked after loading
        source = get_dataset(name)
        spec = parse_network(net_text, source.input_shape(recipe.data), source.num_classes)
        if not cfg.allow_over_budget:
            check_cores(network, spec, str(recipe.path))
    prep = paths.prepared_dir(name, synthetic)
    if not (prep / "meta.json").is_file():
        flag = " --synthetic" if synthetic else ""
        other = paths.prepared_dir(name, not synthetic)
        also = ""   # the set the user did prepare, when it is the other kind (case: prepare --synthetic, train without)
        if (other / "meta.json").is_file():
            also = (f"; a synthetic stand-in is prepared ({other}): add --synthetic to train on it" if not synthetic
                    else f"; the real {name} is prepared ({other}): drop --synthetic to train on it")
        raise DataError(f"{prep}: prepared dataset not found; run `tnpipe prepare {name}{flag}` first{also}")
    files = PreparedRecord.load(prep).files
    recipe_dict = recipe.to_dict()
    recipe_dict["train"] = asdict(cfg)  # the settings this network actually trains with
    seed = cfg.seed if seed is None else int(seed)
    key = run_key(recipe_dict, net_text, seed, synthetic, files)
    return RunPlan(name, network, net_text, cfg, seed, synthetic, recipe_dict, prep,
                   paths.run_dir(name, network, synthetic), key)


def check_cores(name: str, spec, where: str) -> None:
    """A network named for a chip budget (half, 1chip, Nchip) mapped before any data is read:
    refused when it needs more cores than its name allows (tnpipe.chip.budget)."""
    from tnpipe.chip.budget import budget_of, check_budget

    if budget_of(name) is None:
        return
    from tnpipe.artifacts import describe_architecture
    from tnpipe.chip.mapper import map_network

    check_budget(name, map_network(describe_architecture(spec)).n_cores, where)


def finished_record(plan: RunPlan) -> TrainingRecord | None:
    """The run's TrainingRecord if it finished with exactly these settings, else None."""
    try:
        rec = load_record(plan.run_dir)
    except ArtifactError:
        return None
    ok = rec.finished and rec.run_key == plan.key and (plan.run_dir / "network.npz").is_file()
    return rec if ok else None
