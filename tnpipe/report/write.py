"""Where a report's files go, and what they may replace (the report's write policy).

The results root holds THE report: report.md and report.csv of every result under it (and
report.png, floorplans/ and curves/ when asked). Only a full Report (collected from every
result, no filter: `Report.full`) is ever written there, and it replaces the previous full
report freely (it is derived, and regenerated from the same results). A filtered view (some
datasets, `--network`, a run's own results) is printed, and written only into a folder the
user names with `--out`; an existing file there is replaced only with `--force`, and a
filtered view is refused in the results root whatever the flags, so a partial report never
stands in for the whole one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tnpipe.errors import ArtifactError
from tnpipe.report.collect import Report

REPORT_FILES = ("report.md", "report.csv")


@dataclass
class Written:
    """What a write produced: the files, and lines for the person (notes, warnings)."""

    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _same(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def destination(report: Report, out: Path | None, force: bool = False) -> tuple[Path | None, bool]:
    """(folder to write into or None for print only, whether existing files may be replaced).

    No `out`: a full report goes into the results root, a filtered one is printed only.
    `out` = the results root: only a full report (a filtered one is refused, even with force).
    Any other `out`: replaced only with `force`."""
    if out is None:
        return (Path(report.root), True) if report.full else (None, False)
    if _same(out, report.root):
        if not report.full:
            raise ArtifactError(f"{out}: the results root holds the full report of every result; a filtered view "
                                "is never written there: choose another --out, or drop the filter")
        return Path(out), True
    return Path(out), force


def targets(report: Report, out_dir: Path, plot: bool, curves: bool) -> list[Path]:
    """Every file a write of `report` into `out_dir` would replace."""
    from tnpipe.report.curves import curves_path
    from tnpipe.report.floorplan import floorplan_path

    paths = [out_dir / f for f in REPORT_FILES]
    if plot:
        paths += [out_dir / "report.png"] + [floorplan_path(out_dir, r) for r in report.rows if r.result.floorplan is not None]
    if curves:
        paths += [curves_path(out_dir, r) for r in report.rows]
    return paths


def write_report(report: Report, out_dir: Path, plot: bool = False, curves: bool = False,
                 overwrite: bool = False) -> Written:
    """report.md and report.csv (plus pictures and curves) into `out_dir`; overwrite=False
    refuses, before writing anything, when one of them exists. A filtered report is refused
    in its results root (see `destination`)."""
    from tnpipe.report.render import write_files

    out_dir = Path(out_dir)
    if not report.full and _same(out_dir, report.root):
        destination(report, out_dir)   # raises: a filtered view never replaces the full report
    if not overwrite:
        for p in targets(report, out_dir, plot, curves):
            if p.exists():
                raise ArtifactError(f"{p}: exists; pass --force to overwrite it, or choose another --out")
    done = Written(list(write_files(report, out_dir).values()))
    if plot:
        from tnpipe.report.plot import write_plots

        pics, warnings = write_plots(report, out_dir)
        done.paths += pics
        done.warnings += warnings
    if curves:
        from tnpipe.report.curves import write_curves

        pics, notes, warnings = write_curves(report, out_dir)
        done.paths += pics
        done.notes += notes
        done.warnings += warnings
    return done


def rewrite_full(root: Path, plot: bool = False) -> Written:
    """What `tnpipe run` ends with: the FULL report of every result under `root` rewritten
    there (a run of one dataset never leaves a report.md of one row in place of the whole)."""
    from tnpipe.report.collect import collect

    return write_report(collect(root), root, plot, overwrite=True)
