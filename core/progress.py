"""Progress bars (rich) with ETA for long jobs; quiet when not on a terminal unless asked."""
from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterator


@contextlib.contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int, int, dict[str, Any]], None]]:
    """Yield an ``on_progress(done, total, record)`` callback driving a rich progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    cols = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[last]}")]
    with Progress(*cols, transient=False, disable=not sys.stderr.isatty()) as prog:
        task = prog.add_task(description, total=total, last="")

        def update(done: int, tot: int, rec: dict[str, Any]) -> None:
            last = f"{rec.get('sample_id', '')} {rec.get('status', '')}"
            prog.update(task, completed=done, total=tot, last=last)
            if not sys.stderr.isatty():
                print(f"{description}: {done}/{tot} {last}", file=sys.stderr, flush=True)

        yield update
