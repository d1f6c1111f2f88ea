"""Executors: run independent tasks in-process, on a local process pool, or on Ray.

Results are yielded as tasks finish (order of completion); callers key them by id, so the outcome
does not depend on the executor.
"""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Sequence

from core.errors import UserError


CONNECT_TIMEOUT_S = 5.0


def _require_cluster(address: str) -> None:
    """A ``UserError`` within ``CONNECT_TIMEOUT_S`` when nothing listens at a ``host:port`` Ray address
    (``ray.init`` would otherwise wait minutes); "auto" / "local" are left to Ray."""
    import socket

    if address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError("--address", f"'{address}' is not host:port", "e.g. --address 10.0.0.5:6379 or --address auto")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise UserError("--address", f"no Ray cluster answers at {address} within {CONNECT_TIMEOUT_S:g} s ({exc.strerror or exc})",
                        "start one there with `ray start --head`, or drop --address to use a local Ray") from None


def map_tasks(fn: Callable[..., Any], args: Sequence[tuple[Any, ...]], workers: int = 1,
              executor: str = "local", address: str | None = None) -> Iterator[Any]:
    if not args:
        return
    if executor == "local" and workers <= 1:
        for a in args:
            yield fn(*a)
    elif executor == "local":
        ctx = mp.get_context("spawn")  # fresh interpreters: no inherited warp/torch state
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futs = [pool.submit(fn, *a) for a in args]
            for f in as_completed(futs):
                yield f.result()
    elif executor == "ray":
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray", "ray is not installed", "pip install 'ray[default]' or use --executor local") from None
        if not ray.is_initialized():
            if address:
                _require_cluster(address)
            try:
                ray.init(address=address, num_cpus=None if address else max(1, workers), include_dashboard=False,
                         log_to_driver=False)
            except (ConnectionError, TimeoutError, RuntimeError) as exc:
                raise UserError("--address", f"could not connect to the Ray cluster at {address!r} "
                                f"({' '.join(str(exc).split())[:120]})", "start one with `ray start --head` or drop --address") from None
        remote = ray.remote(fn)
        pending = [remote.remote(*a) for a in args]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield ray.get(ready[0])
    else:
        raise UserError("--executor", f"unknown executor '{executor}'", "use local or ray")
