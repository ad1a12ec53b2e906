"""Checkpoint: `results/<id>/<net>/checkpoint.pt`, written atomically after every epoch.

On disk a plain dict of tensors, numbers, strings, lists and dicts (loadable with
torch.load(weights_only=True)): the fields of `Checkpoint` plus format and version.

    network, network_name  the Eedn string and the recipe's name for it
    input_shape, num_classes
    recipe                 Recipe.to_dict() (data, train, chip, networks) after overrides
    run_key                hash of everything that defines the run (skip / resume check)
    model                  state_dict: hidden weights, trinary weights, BN bias/mean/std,
                           input normalisation, read-out assignment
    optimizer              optimiser state_dict
    rng                    torch CPU RNG state (+ CUDA when used) at the end of `epoch`
    epoch                  epochs completed;  finished: True once training and export are done
    seed, synthetic, history (per-epoch records: loss, accuracies, lr, spike rate, seconds)
    model_args             ModelArgs: with network, input_shape and num_classes, all that rebuilds
                           the model (tnpipe.nn.trained.model_from_checkpoint) without train.json;
                           absent from checkpoints of earlier releases (None: the loader then
                           reads the settings from train.json's [train], as it did)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from tnpipe.atomic import atomic_path
from tnpipe.errors import ArtifactError

CHECKPOINT_FORMAT = "tnpipe.Checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class ModelArgs:
    """The model's settings besides its geometry (EednNet's keyword arguments)."""
    dropout: float
    hysteresis: float
    init_scale: float

    @classmethod
    def from_state(cls, value: Any, where: str) -> ModelArgs:
        names = [f.name for f in fields(cls)]
        if not isinstance(value, dict) or sorted(value) != sorted(names) or not all(
                isinstance(value[n], (int, float)) and not isinstance(value[n], bool) for n in names):
            raise ArtifactError(f"{where}: model_args {value!r}; expected numbers {', '.join(names)}")
        return cls(**{n: float(value[n]) for n in names})


@dataclass(kw_only=True)   # 15 fields: built by name only, never by position
class Checkpoint:
    network: str
    network_name: str
    input_shape: list[int]
    num_classes: int
    recipe: dict[str, Any]
    run_key: str
    seed: int
    synthetic: bool
    model: dict[str, Any]
    optimizer: dict[str, Any]
    rng: dict[str, Any]
    epoch: int
    finished: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    model_args: ModelArgs | None = None     # None: a checkpoint of an earlier release

    def save(self, path: Path) -> None:
        """Write atomically: a kill during the write leaves the previous checkpoint intact."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["model_args"] = None if self.model_args is None else asdict(self.model_args)
        state.update(format=CHECKPOINT_FORMAT, version=CHECKPOINT_VERSION)
        with atomic_path(Path(path)) as tmp:
            torch.save(state, tmp)

    @classmethod
    def load(cls, path: Path, map_location: str = "cpu") -> Checkpoint:
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"{path}: checkpoint not found; run `tnpipe train` first")
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as e:  # torch raises many kinds for a truncated or foreign file
            raise ArtifactError(f"{path}: unreadable checkpoint ({e.__class__.__name__}: "
                                f"{str(e).splitlines()[0][:200]})") from e
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            found = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise ArtifactError(f"{path}: not a tnpipe checkpoint (format {found!r})")
        if state.get("version") != CHECKPOINT_VERSION:
            raise ArtifactError(f"{path}: checkpoint version {state.get('version')!r}; expected {CHECKPOINT_VERSION}")
        missing = [f.name for f in fields(cls) if f.name not in state and f.name != "model_args"]
        if missing:
            raise ArtifactError(f"{path}: checkpoint lacks {', '.join(missing)}; re-run `tnpipe train --force`")
        values = {f.name: state[f.name] for f in fields(cls) if f.name in state}
        if values.get("model_args") is not None:
            values["model_args"] = ModelArgs.from_state(values["model_args"], str(path))
        return cls(**values)


def load_checkpoint(path: Path, map_location: str = "cpu") -> Checkpoint:
    return Checkpoint.load(path, map_location)
