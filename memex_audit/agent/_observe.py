"""What the model sees of a block's result: bounded and encodable, whatever the block printed."""

from __future__ import annotations

from memex_audit.kernel import ExecutionResult, safe_text


def truncate_middle(text: str, limit: int) -> str:
    """``text`` when it fits in ``limit`` characters; else its head and tail around a marker.

    The marker says how many characters were left out, so the model knows to print less.
    """
    if len(text) <= limit:
        return text
    head = max(0, limit * 3 // 5)
    tail = max(0, limit - head)
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted:,} chars omitted ...]\n{text[len(text) - tail :] if tail else ''}"


def format_observation(result: ExecutionResult, limit: int) -> str:
    """The observation for one block: its output, its error and kernel notices, bounded."""
    parts: list[str] = []
    if result.output:
        budget = limit if not result.error else max(limit // 2, limit - len(result.error))
        parts.append(truncate_middle(result.output.rstrip("\n"), budget))
    if result.error:
        parts.append(truncate_middle(result.error, max(limit // 2, 500)))
    parts.extend(f"[kernel] {notice}" for notice in result.notices)
    if not parts:
        parts.append("(the block printed nothing)")
    # Kernels send valid text; a custom kernel may not, and the model client must encode this.
    return safe_text("\n".join(parts))
