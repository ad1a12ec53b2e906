"""Row: one deployed network in the report, its RunResult and, where the paper has the
dataset, its Table 3 row (tnpipe.report.paper). Every column of the report is read from a
Row (tnpipe.report.frame)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tnpipe import paths
from tnpipe.artifacts import RunResult
from tnpipe.report.paper import OFFICIAL_TEST_FRAMES, PAPER_NETWORK, PaperRow

REAL_SUBSET = "real ("   # a stand_in that starts so names a real subset of the paper's corpus


@dataclass
class Row:
    """One deployed network: its RunResult and, where the paper has the dataset, its Table 3 row."""

    result: RunResult
    path: Path
    paper: PaperRow | None

    @property
    def dataset(self) -> str:
        name = self.result.dataset
        return name[: -len(paths.SYNTHETIC_SUFFIX)] if name.endswith(paths.SYNTHETIC_SUFFIX) else name

    @property
    def network(self) -> str:
        return self.result.network

    @property
    def synthetic(self) -> bool:
        return bool(self.result.synthetic)

    @property
    def stand_in(self) -> str:
        return "" if self.synthetic else str(self.result.stand_in or "")

    @property
    def data(self) -> str:
        """synthetic, stand-in, real; or a real subset's own label, which its stand_in starts
        with (e.g. "real (TIMIT sample, 16 speakers): ...", tnpipe.data.timit): real data,
        but never like-for-like with the paper's full-corpus rows."""
        if not self.synthetic and self.stand_in.startswith(REAL_SUBSET):
            return self.stand_in.split(": ", 1)[0]
        return "synthetic" if self.synthetic else "stand-in" if self.stand_in else "real"

    @property
    def full_test_split(self) -> bool:
        """True where the chip ran every frame of the benchmark's official test split (its size
        known: OFFICIAL_TEST_FRAMES); a subset's test split, or a partial run, is not the paper's."""
        official = OFFICIAL_TEST_FRAMES.get(self.dataset)
        return official is not None and self.result.frames == official

    @property
    def paper_like_for_like(self) -> bool:
        """The paper's numbers are for its 1-chip networks on the full benchmarks: only our
        "1chip" network, on real (not stand-in, not synthetic) data, run on every frame of the
        official test split, matches them."""
        return (self.paper is not None and self.network == PAPER_NETWORK and not self.stand_in
                and not self.synthetic and self.full_test_split)

    @property
    def paper_label(self) -> str:
        if self.paper is None:
            return "-"
        return "TN 1-chip" if self.paper_like_for_like else "TN 1-chip (ref. only)"

    @property
    def run_dir(self) -> Path:
        """The run folder this result was written into (result.json sits at its top)."""
        return self.path.parent
