"""A finished training run, loaded for `deploy` and the chip simulation.

    net = load_trained(results/cifar10/1chip)
    spikes = net.transduce(x)              # off-chip transduction: uint8 {0,1} (N, C, H, W)
    votes  = net.hardware_votes(spikes)    # hardware mode (integer), int64 (N, classes)
    pred   = net.predict_float(x)          # the float graph's predictions, int64 (N,)

The chip simulation is fed `transduce(x)` and must reproduce `hardware_votes` frame for frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tnpipe.artifacts import NetworkDescription
from tnpipe.checkpoint import CHECKPOINT_NAME, load_checkpoint
from tnpipe.errors import ArtifactError
from tnpipe.netspec import parse_network
from tnpipe.nn.hardware import hardware_votes
from tnpipe.nn.inputs import to_float_nchw
from tnpipe.nn.network import EednNet


@dataclass
class TrainedNetwork:
    model: EednNet
    description: NetworkDescription
    meta: dict[str, Any] = field(default_factory=dict)   # train.json
    device: str = "cpu"
    batch_size: int = 256

    @torch.no_grad()
    def transduce(self, x: np.ndarray) -> np.ndarray:
        """Stored inputs (uint8 NHWC images or float16 NCHW features) -> uint8 spikes (N, C, H, W)."""
        out = [self.model.transduce(to_float_nchw(x[i:i + self.batch_size]).to(self.device)).to(torch.uint8).cpu()
               for i in range(0, len(x), self.batch_size)]
        if not out:
            return np.zeros((0, *self.description.input_shape), dtype=np.uint8)
        return torch.cat(out).numpy()

    def hardware_votes(self, spikes: np.ndarray) -> np.ndarray:
        """int64 (N, classes): the hardware-mode (integer) graph's votes from transduction spikes."""
        return hardware_votes(self.description, spikes, self.batch_size, self.device)

    @torch.no_grad()
    def float_votes(self, x: np.ndarray) -> np.ndarray:
        """The float graph's votes (N, classes) from stored inputs."""
        out = [self.model(to_float_nchw(x[i:i + self.batch_size]).to(self.device)).cpu()
               for i in range(0, len(x), self.batch_size)]
        return torch.cat(out).numpy().astype(np.int64) if out else np.zeros((0, self.description.num_classes), np.int64)

    def predict_float(self, x: np.ndarray) -> np.ndarray:
        """int64 (N,) predictions of the float graph (argmax of votes, ties -> lowest class)."""
        return self.float_votes(x).argmax(1).astype(np.int64)


def model_from_checkpoint(state: dict[str, Any], device: str = "cpu") -> EednNet:
    """Rebuild the EednNet a checkpoint was saved from and load its state."""
    spec = parse_network(state["network"], tuple(state["input_shape"]), int(state["num_classes"]))
    train = state["recipe"]["train"]
    model = EednNet(spec, dropout=train.get("dropout", 0.0), hysteresis=train.get("hysteresis", 0.1))
    model.load_state_dict(state["model"])
    return model.to(device).eval()


def load_trained(run_dir: Path, device: str = "cpu") -> TrainedNetwork:
    """Load a finished run (checkpoint.pt + network.npz + train.json) for deploy."""
    run_dir = Path(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINT_NAME, map_location=device)
    if not state.get("finished"):
        raise ArtifactError(f"{run_dir / CHECKPOINT_NAME}: training is not finished (epoch {state.get('epoch')}); "
                            "run `tnpipe train ... --resume` to complete it")
    model = model_from_checkpoint(state, device)
    desc = NetworkDescription.load(run_dir / "network.npz")
    if desc.network != state["network"]:
        raise ArtifactError(f"{run_dir / 'network.npz'}: describes {desc.network!r}, but the checkpoint holds "
                            f"{state['network']!r}; re-run `tnpipe train --force`")
    meta_path = run_dir / "train.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{meta_path}: missing or unreadable ({e.__class__.__name__}); re-run `tnpipe train --force`") from e
    return TrainedNetwork(model, desc, meta, device)
