"""`python -m lab_server.grading assign|grade|run-one` (the Makefile's `notebooks` and `grade`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..config import find_project_root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_server.grading")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("assign", help="build notebooks/ from instructor/source/")
    build.add_argument("names", nargs="*", help="only sources starting with these, e.g. 01")
    grade = commands.add_parser("grade", help="grade a folder of submitted notebooks")
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--out", type=Path, default=Path("build/grades"))
    grade.add_argument("--timeout", type=float, default=300, help="seconds per notebook")
    one = commands.add_parser("run-one", help="(internal) grade one notebook in this folder")
    one.add_argument("autograder")
    one.add_argument("submission")
    args = parser.parse_args(argv)

    from . import assign as assigning
    from . import batch

    root = find_project_root() or Path.cwd()
    if args.command == "run-one":
        results = batch.run_one(args.autograder, args.submission)
        print(batch.MARK + json.dumps(results, ensure_ascii=False), flush=True)
        return 0
    if args.command == "assign":
        for source in assigning.sources(root, args.names):
            print("→", assigning.assign(source, root / "notebooks").relative_to(root))
        return 0
    autograders = args.out / "autograder"
    wanted = {batch.assignment_of(p) for p in args.submissions.glob("*.ipynb")}
    for source in assigning.sources(root):
        if source.stem in wanted:
            assigning.assign(source, args.out / "student", autograders)
    outcomes = batch.grade_folder(args.submissions, autograders, args.out, args.timeout)
    print(f"{len(outcomes)} notebooks → {args.out / 'grades.csv'} y {args.out / 'feedback'}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
