"""How long a kernel process and everything it started live: no longer than the host.

The host starts a *guardian* process (a fresh ``exec``, its own session and process group); the
guardian forks the kernel and runs no agent code itself. What each piece covers:

- **Process group.** Whatever agent code forks joins the group; the host kills the group (and the
  tree, below) on close and on restart.
- **Subreaper and tree walk.** The guardian is a child subreaper (Linux): processes that
  double-fork or call ``setsid`` to leave the group are re-parented to it, not to init, so the
  whole tree under it, found through ``/proc``, is stopped and then killed, not only the group.
- **Kernel exit.** When the kernel exits (a crash, ``os._exit``, a signal) the guardian kills what
  it left behind, then exits with the kernel's own status so the host reports the real cause.
- **Host death.** The guardian waits on a pipe whose write end only the host holds, and has a
  parent-death signal (``PR_SET_PDEATHSIG``): when the host dies, even by SIGKILL, it kills the
  tree and removes the scratch folder. The kernel itself dies with the guardian (its own
  parent-death signal) and leaves at once when its channel to the host closes.

Not covered: a process that leaves both the tree and the group (only a cgroup would hold it,
and none is used); a guardian that agent code kills on purpose (isolation, not a sandbox).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import sys
import time
from collections.abc import Callable
from typing import NoReturn

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_ROUNDS = 20  # a fork bomb gets this many looks before everything found is killed


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent: int | None) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies; exit now if it already did."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        os._exit(0)


def adopt_orphans() -> bool:
    """Make this process the reaper of its orphaned descendants, so they stay in its tree."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _process_table() -> dict[int, tuple[int, int]]:
    """``pid -> (parent pid, process group)`` of every process.

    Zombies are kept: a process that just exited still links its children (not re-parented yet)
    to the tree; signalling a zombie does nothing.
    """
    table: dict[int, tuple[int, int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain anything: split after the last one.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) < 3:
            continue
        table[int(name)] = (int(fields[1]), int(fields[2]))
    return table


def process_tree(root: int | None, group: int | None = None) -> set[int]:
    """Processes under ``root`` (itself included) and in process group ``group``."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found = {root} if root in table else set()
    todo = [root] if root is not None else []
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    if group is not None:
        found |= {pid for pid, (_, pgrp) in table.items() if pgrp == group}
    return found


def kill_tree(root: int | None, group: int | None, *, spare: int | None = None) -> set[int]:
    """Stop, then kill, ``root``, its descendants and the members of ``group`` (but not ``spare``).

    Everything found is stopped first, and the search repeated, so a process forking as fast as
    it can is frozen before the kill rather than leaving children behind.

    Returns:
        The processes signalled.
    """
    stopped: set[int] = set()
    for _ in range(_ROUNDS):
        found = process_tree(root, group) - {spare, os.getpid()} - stopped
        if not found:
            break
        for pid in found:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
        stopped |= found
    for pid in stopped:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if group is not None and spare is None:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)
    return stopped


def run_guardian(
    kernel_main: Callable[[], None], *, guard_fd: int, channel_fd: int, host: int | None, folder: str | None
) -> NoReturn:
    """Be the process the host started: fork the kernel, then watch it and the host.

    The guardian is the subreaper of the kernel's whole tree. It waits for one of two things:
    the kernel's exit (it then kills what the kernel left behind and exits with the kernel's own
    status, so the host reads the real cause) or the host's death (the guard pipe reaches end of
    file, or the parent-death signal arrives; it then kills the tree and removes ``folder``).

    Args:
        kernel_main: Runs the kernel in the forked process.
        guard_fd: Read end of a pipe whose write end only the host holds.
        channel_fd: The kernel's end of the channel (closed here: only the kernel may hold it).
        host: The host's pid, to notice a host that died before the guardian started watching.
        folder: The scratch folder to remove when the host dies.
    """
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    adopt_orphans()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    for sig in (signal.SIGCHLD, signal.SIGUSR1):
        signal.signal(sig, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1)
    guardian = os.getpid()
    kernel = os.fork()
    if kernel == 0:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGUSR1, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        for fd in (guard_fd, wake_read, wake_write):
            os.close(fd)
        die_with_parent(guardian)
        try:
            kernel_main()
        finally:
            os._exit(0)
    os.close(channel_fd)  # a copy here would hide the kernel's death from the host
    status = _watch(kernel, guard_fd, wake_read, host)
    kill_tree(guardian, os.getpgid(0), spare=guardian)
    _reap_all()
    kill_tree(guardian, os.getpgid(0), spare=guardian)  # anything re-parented meanwhile
    if status is None:  # the host is gone: nothing else will clean up
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        os._exit(0)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.set_wakeup_fd(-1)
        with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP have no handler
            signal.signal(number, signal.SIG_DFL)
        os.kill(guardian, number)
        time.sleep(1)  # a signal whose default is not to terminate (never sent by the kernel)
        os._exit(128 + number)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _watch(kernel: int, guard_fd: int, wake_fd: int, host: int | None) -> int | None:
    """The kernel's wait status when it exits first; ``None`` when the host goes first."""
    while True:
        if host is not None and os.getppid() != host:
            return None
        try:
            ready, _, _ = select.select([guard_fd, wake_fd], [], [], 1.0)
        except InterruptedError:
            ready = []
        if guard_fd in ready:
            try:
                if not os.read(guard_fd, 1):
                    return None
            except OSError:
                return None
        if wake_fd in ready:
            with contextlib.suppress(OSError):
                os.read(wake_fd, 512)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 0
            if pid == 0:
                break
            if pid == kernel:
                return status


def _reap_all(within_s: float = 2.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def main() -> None:
    """``python _lifetime.py FD CONFIG_JSON``: the process the host starts, run as a plain script.

    Run as a script, not as ``-m memex_audit...``: importing the package would start library
    threads (allocators, thread pools) in a process that is about to fork. The kernel imports
    the package after the fork.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    fd = int(sys.argv[1])
    config = json.loads(sys.argv[2])

    def serve() -> None:
        from memex_audit.kernel._child import serve as serve_kernel

        serve_kernel(fd, config)

    run_guardian(
        serve,
        guard_fd=int(config["guard_fd"]),
        channel_fd=fd,
        host=config.get("parent"),
        folder=config.get("folder"),
    )


if __name__ == "__main__":
    main()
