"""The report's footnotes (what the column marks mean) and provenance (where it came from)."""

from __future__ import annotations

from tnpipe.report.collect import Report
from tnpipe.report.paper import PAPER_CITATION, PAPER_NETWORK

MODEL_NOTE = "fps, mW, fps/W and uJ/frame of ours are model estimates (tnpipe energy model), not measurements"
EXACT_NOTE = ("exact: the chip simulation against the training graph in hardware mode, from result.json's "
              "equivalence record: votes+spikes = every class vote of every frame and every spike of the "
              "spike-level sample equal; votes = votes equal, no spike sample; NO = something differed; "
              "- = no record (an older result.json): unknown, not exact")


def footnotes(report: Report) -> list[str]:
    """The notes each table or file prints under itself, one per column mark and row kind."""
    notes = [
        f"* {MODEL_NOTE}.",
        f"† paper: {PAPER_CITATION}. Like-for-like only on rows whose network is {PAPER_NETWORK!r} "
        "(paper row 'TN 1-chip') on real data, run on every frame of the official test split; on other "
        "networks, subsets or stand-in data ('ref. only') they are the paper's 1-chip numbers, shown for reference.",
    ]
    notes.append(f"‡ {EXACT_NOTE}.")
    if any(r.synthetic for r in report.rows):
        notes.append("synthetic rows come from the generated stand-in datasets: they test the pipeline "
                     "and are NOT results on the benchmark.")
    for ds, what in sorted({(r.dataset, r.stand_in) for r in report.rows if r.stand_in}):
        notes.append(f"stand-in: {ds}: {what}; not the paper's benchmark data.")
    for p in sorted({r.paper.note for r in report.rows if r.paper is not None and r.paper.note}):
        notes.append(f"paper note: {p}.")
    return notes


def provenance(report: Report) -> list[str]:
    """Where the report and its results came from: this environment, and each result's own."""
    env = report.env
    lines = [
        f"report written {env.get('date', '?')} by tnpipe {env.get('versions', {}).get('tnpipe', '?')} "
        f"at git {env.get('git_sha', '?')} on {env.get('machine', '?')} "
        f"({', '.join(f'{k} {v}' for k, v in env.get('versions', {}).items())})",
        f"results root: {report.root}",
    ]
    by_sha: dict[tuple[str, str, str], int] = {}
    for r in report.rows:
        v = r.result.versions
        device = r.result.device
        key = (r.result.git_sha, ", ".join(f"{k} {v[k]}" for k in sorted(v)), device)
        by_sha[key] = by_sha.get(key, 0) + 1
    for (sha, vers, device), n in sorted(by_sha.items()):
        on = f", simulated on {device}" if device else ""
        lines.append(f"{n} result(s) from git {sha} ({vers}{on})")
    return lines
