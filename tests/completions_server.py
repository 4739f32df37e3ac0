"""A real /v1/completions server on 127.0.0.1 backed by a local transformers model, for lm-eval's
loglikelihood requests (echo + logprobs over token-id prompts), as vLLM-Ascend or MindIE would answer."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CompletionsServer:
    def __init__(self, model_dir: str):
        import torch
        from transformers import AutoModelForCausalLM

        self.torch = torch
        self.model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        self.requests = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests += 1
                    payload = server.complete(body)
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def complete(self, body: dict) -> dict:
        prompts = body["prompt"] if isinstance(body["prompt"][0], list) else [body["prompt"]]
        choices = []
        for index, ids in enumerate(prompts):
            with self.torch.no_grad():
                logits = self.model(self.torch.tensor([ids])).logits[0].log_softmax(-1)
            token_logprobs = [None] + [float(logits[i, ids[i + 1]]) for i in range(len(ids) - 1)]
            top = [None] + [{str(ids[i + 1]): float(logits[i].max())} for i in range(len(ids) - 1)]
            next_id = int(logits[-1].argmax())
            choices.append({"index": index, "text": str(next_id), "finish_reason": "length",
                            "logprobs": {"token_logprobs": token_logprobs + [float(logits[-1, next_id])],
                                         "top_logprobs": top + [{str(next_id): float(logits[-1, next_id])}]}})
        return {"object": "text_completion", "model": body.get("model"), "choices": choices}

    def __enter__(self) -> "CompletionsServer":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
