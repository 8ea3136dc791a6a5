"""The offline audit beside inspect-scout's regex scan, end to end, on the same real rollouts.

Both sides run as a new process each time, so start-up is part of the wall time:

* ``memex-audit``: ``python -m memex_audit.cli audit DATA --taxonomy memex --out RUN`` (default
  executor, a fresh ``RUN`` folder each time), which loads every file under ``DATA`` and audits the
  failed trajectories;
* ``inspect-scout``: ``scout scan tool_errors.py -T DB --scans SCANS`` with a scanner made of
  ``grep_scanner`` regular expressions (tracebacks, exception lines, error lines, non-zero exit
  codes, HTTP errors) over the tool and user messages; no model is called.

Before the timing, and not timed, the trajectories our audit audits (the failed ones, picked with
``plan_audit`` as the command does) are converted to inspect-scout transcripts (system, user,
assistant with tool calls, tool with its error) and inserted into a transcript database (parquet) in
a scratch folder, by the Python that has inspect-scout installed. Both sides thus cover the same
trajectories; ours also reads the succeeded ones and the raw source formats, scout's reads its own
database. Each side runs ``--repeat`` times, alternating, and the median is reported. Our package
is byte-compiled first, as pip compiles scout's when it installs it.

inspect-scout is kept out of this project's environment; give it its own:

    python3 -m venv /tmp/scout-venv && /tmp/scout-venv/bin/pip install inspect-scout
    python benchmarks/scout.py --scout-python /tmp/scout-venv/bin/python
    python benchmarks/scout.py --scout-python /tmp/scout-venv/bin/python --repeat 5
    python benchmarks/scout.py --scout-python /tmp/scout-venv/bin/python --max-processes 2
    python benchmarks/scout.py                     # our side only (scout skipped)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from memex_audit.auditor import plan_audit
from memex_audit.loaders import load
from memex_audit.trajectory import Step, Trajectory

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

TOOL_ERRORS = {
    "traceback": r"(?m)^Traceback \(most recent call last\):",
    "exception": r"(?m)^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception)\b:",
    "error_line": r"(?im)^\s*(?:error|fatal|exception)\b",
    "nonzero_exit": [r"<returncode>\s*-?[1-9]\d*\s*</returncode>", r"(?m)^exitcode: [1-9]\d*"],
    "http_error": r"\b(?:HTTP(?:/\d(?:\.\d)?)?|[Ss]tatus(?: code)?:?) [45]\d\d\b",
}
"""What counts as an error-looking output, label by label (regular expressions, case as written)."""

SCANNER = f'''"""Error-looking outputs in a transcript: regular expressions only, no model."""

from inspect_scout import Scanner, Transcript, grep_scanner, scanner


@scanner(messages=["tool", "user"])
def tool_errors() -> Scanner[Transcript]:
    return grep_scanner({TOOL_ERRORS!r}, regex=True, ignore_case=False)
'''
"""The scanner file given to ``scout scan``."""

INSERT = """
import asyncio, json, sys
from inspect_scout import Transcript, transcripts_db

async def insert(source, location):
    with open(source) as fh:
        transcripts = [Transcript.model_validate_json(line) for line in fh]
    async with transcripts_db(location) as db:
        await db.insert(transcripts)
    print(len(transcripts))

asyncio.run(insert(sys.argv[1], sys.argv[2]))
"""
"""Run by the Python with inspect-scout: JSON lines of transcripts into a transcript database."""

COUNT = """
import sys
from inspect_scout import scan_results_df
frame = scan_results_df(sys.argv[1]).scanners["tool_errors"]
hits = frame[frame["value"].fillna(0).astype(int) > 0]
print(frame["transcript_id"].nunique(), hits["transcript_id"].nunique(), len(hits))
"""
"""Run by the Python with inspect-scout: transcripts scanned, flagged (any label matched), label hits."""


# -- our trajectories as inspect-scout transcripts --------------------------------------------------


def _joined(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)


def _message(step: Step, position: int) -> dict[str, Any] | None:
    if step.role == "system":
        return {"role": "system", "content": step.text or ""}
    if step.role == "user":
        return {"role": "user", "content": _joined(step.text, step.output, step.error)}
    if step.role == "assistant":
        code = step.code if step.code and step.code not in (step.text or "") else None
        content: list[dict[str, Any]] = []
        if step.reasoning:
            content.append({"type": "reasoning", "reasoning": step.reasoning})
        content.append({"type": "text", "text": _joined(step.text, code)})
        calls = [
            {
                "id": call.id or f"call-{position}-{n}",
                "function": call.name,
                "arguments": call.arguments
                or ({"arguments": call.arguments_raw} if call.arguments_raw else {}),
                "type": "function",
            }
            for n, call in enumerate(step.tool_calls)
        ]
        return {"role": "assistant", "content": content, "tool_calls": calls or None}
    if step.role == "tool":
        return {
            "role": "tool",
            "content": step.output if step.output is not None else step.text or "",
            "tool_call_id": step.tool_call_id,
            "function": step.tool_name,
            "error": {"type": "unknown", "message": step.error} if step.error else None,
        }
    return None


def _transcript(position: int, key: str, trajectory: Trajectory) -> dict[str, Any]:
    messages = [m for step in trajectory.steps if (m := _message(step, step.index)) is not None]
    return {
        # scout names files after the id: keep it to file-name characters, unique by position.
        "transcript_id": f"{position:05d}-" + re.sub(r"[^A-Za-z0-9._-]+", "_", key),
        "source_type": "memex_audit",
        "task_set": key.split("/", 1)[0],
        "task_id": trajectory.task_id,
        "agent": trajectory.harness,
        "model": trajectory.model,
        "success": trajectory.success,
        "score": trajectory.outcome.reward,
        "message_count": len(messages),
        "metadata": {"key": key},
        "messages": messages,
    }


def prepare(data: Path, work: Path, scout_python: str) -> tuple[Path, Path, int]:
    """The failed trajectories of ``data`` in a transcript database under ``work``, and the scanner
    file (not timed). Returns the scanner, the database and how many transcripts it holds."""
    started = time.perf_counter()
    units, _ = plan_audit(load(data).trajectories)
    source = work / "transcripts.jsonl"
    with source.open("w") as fh:
        for position, unit in enumerate(units):
            fh.write(json.dumps(_transcript(position, unit.key, unit.trajectory)) + "\n")
    database = work / "transcripts"
    done = subprocess.run(
        [scout_python, "-c", INSERT, str(source), str(database)], capture_output=True, text=True, cwd=work
    )
    if done.returncode != 0:
        raise SystemExit(f"inserting transcripts failed:\n{done.stderr[-3000:]}")
    inserted = int(done.stdout.split()[-1])
    scanner = work / "tool_errors.py"
    scanner.write_text(SCANNER)
    print(
        f"prepared {inserted} transcripts ({len(units)} failed trajectories) in {database} "
        f"in {time.perf_counter() - started:.1f} s (not timed)"
    )
    return scanner, database, inserted


# -- the two commands -------------------------------------------------------------------------------


def _timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, done.stdout


def run_audit(data: Path, out: Path) -> tuple[float, int]:
    """Wall time of ``memex-audit audit DATA --taxonomy memex`` and how many it audited."""
    command = [sys.executable, "-m", "memex_audit.cli", "audit", str(data), "--taxonomy", "memex"]
    wall, stdout = _timed([*command, "--out", str(out)], ROOT, {**os.environ, "COLUMNS": "160"})
    found = re.search(r"audited (\d+) trajectories", stdout)
    return wall, int(found.group(1)) if found else -1


def run_scan(
    scout_python: str, scanner: Path, database: Path, scans: Path, max_processes: int | None
) -> tuple[float, tuple[int, int, int]]:
    """Wall time of ``scout scan`` over the database, and what the results say it scanned."""
    command = [scout_python, "-c", "from inspect_scout._cli.main import main; main()", "scan"]
    command += [str(scanner), "-T", str(database), "--scans", str(scans), "--display", "none"]
    if max_processes:
        command += ["--max-processes", str(max_processes)]
    wall, _ = _timed(command, scanner.parent)
    (location,) = [p for p in scans.rglob("*") if p.is_dir() and p.name.startswith("scan_id=")]
    summary = location / "_summary.json"
    if not summary.exists() or not json.loads(summary.read_text()).get("complete"):
        errors = location / "_errors.jsonl"
        raise SystemExit(
            f"{' '.join(command)} did not complete:\n{errors.read_text()[-3000:] if errors.exists() else ''}"
        )
    done = subprocess.run([scout_python, "-c", COUNT, str(location)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"reading the scan results failed:\n{done.stderr[-3000:]}")
    scanned, matched, rows = (int(n) for n in done.stdout.split()[-3:])
    return wall, (scanned, matched, rows)


def scout_version(scout_python: str | None) -> str | None:
    """inspect-scout's version in ``scout_python``, or ``None`` (and why) when it is not there."""
    if not scout_python:
        print("inspect-scout: skipped (no --scout-python; see the commands at the top of this file)")
        return None
    try:
        done = subprocess.run(
            [scout_python, "-c", "import inspect_scout; print(inspect_scout.__version__)"],
            capture_output=True,
            text=True,
        )
    except OSError as exc:
        print(f"inspect-scout: skipped ({scout_python}: {exc})")
        return None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(f"inspect-scout: skipped (cannot import inspect_scout with {scout_python}: {last})")
        return None
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", nargs="?", type=Path, default=SHARED_DATA)
    parser.add_argument("--scout-python", help="A Python with inspect-scout installed.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each side (median reported).")
    parser.add_argument(
        "--max-processes", type=int, default=None, help="scout scan --max-processes (default: scout's)."
    )
    parser.add_argument("--keep", type=Path, default=None, help="Work here and keep the folder.")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} is not there")

    version = scout_version(args.scout_python)
    work = args.keep or Path(tempfile.mkdtemp(prefix="memex-scout-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    # Byte-compiled as an installed package is (scout's environment was compiled by pip).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "memex_audit")], check=True)
    try:
        scan = prepare(args.data, work, args.scout_python) if version else None
        ours: list[float] = []
        theirs: list[float] = []
        audited, scanned = -1, (-1, -1, -1)
        for n in range(args.repeat):
            out = work / f"run-{n}"
            shutil.rmtree(out, ignore_errors=True)
            wall, audited = run_audit(args.data, out)
            ours.append(wall)
            line = f"  repeat {n + 1}: memex-audit {wall:.2f} s"
            if scan is not None:
                scanner, database, _ = scan
                wall, scanned = run_scan(
                    args.scout_python, scanner, database, work / f"scans-{n}", args.max_processes
                )
                theirs.append(wall)
                line += f", scout scan {wall:.2f} s"
            print(line, flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    mine = statistics.median(ours)
    print(
        f"\nend to end over {args.data}, start-up included, median of {args.repeat} (load average now "
        f"{os.getloadavg()[0]:.2f})"
    )
    print(f"{'run':<46} {'trajectories':>12} {'wall s':>8} {'traj/s':>8}")
    print(
        f"{'memex-audit audit --taxonomy memex (offline)':<46} {audited:>12} {mine:>8.2f} {audited / mine:>8.1f}"
    )
    if theirs:
        other = statistics.median(theirs)
        name = f"inspect-scout {version} scan, grep_scanner"
        print(f"{name:<46} {scanned[0]:>12} {other:>8.2f} {scanned[0] / other:>8.1f}")
        print(f"\nratio (scout time / our time): {other / mine:.2f}x")
        print(
            f"scout flagged {scanned[1]} of {scanned[0]} transcripts "
            f"({scanned[2]} label hits over {len(TOOL_ERRORS)} labels)"
        )


if __name__ == "__main__":
    main()
