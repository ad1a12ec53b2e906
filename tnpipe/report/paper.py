"""The paper's Table 3, read from its one copy: tnpipe/report_data/paper_table3.csv."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tnpipe.errors import ArtifactError

PAPER_CITATION = (
    "Esser et al., Convolutional networks for fast, energy-efficient neuromorphic computing, "
    "PNAS 113(41):11441-11446 (2016), Table 3 ('TN 1-chip' networks, measured on the chip)"
)
PAPER_NETWORK = "1chip"      # our recipe network that is the paper's "TN 1-chip" network
PAPER_CSV = "report_data/paper_table3.csv"

# The official test splits' sizes, from each dataset's own release (not from the paper): a row
# is like-for-like with Table 3 only when the chip ran all of them. Where the paper's test set
# cannot be pinned down (FlickrLogos-32's, VAD's and TIMIT's test counts depend on the paper's
# unstated segmentation), no row is claimed like-for-like.
OFFICIAL_TEST_FRAMES = {
    "cifar10": 10_000,    # Krizhevsky 2009: test_batch
    "cifar100": 10_000,   # Krizhevsky 2009: test
    "svhn": 26_032,       # Netzer et al. 2011: test_32x32.mat
    "gtsrb": 12_630,      # Stallkamp et al. 2012: GTSRB_Final_Test_Images
}


@dataclass(frozen=True)
class PaperRow:
    """One dataset's row of the paper's Table 3 (accuracies as fractions 0..1)."""

    dataset: str
    accuracy: float          # TN 1-chip accuracy
    cores: int
    fps: float
    mw: float
    fps_per_w: float
    best_accuracy: float     # largest network (up to 8 chips, simulated)
    best_cores: int
    sota_method: str
    sota_accuracy: float
    note: str = ""

    @property
    def uj_per_frame(self) -> float:
        """Not printed in the paper: derived as mW / fps (x1000 for uJ)."""
        return self.mw * 1e3 / self.fps


def _paper_row(rec: dict[str, str]) -> PaperRow:
    return PaperRow(
        dataset=rec["dataset"], accuracy=float(rec["tn1_accuracy"]), cores=int(rec["tn1_cores"]),
        fps=float(rec["tn1_fps"]), mw=float(rec["tn1_mw"]), fps_per_w=float(rec["tn1_fps_per_w"]),
        best_accuracy=float(rec["best_accuracy"]), best_cores=int(rec["best_cores"]),
        sota_method=rec["sota_method"], sota_accuracy=float(rec["sota_accuracy"]),
        note=rec.get("note") or "",
    )


def load_paper_table(path: Path | None = None) -> dict[str, PaperRow]:
    """The paper's Table 3 keyed by our dataset name; `#` lines are the citation."""
    if path is None:
        text, where = resources.files("tnpipe").joinpath(PAPER_CSV).read_text(encoding="utf-8"), f"tnpipe/{PAPER_CSV}"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    table: dict[str, PaperRow] = {}
    for i, rec in enumerate(csv.DictReader(lines), start=2):
        try:
            table[rec["dataset"]] = _paper_row(rec)
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"{where}: data row {i} unreadable ({e.__class__.__name__}: {e})") from e
    return table
