"""Row: one deployed network in the report, its RunResult and, where the paper has the
dataset, its Table 3 row (tnpipe.report.paper). Every column of the report is read from a
Row (tnpipe.report.frame)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tnpipe import paths
from tnpipe.artifacts import RunResult
from tnpipe.report.paper import PAPER_NETWORK, PaperRow


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
        return "synthetic" if self.synthetic else "stand-in" if self.stand_in else "real"

    @property
    def paper_like_for_like(self) -> bool:
        """The paper's numbers are for its 1-chip networks; only our "1chip" on real data matches them."""
        return self.paper is not None and self.network == PAPER_NETWORK and not self.stand_in and not self.synthetic

    @property
    def paper_label(self) -> str:
        if self.paper is None:
            return "-"
        return "TN 1-chip" if self.paper_like_for_like else "TN 1-chip (ref. only)"

    @property
    def run_dir(self) -> Path:
        """The run folder this result was written into (result.json sits at its top)."""
        return self.path.parent
