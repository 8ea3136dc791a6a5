"""An OpenAI-compatible chat-completions endpoint on 127.0.0.1, started and stopped by a test.

``memex-audit ask --model openai:NAME --base-url URL`` reaches it through the real openai SDK; its
replies come from ``tests.ask.policy.reply``, computed from each request alone.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from memex_audit.llm import ChatMessage, LLMRequest


def _as_request(body: dict[str, Any]) -> LLMRequest:
    messages = body["messages"]
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    chat = [
        ChatMessage(role=m["role"], content=m["content"])
        for m in messages
        if m["role"] in ("user", "assistant")
    ]
    return LLMRequest(system=system, messages=chat, max_tokens=body.get("max_tokens") or 1024)


class ChatServer:
    """Serves ``/v1/chat/completions`` with ``policy(request)``; records every request body."""

    def __init__(self, policy: Callable[[LLMRequest], str]) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with outer.lock:
                    outer.requests.append(body)
                text = policy(_as_request(body))
                reply = {
                    "id": "c",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": len(json.dumps(body)) // 4, "completion_tokens": 60},
                }
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> ChatServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
