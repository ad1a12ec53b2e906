"""Equivalence of the chip and the trained network, checked from the exported integers alone.

graph.py        every layer's spikes in plain numpy from a NetworkDescription (network.npz):
                spike = (conv(x, w) + leak >= 1), nothing of torch, of training or of the chip
equivalence.py  the chip's votes and per-tick spike trace against that graph, placed on
                ticks by the CoreMap's own delays: votes_exact, spikes_exact, agreement

Nothing here imports the simulator or its compiler: the chip side is handed in as data
(votes, a trace function), so a chip compared with itself cannot pass by construction.
"""
