"""Command line: ``python -m analysis.synthetic --seed S --scale K --out DIR``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from analysis.synthetic import DEFAULT_SCALE, DEFAULT_SEED
from analysis.synthetic.folder import generate


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate the synthetic export folder, print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis.synthetic",
        description="Write a SYNTHETIC Stepping Stones raw export folder (seeded, byte-stable).",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--scale", type=int, default=DEFAULT_SCALE, help="K times as many women (K >= 1)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--from-manifest", type=Path, default=None, metavar="MANIFEST",
        help="take seed and scale from a manifest.json written by an earlier run",
    )
    args = parser.parse_args(argv)
    if args.from_manifest is not None:
        recorded = json.loads(args.from_manifest.read_text(encoding="utf-8"))
        args.seed, args.scale = int(recorded["seed"]), int(recorded["scale"])
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    started = time.perf_counter()
    manifest = generate(seed=args.seed, scale=args.scale, out=args.out)
    elapsed = time.perf_counter() - started
    print(
        f"SYNTHETIC study written to {args.out}: seed {args.seed}, scale {args.scale}, "
        f"{len(manifest['files'])} files in {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
