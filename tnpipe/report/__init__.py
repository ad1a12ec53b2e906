"""Stage 4, `tnpipe report`: every RunResult under the results root -> one table.

The report's table reads RunResults ONLY (`result.json`); it never opens a checkpoint, a
core map or a dataset (`--curves` also reads each run folder's metrics.csv and train.json). For each result it shows, per dataset and network:

    ours   accuracy on the simulated chip, accuracy of the training graph (hardware mode),
           agreement between the two, whether they are exactly equal (votes, spikes),
           cores, chips, and the energy model's fps, mW,
           fps/W and uJ/frame (labelled "model estimate": nothing here is measured on silicon)
    paper  Esser et al. 2016, Table 3, "TN 1-chip" column: accuracy, cores, fps, mW, fps/W
           (tnpipe/report_data/paper_table3.csv). They are like-for-like only for our
           "1chip" networks on real data; for any other row they are shown as a reference
           and the row says so.

Rows from synthetic stand-ins carry data = "synthetic", are sorted after every real row,
and are never presented as a result on the benchmark. Rows on real data that stands in for
the paper's (e.g. VAD from FSDD speech and generated noise) carry data = "stand-in", sort
between the two, are never like-for-like with the paper, and a footnote says what replaced what.
A real subset of the paper's corpus (NLTK's TIMIT sample) is such a row too, labelled by its
own data value, e.g. "real (TIMIT sample, 16 speakers)" (its stand_in starts with it).

Derived figures (the paper prints no energy per frame): uJ/frame = 1000 * mW / fps
(mW divided by frames/s is mJ per frame), e.g. CIFAR-10 1-chip 1000 * 204.4 / 1249 = 163.7 uJ.

The package, along its seams:
    paper.py      the paper's Table 3 (one copy, report_data/paper_table3.csv)
    row.py        Row: one RunResult (+ its paper row), the unit every column reads
    collect.py    result.json files -> filtered, ordered rows (Report)
    frame.py      rows -> the one pandas DataFrame every output is rendered from
    columns.py    column titles, units, formatting; which output shows which column
    notes.py      footnotes and provenance
    render.py     csv, markdown, rich tables
    plot.py       report.png (labels.py places its labels); floorplan.py the chip floorplans;
    curves.py     training curves from metrics.csv; figures.py what the pictures share
    write.py      where the files go and what they may replace (a filtered view never
                  replaces the full report in the results root)
"""

from __future__ import annotations

from tnpipe.report.collect import NoResults, Report, check_names, collect, find_results
from tnpipe.report.columns import COLUMN, fmt_pct, fmt_sig
from tnpipe.report.notes import footnotes, provenance
from tnpipe.report.paper import PAPER_CITATION, PaperRow, load_paper_table
from tnpipe.report.render import print_table, render_csv, render_markdown, render_table, write_files
from tnpipe.report.row import Row
from tnpipe.report.write import REPORT_FILES, Written, destination, rewrite_full, write_report

__all__ = [
    "PAPER_CITATION", "NoResults", "PaperRow", "load_paper_table", "Row", "Report", "find_results", "collect",
    "check_names", "fmt_sig", "fmt_pct", "COLUMN", "render_csv", "render_markdown", "render_table",
    "print_table", "write_files", "footnotes", "provenance", "REPORT_FILES", "Written", "destination",
    "write_report", "rewrite_full",
]
