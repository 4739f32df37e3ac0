"""A real OpenAI-compatible /v1/chat/completions server on 127.0.0.1 whose answers the test controls.

`replies` maps a question to the full reply text; the server finds which question a request asks by
looking for it in the last message (few-shot examples come before it). Stop sequences apply to the
answer after `</think>`, as a server with a reasoning parser does, so `<think>` replies survive MGSM's
`\\n` stop. Unknown questions get "I do not know."
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AnswerServer:
    def __init__(self, replies: dict[str, str]):
        self.replies = replies
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests += 1
                data = json.dumps(server.complete(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def complete(self, body: dict) -> dict:
        asked = body["messages"][-1]["content"]
        question = max((q for q in self.replies if q in asked), key=len, default=None)
        reply = self.replies[question] if question else "I do not know."
        thinking, end, answer = reply.rpartition("</think>")
        answer = answer.lstrip() if end else answer
        for stop in body.get("stop") or []:
            if stop:
                answer = answer.split(stop)[0]
        message = {"role": "assistant", "content": thinking + end + ("\n\n" if end else "") + answer}
        return {"id": f"chatcmpl-{self.requests}", "object": "chat.completion", "model": body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

    def __enter__(self) -> "AnswerServer":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
