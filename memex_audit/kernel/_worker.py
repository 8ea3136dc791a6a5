"""The in-process kernel's worker threads, kept between kernels.

A kernel runs its blocks on an event loop of its own, in a thread of its own. Starting a thread
costs more than the short blocks of an offline audit take, so a thread outlives its kernel: when
a kernel closes cleanly, its loop's tasks are cancelled and the loop is stopped and closed, as it
would be with a thread of its own, and the thread waits in a pool to run the next kernel's new
loop. Nothing of one kernel's loop survives into the next; only the thread is shared.

A thread whose block timed out, or that is still busy in a block, is never pooled: it is retired
and ends once its loop stops (or never, when the block is stuck in a C call).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import os
import queue
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from memex_audit.kernel._block import BlockTimeout

T = TypeVar("T")

POOL_SIZE = 8
"""Idle worker threads kept for later kernels; more are ended when their kernel closes."""


class Worker:
    """A daemon thread running one event loop after another; blocks are submitted to ``loop``.

    Args:
        name: Names the thread (shows in thread dumps).
    """

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.busy = False
        self._idle = False
        self._handed = False
        self._loops: queue.SimpleQueue[asyncio.AbstractEventLoop | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        # A BlockTimeout that lands outside a block ends this thread; such a worker is retired.
        while True:
            loop = self._loops.get()
            if loop is None:
                return
            self._idle = False
            asyncio.set_event_loop(loop)
            with contextlib.suppress(BaseException):
                loop.run_forever()
            # The thread closes its own loop, also when it finishes long after being abandoned.
            with contextlib.suppress(BaseException):
                loop.close()
            asyncio.set_event_loop(None)
            self._idle = True

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and not self.loop.is_closed()

    @property
    def handed(self) -> bool:
        """True once the thread was given the current loop (with the kernel's first block)."""
        return self._handed

    @property
    def idle(self) -> bool:
        """True when the thread has closed its last loop and waits for the next one."""
        return self._idle and self.thread.is_alive()

    def renew(self, name: str) -> None:
        """Give an idle thread a fresh event loop for the next kernel (it starts with the first block)."""
        self.thread.name = name
        self.loop = asyncio.new_event_loop()
        self._idle = False
        self._handed = False

    def submit(self, block: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``block`` on the worker's loop; the first block also hands the loop to the thread.

        The block is queued on the loop before the thread is woken to run it: one wake-up, not two.
        """
        future = asyncio.run_coroutine_threadsafe(block, self.loop)
        if not self._handed:
            self._handed = True
            self._loops.put(self.loop)
        return future

    def clear_interrupt(self) -> None:
        """Withdraw a ``BlockTimeout`` not delivered yet (it would land in the next block)."""
        ident = self.thread.ident
        if ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)

    def interrupt(self) -> None:
        """Raise ``BlockTimeout`` in the worker thread at its next bytecode."""
        ident = self.thread.ident
        if ident is not None and self.busy:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(BlockTimeout))

    def cancel_all(self) -> None:
        loop = self.loop

        def cancel() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()

        if not loop.is_closed():
            loop.call_soon_threadsafe(cancel)

    def stop(self, join_s: float = 1.0) -> None:
        """End the thread: stop its loop and wait up to ``join_s`` seconds for it to finish."""
        self._loops.put(None)
        if not self._handed:  # the thread never ran this loop: it ends without it
            self.loop.close()
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:
            return
        self.thread.join(join_s)

    def release(self) -> None:
        """Cancel the loop's tasks, stop and close the loop; the thread then waits for the next one.

        One call into the loop's thread; nothing waits for it.
        """
        loop = self.loop

        def wind_up() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.stop()

        loop.call_soon_threadsafe(wind_up)


class WorkerPool:
    """Worker threads waiting for their next kernel, at most ``size`` of them."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self.size = size
        self._workers: list[Worker] = []
        self._lock = threading.Lock()

    def take(self, name: str) -> Worker:
        """An idle pooled thread with a fresh loop, or a new thread."""
        with self._lock:
            # The most recently returned first: its memory is the likeliest to be in the CPU's caches.
            for n in range(len(self._workers) - 1, -1, -1):
                worker = self._workers[n]
                if worker.idle:
                    del self._workers[n]
                    worker.renew(name)
                    return worker
            # A thread still closing its last loop comes back idle soon; one that never does
            # (its loop stuck in agent code) is dropped.
            self._workers = [w for w in self._workers if w.thread.is_alive()]
        return Worker(name)

    def give_back(self, worker: Worker) -> bool:
        """Wind up the worker's loop and keep its thread for a later kernel.

        Returns:
            False, and nothing done, when the worker cannot be kept: it is still running a block,
            its thread ended or was retired, or the pool is full. Stop it then.
        """
        if worker.busy or not worker.handed or worker.loop.is_closed() or not worker.thread.is_alive():
            return False
        with self._lock:
            if len(self._workers) >= self.size:
                return False
            worker.release()
            self._workers.append(worker)
        return True

    def forget(self) -> None:
        """Drop every pooled worker (after a fork, where their threads do not exist)."""
        self._workers = []
        self._lock = threading.Lock()


POOL = WorkerPool()
"""The process's pool of idle in-process kernel threads."""

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=POOL.forget)
