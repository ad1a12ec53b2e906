"""Stage 3, `tnpipe deploy`: a trained run -> CoreMap -> simulated chip -> RunResult.

    stage.py     deploy(): the stage's one function (lock, reuse or redo, result.json),
                 returning a DeployOutcome; chip_settings, made_from; plan() for --plan-only
    on_chip.py   the chip step: map, save and read back the map (or --coremap), simulate
                 with the chosen engine, prove it equal to the trained network (tnpipe.verify)

Like `tnpipe.train`, the stage locks its own run folder (tnpipe.locks).
"""

from __future__ import annotations

from tnpipe.deploy.stage import DeployOutcome, chip_settings, deploy, made_from, plan

__all__ = ["DeployOutcome", "chip_settings", "deploy", "made_from", "plan"]
