"""The simulated TrueNorth chip: core spec, CoreMap, mapper, validator, simulators, energy model.

    profile.py     ChipProfile: one profiles/<name>.toml = limits (tnpipe.corespec.CoreSpec) + energy/timing
    config.py      ChipCfg: the recipe's [chip] section (profile, tick rate, frames, placement, engine)
    coremap.py     CoreMap artifact (coremap.npz + coremap.json with the npz's sha256)
    validate.py    validate_coremap(cm): every core rule, MappingError naming core/rule/value/limit
    tiling.py      tilings (positions x groups per core x feature splits), their cost, a lower bound
    search.py      choose_tilings: the fewest cores, exact over the candidates; plan_rows(cm) table
    layerplan.py   one layer's cores under a tiling: outputs, inputs, which cores read an input
    mapper.py      map_network(desc, spec) -> CoreMap (axon pairs, copies, splitters, delays)
    placement.py   cores on 64x64 meshes: snake walk; on several chips "regions" (one image region per chip)
    engine.py      the Engine protocol, EngineSettings, and every engine's one result, SimResult
                   (votes, per-frame counters, Timings)
    engines.py     the registry: engine name -> module:make; simulate(cm, inputs, engine="auto")
    reference.py   "reference": the generic tick-stepped engine (knows nothing of layers)
    compile.py     CoreMap -> frame-batched dataflow Program (pairs/copies folded, exact)
    fastpath.py    FastEngine: "lut" (Four Russians) and "gemm" kernels over a Program
    popcount.py    the "popcount" engine: a Program over bit-packed spikes (numba), exact
    energy.py      fps, mW, fps/W, uJ/frame from activity (model estimates), profiles/*.toml

Imports nothing of `tnpipe.nn`: the mapper reads a `NetworkDescription` (plain arrays,
tnpipe.artifacts), the simulators read only a CoreMap.
"""
