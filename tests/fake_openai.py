"""An OpenAI-compatible ``/v1/chat/completions`` endpoint on 127.0.0.1 for tests, started and
stopped by the test, reached through the real openai SDK.

``respond(body)`` decides each reply from the request body: ``ok(body, text)`` for a completion,
``(status, headers, data)`` for anything else, or ``None`` to drop the connection unanswered.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

Reply = tuple[int, dict[str, str], bytes] | None


def ok(body: dict[str, Any], text: str, *, completion_tokens: int = 20) -> Reply:
    """A successful chat completion answering ``body`` with ``text``."""
    reply = {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": len(json.dumps(body)) // 4, "completion_tokens": completion_tokens},
    }
    return 200, {}, json.dumps(reply).encode()


class FakeOpenAI:
    """The endpoint; ``requests`` holds every request body received, in order."""

    def __init__(self, respond: Callable[[dict[str, Any]], Reply]) -> None:
        self.requests: list[dict[str, Any]] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with lock:
                    outer.requests.append(body)
                reply = respond(body)
                if reply is None:
                    self.connection.close()
                    return
                status, headers, data = reply
                self.send_response(status)
                for name, value in {"content-type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
