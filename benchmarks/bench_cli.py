"""Start-up cost of the light CLI commands, as a ratio to a bare interpreter start.

    python benchmarks/bench_cli.py [--runs 7]

Reports the median wall time of ``forensic --help`` and ``forensic plugins`` (with every installed plugin) next to
``python -c pass`` measured in the same run. Target: under 0.5 s on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

FORENSIC = str(Path(sys.executable).with_name("forensic"))


def median_seconds(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
    print(f"{'command':<22}{'median s':>10}{'x python -c pass':>18}")
    print(f"{'python -c pass':<22}{baseline:>10.3f}{1.0:>18.2f}")
    for label, command in (("forensic --help", [FORENSIC, "--help"]), ("forensic plugins", [FORENSIC, "plugins"])):
        seconds = median_seconds(command, args.runs)
        print(f"{label:<22}{seconds:>10.3f}{seconds / baseline:>18.2f}")


if __name__ == "__main__":
    main()
