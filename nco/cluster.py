"""Where the runs of ``nco solve``, ``nco compare``, ``nco label`` and :func:`nco.api.solve_many`
go (:func:`execute`): in this process, in local worker processes, or as Ray tasks on a cluster.
A worker process and a Ray task each run on one CPU thread, and results come back as they finish.

On Ray, a checkpoint passed by path goes into Ray's object store once; each worker writes its bytes to a
file of its own machine the first time it needs them and keeps the loaded model for its later
tasks. Without one, each worker uses the shipped models of its own installed package. A task
whose worker dies or which raises is retried :data:`RETRIES` time(s), then reported as failed.

Ray is an optional extra (``pip install -e ".[cluster]"``): start a cluster with ``ray start
--head`` on one machine and ``ray start --address HEAD:6379`` on the others (each with this
package installed), then pass ``--ray-address HEAD:6379``; without an address a local Ray
instance starts on this machine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterator

import torch

from nco.messages import first_line

log = logging.getLogger(__name__)
BACKENDS = ("local", "ray")
RETRIES = 1


def check_backend(backend: str) -> None:
    """Raises a one-line ``ValueError`` for an unknown backend, or ``ray`` without Ray installed."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use local or ray")
    if backend == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError("--backend ray needs Ray, an optional extra: pip install -e \".[cluster]\" "
                             "(or pip install 'ray[default]>=2.9')") from None


def execute(function: Callable, calls: list[tuple], options: dict, backend: str = "local", workers: int = 1,
            address: str | None = None) -> Iterator[tuple[int, object]]:
    """Yields ``(index, result)`` of ``function(*calls[index], options)`` for every call: in order
    in this process with one local worker (its threads as they are), in finishing order across
    ``workers`` local processes or as Ray tasks (:func:`run`; one thread each). A call that raises
    in this process or a local worker raises here; a Ray task that fails twice yields its
    exception as its result."""
    check_backend(backend)
    if backend == "ray":
        yield from run(function, calls, options, address)
    elif workers == 1:
        for index, call in enumerate(calls):
            yield index, function(*call, options)
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = {pool.submit(_on_one_thread, function, call, options): index for index, call in enumerate(calls)}
            for future in as_completed(futures):
                yield futures[future], future.result()


def _on_one_thread(function: Callable, call: tuple, options: dict):
    """``function(*call, options)`` in a worker that shares the machine: one thread."""
    torch.set_num_threads(1)
    return function(*call, options)


def _connect(address: str | None):
    check_backend("ray")
    import ray

    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as error:
            message = first_line(error)
            raise ValueError(f"cannot reach the Ray cluster at {address}: {message}: start it with "
                             "`ray start --head` and pass its address (HOST:6379)") from None
    return ray


def _task(function: Callable, call: tuple, options: dict, checkpoint: bytes | None):
    """Runs ``function(*call, options)`` on one thread with ``options["checkpoint"]`` a local copy
    of the bytes (left ``None``, the shipped models, without bytes)."""
    if checkpoint is None:
        return _on_one_thread(function, call, options)
    digest = hashlib.sha256(checkpoint).hexdigest()
    path = Path(tempfile.gettempdir()) / f"nco-checkpoint-{digest[:16]}.pt"
    # content-addressed, and verified: a file of that name with other bytes is written anew
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        partial = path.with_suffix(f".{os.getpid()}.part")  # workers on one machine write in turn
        partial.write_bytes(checkpoint)
        partial.replace(path)
    return _on_one_thread(function, call, {**options, "checkpoint": str(path)})


def run(function: Callable, calls: list[tuple], options: dict, address: str | None = None
        ) -> Iterator[tuple[int, object]]:
    """Yields ``(index, result)`` of ``function(*calls[index], options)`` for every call, in
    finishing order, each run as a Ray task; ``result`` is the exception of a call that failed
    :data:`RETRIES` + 1 times. ``options["checkpoint"]``, a path, reaches the workers through the
    object store; ``None`` leaves each worker its installed shipped models."""
    ray = _connect(address)
    checkpoint = None
    if options.get("checkpoint"):
        checkpoint_path = Path(options["checkpoint"])
        if not checkpoint_path.is_file():
            raise ValueError(f"{checkpoint_path}: no such checkpoint: pass a .ckpt from `nco train` or a shipped .pt")
        checkpoint = ray.put(checkpoint_path.read_bytes())
    remote = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=True)(_task)
    pending = {remote.remote(function, call, options, checkpoint): index for index, call in enumerate(calls)}
    while pending:
        finished, _ = ray.wait(list(pending), num_returns=1)
        index = pending.pop(finished[0])
        try:
            yield index, ray.get(finished[0])
        except ray.exceptions.RayError as error:
            cause = getattr(error, "cause", None) or error
            log.warning(f"a Ray task failed twice: {type(cause).__name__}: {first_line(cause, 200)}")
            yield index, cause
