"""tnpipe: Eedn (Esser et al., PNAS 2016) networks trained under TrueNorth's constraints,
deployed onto a simulated TrueNorth chip, and measured for accuracy, frames/s and mW."""

__version__ = "0.1.0"
