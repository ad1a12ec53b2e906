"""Eedn training graph (torch) and its integer hardware mode.

    layers.py     the autograd rules: hysteresis trinary weights, BN without scale + spike,
                  triangle derivative, vote read-out, sparsity penalty
    fused_cpu.py  the BN+spike rule and the hysteresis update as single-pass numba kernels
                  on CPU (layers.py's torch-op rules run on CUDA and are their reference)
    network.py    parsed Eedn string (tnpipe.netspec.NetworkSpec) -> EednNet
                  (transduction + on-chip layers + votes)
    stats.py      whole-training-set batch-norm statistics for inference
    hardware.py   integer hardware mode (s + L >= 1) and export to a NetworkDescription
    trained.py    load_trained(run_dir) -> TrainedNetwork for deploy; load_record(run_dir) -> the
                  TrainingRecord (train.json) with its [train] / [chip] typed
    train_section.py  TrainCfg: the recipe's [train] section
    inputs.py     PreparedDataset arrays -> float NCHW tensors

The training loop itself is tnpipe.train; the artifacts written are in tnpipe.artifacts.
"""
