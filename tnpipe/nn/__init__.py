"""Eedn training graph (torch) and its integer hardware mode.

    layers.py    the autograd rules: hysteresis trinary weights, BN without scale + spike,
                 triangle derivative, vote read-out, sparsity penalty
    network.py   Eedn string -> EednNet (transduction + on-chip layers + votes)
    stats.py     whole-training-set batch-norm statistics for inference
    hardware.py  integer hardware mode (s + L >= 1) and export to a NetworkDescription
    export.py    load_trained(run_dir) -> TrainedNetwork for deploy
    inputs.py    PreparedDataset arrays -> float NCHW tensors
"""
