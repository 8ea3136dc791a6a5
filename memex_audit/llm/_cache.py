"""An on-disk cache of model responses, keyed by the request.

Re-running an audit with the same prompts and model replays the recorded replies at no cost
and without a network; a changed prompt, message, tool or sampling setting is a miss. Entries
are written atomically (temporary file + rename), so a crash never leaves a half-written entry;
an entry that cannot be read anyway is treated as a miss and rewritten.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from pydantic import ValidationError

from memex_audit.llm._protocol import LLMClient
from memex_audit.llm._types import LLMRequest, LLMResponse

CACHE_FORMAT = 1
"""Version of the cache key and entry layout; bumping it invalidates every entry."""


def request_key(model: str, request: LLMRequest) -> str:
    """The cache key of ``request`` sent to ``model``: a SHA-256 of their canonical JSON."""
    canonical = orjson.dumps(
        {"format": CACHE_FORMAT, "model": model, "request": request.model_dump(mode="json")},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


@dataclass
class CacheStats:
    """Counts of what the cache did since it was created."""

    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    """Entries found but unreadable (then treated as misses)."""


class CachedClient:
    """Wraps any ``LLMClient`` with an on-disk response cache.

    A hit returns the recorded response with ``cached=True`` and ``cost_usd=0.0`` (the token
    counts stay, so token budgets behave as in the recorded run). Only successful responses are
    stored. A hit needs no network, so it works while real requests are switched off.

    Args:
        inner: The client that answers misses.
        cache_dir: Folder of the entries (created when missing); safe to share between runs.
        replay: Return a hit exactly as recorded (its cost and latency included, ``cached``
            still set), so a rerun reproduces the recorded run's results and budget decisions
            byte for byte (``memex-audit ... --cache DIR``). Off: a hit costs nothing.
        normalize: Maps a request to the request its key is computed from, to leave out what
            varies between otherwise identical runs (e.g. a shared budget's spend in a status
            line, which depends on how concurrent agents interleave).

    Attributes:
        stats: Hits, misses and corrupt entries seen.
    """

    def __init__(
        self,
        inner: LLMClient,
        cache_dir: str | os.PathLike[str],
        *,
        replay: bool = False,
        normalize: Callable[[LLMRequest], LLMRequest] | None = None,
    ) -> None:
        self.inner = inner
        self.model = inner.model
        self.cache_dir = Path(cache_dir)
        self.replay = replay
        self.normalize = normalize
        self.stats = CacheStats()

    def __repr__(self) -> str:
        return f"CachedClient({self.inner!r}, cache_dir={str(self.cache_dir)!r})"

    def path_for(self, request: LLMRequest) -> Path:
        """Where the entry for ``request`` lives (whether or not it exists)."""
        key = request_key(self.inner.model, self.normalize(request) if self.normalize else request)
        return self.cache_dir / key[:2] / f"{key}.json"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """The recorded response for ``request``, or the inner client's (then recorded)."""
        path = self.path_for(request)
        hit = self._read(path)
        if hit is not None:
            self.stats.hits += 1
            if self.replay:
                return hit.model_copy(update={"cached": True})
            usage = hit.usage.model_copy(update={"cost_usd": 0.0})
            return hit.model_copy(update={"cached": True, "usage": usage, "latency_s": 0.0})
        self.stats.misses += 1
        response = await self.inner.complete(request)
        if response.received_at is None:
            response = response.model_copy(update={"received_at": datetime.now(UTC)})
        self._write(path, request, response)
        return response

    def _read(self, path: Path) -> LLMResponse | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            self.stats.corrupt += 1
            return None
        try:
            entry = orjson.loads(raw)
            if entry.get("format") != CACHE_FORMAT:
                raise ValueError("old cache format")
            return LLMResponse.model_validate(entry["response"])
        except (orjson.JSONDecodeError, ValidationError, ValueError, KeyError, TypeError, AttributeError):
            self.stats.corrupt += 1
            return None

    def _write(self, path: Path, request: LLMRequest, response: LLMResponse) -> None:
        entry = {
            "format": CACHE_FORMAT,
            "model": self.inner.model,
            "request": request.model_dump(mode="json"),
            "response": response.model_dump(mode="json"),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(orjson.dumps(entry, option=orjson.OPT_INDENT_2))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
