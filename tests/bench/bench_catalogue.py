"""Benchmark: load the lesson catalogue vs merely reading the bytes vs python-frontmatter.

Run as a script (never inside the test suite): prints one JSON line of figures.

    .venv/bin/python tests/bench/bench_catalogue.py [--content DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import frontmatter

from bot.domain.catalogue import iter_lesson_paths, load_catalogue

PROJECT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT.parent / "shared" / "corpus" / "ai-courses"


def _median_ms(run: Callable[[], object], repeat: int) -> float:
    run()  # warm the page cache and imports
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def main() -> None:
    """Measure and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=CORPUS if CORPUS.is_dir() else None)
    parser.add_argument("--repeat", type=int, default=30)
    arguments = parser.parse_args()
    content: Path = arguments.content or PROJECT / "lessons"
    paths = [where.absolute for where in iter_lesson_paths(content)]

    def read_floor() -> int:
        # The floor: read every byte of the same files, with the file list already known.
        total = 0
        for path in paths:
            with open(path, "rb") as handle:
                total += len(handle.read())
        return total

    def catalogue() -> int:
        return len(load_catalogue(content).files)

    def python_frontmatter() -> int:
        # What a user would write: glob the layout, load each file, group by program/slug.
        lessons: dict[str, dict[str, object]] = {}
        pattern = os.path.join(content, "programs", "*", "lessons", "*", "*.md*")
        for path in sorted(glob.glob(pattern)):
            post = frontmatter.load(path)
            parts = Path(path).parts
            identity = f"{parts[-4]}/{Path(path).stem}"
            lessons.setdefault(identity, {})[parts[-2]] = post.metadata
        return sum(len(files) for files in lessons.values())

    files = catalogue()
    assert python_frontmatter() == files == len(paths), "the three ways disagree on the files"
    floor_ms = _median_ms(read_floor, arguments.repeat)
    catalogue_ms = _median_ms(catalogue, arguments.repeat)
    frontmatter_ms = _median_ms(python_frontmatter, max(3, arguments.repeat // 5))
    figures = {
        "bench": "catalogue",
        "content": str(content),
        "files": files,
        "lessons": len(load_catalogue(content).lessons),
        "bytes": read_floor(),
        "repeat": arguments.repeat,
        "catalogue_ms": round(catalogue_ms, 2),
        "read_floor_ms": round(floor_ms, 2),
        "python_frontmatter_ms": round(frontmatter_ms, 2),
        "catalogue_vs_floor": round(catalogue_ms / floor_ms, 2),
        "python_frontmatter_vs_floor": round(frontmatter_ms / floor_ms, 2),
        "aim_catalogue_vs_floor": 2.0,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
