"""`python -m tnpipe ...` is the same as the `tnpipe` console script (torchrun uses this)."""

from tnpipe.cli import main

if __name__ == "__main__":
    main()
