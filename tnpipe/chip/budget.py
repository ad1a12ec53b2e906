"""Names promise sizes: a recipe network named for a chip budget must fit it.

`half` promises half a chip (2048 cores), `1chip` one chip (4096), `Nchip` N chips, also as
the start of a longer name (`1chip_paper`). A network whose map needs more cores than its
name allows is refused before any training time is spent, unless the run says so
explicitly (`--set train.allow_over_budget=true`). Other names (`tiny`, `cpu`) promise
nothing and are not mapped here.
"""

from __future__ import annotations

import re

from tnpipe.corespec import TRUENORTH, CoreSpec
from tnpipe.errors import MappingError

_NAME = re.compile(r"^(?:(half)|(\d+)chip)(?:$|[_\-.])")
OVERRIDE = "--set train.allow_over_budget=true"


def budget_of(name: str, spec: CoreSpec = TRUENORTH) -> tuple[int, str] | None:
    """(cores, in words) the name promises, or None when it promises no size."""
    m = _NAME.match(name)
    if m is None:
        return None
    if m.group(1):
        return spec.cores_per_chip // 2, f"half a chip of {spec.cores_per_chip} cores"
    chips = int(m.group(2))
    return chips * spec.cores_per_chip, f"{chips} chip{'s' if chips != 1 else ''} of {spec.cores_per_chip} cores"


def check_budget(name: str, cores: int, where: str, spec: CoreSpec = TRUENORTH) -> None:
    """MappingError (one line) when `cores` exceed what `name` promises."""
    budget = budget_of(name, spec)
    if budget is not None and cores > budget[0]:
        raise MappingError(f"{where}: network {name!r} needs {cores} cores on the chip; its name promises at most "
                           f"{budget[0]} ({budget[1]}): shrink the network, give it a name that promises no size, "
                           f"or train it anyway with {OVERRIDE}")
