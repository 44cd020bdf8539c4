"""Mutation score of the pure modules, one row per module.

    python tools/mutation_score.py [--keep] [--max-children N]

Runs ``mutmut run`` as configured in pyproject.toml (``[tool.mutmut]``: the pure modules, mutated
against their fast unit tests only), then prints, for each module, how many mutants the tests
killed. The ``mutants/`` folder is removed first: mutmut keeps a verdict until the mutated
function changes, so a mutant that survived yesterday's tests would still be counted as a
survivor after today's. ``--keep`` reuses it (quicker, for trying one mutant again with
``mutmut run NAME``). ``mutmut results`` lists the survivors, ``mutmut show NAME`` shows one.

The score is killed / mutants. A mutant no selected test runs ("no tests") counts as a survivor,
and so does a timeout or a suspicious result: neither shows that a test tells the mutant apart.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

try:
    from tomllib import loads as toml_loads
except ModuleNotFoundError:  # Python 3.10: mutmut brings `toml` there
    from toml import loads as toml_loads

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="reuse the verdicts in mutants/")
    parser.add_argument("--max-children", type=int, help="parallel workers (default: CPU count)")
    args = parser.parse_args()

    if not args.keep:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    command = [sys.executable, "-m", "mutmut", "run"]
    if args.max_children:
        command += ["--max-children", str(args.max_children)]
    print("mutmut run: about a minute on 2 cores...", file=sys.stderr)
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:  # e.g. a test that fails without any mutant: mutmut says which
        print(run.stdout[-3000:] + run.stderr[-3000:], file=sys.stderr)
        print(f"mutmut run failed (exit {run.returncode})", file=sys.stderr)
        return run.returncode

    modules = toml_loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    rows = [
        (Path(module).name, count_statuses(ROOT / "mutants" / f"{module}.meta"))
        for module in modules
    ]
    print_table(rows)
    return 0


def count_statuses(meta: Path) -> Counter[str]:
    """How many of one module's mutants ended in each mutmut status."""
    if not meta.exists():
        return Counter()
    exit_codes = json.loads(meta.read_text())["exit_code_by_key"].values()
    return Counter(status_by_exit_code[code] for code in exit_codes)


def print_table(rows: list[tuple[str, Counter[str]]]) -> None:
    header = ("module", "mutants", "killed", "survived", "no tests", "timeout/suspicious", "score")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for name, statuses in rows:
        total = statuses.total()
        killed = statuses["killed"] + statuses["caught by type check"]
        odd = statuses["timeout"] + statuses["suspicious"] + statuses["segfault"]
        score = f"{100 * killed / total:.1f} %" if total else "-"
        cells = (name, total, killed, statuses["survived"], statuses["no tests"], odd, score)
        print("| " + " | ".join(str(cell) for cell in cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
