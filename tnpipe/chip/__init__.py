"""The simulated TrueNorth chip: core spec, CoreMap, mapper, simulator, energy model.

Imports nothing of `tnpipe.nn`: the mapper reads a `NetworkDescription` (plain arrays),
the simulator reads only a CoreMap.
"""
