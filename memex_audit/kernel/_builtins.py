"""A kernel namespace's own builtins, so that rebinding ``len`` or ``print`` stays in the kernel.

Agent code that runs ``builtins.len = None`` or ``__builtins__.print = ...`` would otherwise change
the interpreter-wide ``builtins`` module, and with it every library and event loop sharing the
process. Each namespace gets a copy of the builtins as a module object: ``import builtins`` inside
the kernel returns that copy, and so does ``__builtins__``. Before every block, names agent code
rebound in its copy are put back (with a notice for the model), and names changed in the real
module (through ``sys.modules['builtins']``, which no copy can intercept) are restored after the
block.

This guards against accidents and naive code, not against code that sets out to escape: the real
module stays reachable (``sys.modules``, ``importlib``, object graphs). Only the subprocess kernel
keeps the host out of reach of such code.
"""

from __future__ import annotations

import builtins
import itertools
import operator
import types
from collections.abc import Mapping
from typing import Any

_REAL_IMPORT = builtins.__import__
_is, _repeat = operator.is_, itertools.repeat
# Bound here so that restoring works while the module's own ``callable`` or ``sorted`` is broken.
_vars, _callable, _sorted, _all, _map = vars, callable, sorted, all, map
_PRISTINE: dict[str, Any] = dict(vars(builtins))
# Set by the interactive interpreter and by gettext; not ours to restore.
_MUTABLE = frozenset({"_", "__import__"})


class KernelBuiltins:
    """A copy of the builtins for one namespace, and what it held at the start.

    Args:
        overrides: Names bound differently in this kernel (say, an ``input`` that fails fast).

    Attributes:
        module: Bind it as the namespace's ``__builtins__``; ``import builtins`` returns it too.
    """

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        module = types.ModuleType("builtins", builtins.__doc__)
        module.__dict__.update(_PRISTINE)
        module.__dict__.update(overrides or {})

        def __import__(
            name: str,
            globals: Mapping[str, Any] | None = None,
            locals: Mapping[str, Any] | None = None,
            fromlist: tuple[str, ...] | list[str] = (),
            level: int = 0,
        ) -> Any:
            if name == "builtins" and level == 0:
                return module
            return _REAL_IMPORT(name, globals, locals, fromlist, level)

        module.__dict__["__import__"] = __import__
        self.module = module
        self._pristine = dict(module.__dict__)

    def restore(self) -> list[str]:
        """Put back every name agent code rebound or deleted in this copy; one notice per name."""
        live = self.module.__dict__
        if _all_same(live, self._pristine):
            return []
        changed = [name for name, value in self._pristine.items() if live.get(name, _MISSING) is not value]
        for name in changed:
            live[name] = self._pristine[name]
        return [_notice(name) for name in sorted(changed)]


def restore_host_builtins() -> list[str]:
    """Put back builtins that code changed in the interpreter-wide module; one notice per name.

    Runs right after agent code, when ``len`` or ``sorted`` may be anything: it uses only names
    bound in this module.
    """
    live = _vars(builtins)
    if _all_same(live, _PRISTINE) and _callable(live.get("__import__")):
        return []
    changed = [
        name
        for name, value in _PRISTINE.items()
        if name not in _MUTABLE and live.get(name, _MISSING) is not value
    ]
    for name in changed:
        live[name] = _PRISTINE[name]
    # Import hooks of test runners and profilers wrap __import__ legitimately; a non-callable does not.
    if not _callable(live.get("__import__")):
        live["__import__"] = _REAL_IMPORT
        changed.append("__import__")
    return [_notice(name) for name in _sorted(changed)]


def _all_same(live: Mapping[str, Any], pristine: Mapping[str, Any]) -> bool:
    """True when every name of ``pristine`` is bound in ``live`` to the very same object.

    The common case, checked in C (``map``) before the loop that finds what changed.
    """
    found = _map(live.get, pristine.keys(), _repeat(_MISSING))
    return _all(_map(_is, found, pristine.values()))


def _notice(name: str) -> str:
    return (
        f"the builtin `{name}` was rebound or deleted and has been restored; use another name for your value."
    )


class _Missing:
    pass


_MISSING = _Missing()
