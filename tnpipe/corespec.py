"""A core's limits as data (CoreSpec) and TrueNorth's (TRUENORTH): every limit in tnpipe.

The network builder (fan-in check), the mapper and the CoreMap validator read the CoreSpec
of the chip profile in use (tnpipe/chip/profile.py: a profile's [core] section, TrueNorth's
where left out). The ground floor: it imports nothing of tnpipe. Sources: reference/eedn-and-truenorth.md sections 1.2, 2.1-2.4
([TCAD] Akopyan et al. 2015; [EEDN] Esser et al. 2016).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoreSpec:
    axons: int = 256                 # input lines per core (crossbar rows)
    neurons: int = 256               # neurons per core (crossbar columns)
    axon_types: int = 4              # G_i in {0..3}; Eedn uses type 0 = +1, type 1 = -1
    type_weight_min: int = -255      # s_j^G is 9-bit signed [EEDN], [SCI-q]
    type_weight_max: int = 255
    leak_min: int = -255             # leak in {-255..255} [EEDN]
    leak_max: int = 255
    potential_bits: int = 20         # membrane potential V is 20-bit signed [SCI-q]
    delay_min: int = 1               # axonal delay, ticks [TCAD] section V-D
    delay_max: int = 15
    chip_width: int = 64             # 64 x 64 cores per chip [TCAD]
    chip_height: int = 64
    threshold_min: int = 1           # alpha >= 1 (tnpipe's choice: the width is UNCONFIRMED, reference 2.3)
    route_reach: int = 255           # 9-bit signed dx, dy in a packet: +-255 cores [TCAD] section V-C
    reset_modes: int = 3             # gamma: 0 normal, 1 linear, 2 none (reference 2.3, [NEMO])

    @property
    def cores_per_chip(self) -> int:
        return self.chip_width * self.chip_height

    @property
    def max_fan_in(self) -> int:
        """Trinary inputs per neuron: each input needs an axon pair (+1 type and -1 type)."""
        return self.axons // 2

    @property
    def potential_min(self) -> int:
        return -(2 ** (self.potential_bits - 1))

    @property
    def potential_max(self) -> int:
        return 2 ** (self.potential_bits - 1) - 1


TRUENORTH = CoreSpec()
