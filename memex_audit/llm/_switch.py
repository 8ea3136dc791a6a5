"""The global switch that forbids real model requests (tests keep it off).

Real clients call ``check_model_requests_allowed`` before any network I/O; the offline fakes
never do, so a test suite can switch requests off once and still run every agent offline.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

from memex_audit.errors import ModelError

ENV_VAR = "MEMEX_AUDIT_ALLOW_MODEL_REQUESTS"
"""Environment variable giving the switch's initial setting (``0``/``false``/``no``: off), so a
CI job or a child process can forbid spending before any code runs."""

_lock = threading.Lock()
_allowed = os.environ.get(ENV_VAR, "1").strip().lower() not in {"0", "false", "no", "off"}


def model_requests_allowed() -> bool:
    """Whether real clients may currently send requests."""
    return _allowed


class allow_model_requests:
    """Switch real model requests on or off for the whole process.

    The switch takes effect as soon as it is called. Used as a context manager, it also restores
    the previous setting on exit::

        allow_model_requests(False)            # from now on
        with allow_model_requests(False):      # only inside the block
            ...

    Args:
        flag: ``False`` makes ``AnthropicClient`` and ``OpenAICompatibleClient`` raise
            ``ModelError`` before sending anything; fakes keep working.
    """

    def __init__(self, flag: bool) -> None:
        global _allowed
        with _lock:
            self._previous = _allowed
            _allowed = bool(flag)

    def __enter__(self) -> allow_model_requests:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _allowed
        with _lock:
            _allowed = self._previous


def check_model_requests_allowed(client: str, model: str) -> None:
    """Raise ``ModelError`` when real requests are switched off.

    Args:
        client: The client's class name, for the message.
        model: The model that would have been called.
    """
    if not _allowed:
        raise ModelError(
            f"{client}({model!r}): real model requests are switched off "
            "(allow_model_requests(False)); use ScriptedModel or FunctionModel offline"
        )
