"""The artifacts that cross stage boundaries, one module per contract, each versioned.

    PreparedDataset     prepare -> train, deploy    datasets/prepared/<id>/            prepared.py
    Checkpoint          train   -> train (resume)   results/<id>/<net>/checkpoint.pt   checkpoint.py
                                -> deploy (model)
    NetworkDescription  train   -> deploy (mapper)  results/<id>/<net>/network.npz     network.py
    TrainingRecord      train   -> deploy, run      results/<id>/<net>/train.json      training.py
    CoreMap             deploy  -> simulator        results/<id>/<net>/coremap.npz+json  (tnpipe.chip.coremap,
                                                    beside the mapper whose types it holds)
    RunResult           deploy  -> report           results/<id>/<net>/result.json     result.py

Nothing else crosses a stage boundary. Every writer is atomic (tnpipe.atomic); every
loader verifies what it reads and raises `ArtifactError` with a one-line message naming
the file, the problem and what was expected.
"""

from __future__ import annotations

from tnpipe.artifacts.common import environment, read_json_object, sha256_file
from tnpipe.artifacts.network import (
    LayerDescription,
    NetworkDescription,
    default_class_of_feature,
    describe_architecture,
)
from tnpipe.artifacts.prepared import SPLITS, PreparedDataset, PreparedRecord, verify_prepared
from tnpipe.artifacts.result import (
    RESULT_FORMAT_VERSION,
    RESULT_NAME,
    EnergyModel,
    Equivalence,
    Floorplan,
    MapSource,
    RunResult,
    SimulatorRecord,
    load_result,
    save_result,
)

__all__ = [
    "SPLITS", "PreparedDataset", "PreparedRecord", "verify_prepared", "LayerDescription", "NetworkDescription",
    "describe_architecture", "default_class_of_feature", "RESULT_FORMAT_VERSION", "RESULT_NAME",
    "RunResult", "Equivalence", "EnergyModel", "Floorplan", "SimulatorRecord", "MapSource", "save_result",
    "load_result", "environment", "read_json_object",
    "sha256_file",
]
