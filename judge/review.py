"""Review by hand what the machine could not decide, in a local web page (seed 001 did this in Gradio).

FILE is either judged records (`mathmind judge --out`) or an eval run folder (`mathmind eval --out`,
whose lm-eval samples are read; `undecided` there means lm-eval's extracted answer is empty or its
score disagrees with mathmind's rule judge on the same response). The page shows one item at a time:
question, gold answer, extracted answer and why it was not decided, the response with its final
answer highlighted, the reasoning collapsed, math rendered (KaTeX, shipped with mathmind: no CDN).
Filters: undecided (default), rejected, all; by language (judged records) or task (eval).

Keys: A accept, R reject, S skip, J or -> next, K or <- previous.

Each verdict is appended to FILE.review.jsonl (RUN/review.jsonl for an eval run) the moment it is
given (flushed and fsynced; the last line for an id wins): a killed server loses nothing, running
the same command again resumes, and two tabs add to the same file (each sees the other's verdicts).
They flow back:
  judged records  mathmind judge --in distill.jsonl --out judged.jsonl --review-in judged.review.jsonl
                  (reviewed records get judge: human)
  eval runs       RUN/summary.json gets rows with filter `human-reviewed` (lm-eval's score with your
                  verdicts applied), rewritten at each verdict and kept by a re-run of `mathmind eval`

It listens on 127.0.0.1. With --host elsewhere every request needs the token (--token, or one is
generated and printed) so no one else on the network can read or change verdicts.

  mathmind review runs/judged.jsonl                  # open the printed address
  mathmind review runs/eval/distill --port 9000
  mathmind review runs/judged.jsonl --host 0.0.0.0 --token "$(openssl rand -hex 16)"
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import json
import secrets
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mathmind.errors import UserError
from mathmind.judge.review_data import VERDICTS, Source, VerdictLog, load_source, update_summary

PAGE = Path(__file__).with_name("review_page")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".woff2": "font/woff2", ".txt": "text/plain; charset=utf-8"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="judged records (.jsonl) or an eval run folder")
    parser.add_argument("--port", type=int, default=8765, help="default 8765; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--token", default=None, help="required by every request; generated when --host is not loopback")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar while reading samples")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], source: Source, log: VerdictLog, token: str | None):
        super().__init__(address, Handler)
        self.source, self.log, self.token = source, log, token
        self.summary_lock = threading.Lock()
        self.index = [{"id": it["id"], "group": it["group"], "u": it["undecided"], "r": it["rejected"]} for it in source.items]
        self.positions = {it["id"]: i for i, it in enumerate(source.items)}


class Handler(BaseHTTPRequestHandler):
    server: ReviewServer

    def log_message(self, format: str, *args: Any) -> None:   # one line per request would drown the terminal
        pass

    def send(self, status: int, body: bytes, content_type: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:")
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, obj: Any) -> None:
        self.send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def allowed(self) -> bool:
        """With a token: the token. Without: only requests addressed to this machine (a web page elsewhere that
        makes the browser call 127.0.0.1, or a DNS-rebound name, has another Host)."""
        if self.server.token:
            return hmac.compare_digest(self.headers.get("X-Review-Token", ""), self.server.token)
        host = urlsplit(f"//{self.headers.get('Host', '')}").hostname or ""
        return is_loopback(host)

    def static(self, relative: str) -> None:
        path = (PAGE / relative).resolve()
        if not path.is_file() or PAGE.resolve() not in path.parents or path.suffix not in CONTENT_TYPES:
            return self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        self.send(HTTPStatus.OK, path.read_bytes(), CONTENT_TYPES[path.suffix], cache=relative.startswith("katex/"))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            return self.static("index.html")
        if url.path == "/favicon.ico":
            return self.send(HTTPStatus.NO_CONTENT, b"", "image/x-icon", cache=True)
        if url.path.startswith("/static/"):
            return self.static(url.path[len("/static/"):])
        if not self.allowed():
            return self.send_json(HTTPStatus.FORBIDDEN, {"error": "wrong or missing token"})
        source, log = self.server.source, self.server.log
        if url.path == "/api/index":
            seq, events = log.since(0)
            return self.send_json(HTTPStatus.OK, {"kind": source.kind, "source": str(source.path), "verdict_file": str(log.path),
                                                  "items": self.server.index, "seq": seq, "events": events})
        if url.path.startswith("/api/item/"):
            i = url.path[len("/api/item/"):]
            if not i.isdigit() or int(i) >= len(source.items):
                return self.send_json(HTTPStatus.NOT_FOUND, {"error": f"no item {i}"})
            return self.send_json(HTTPStatus.OK, source.items[int(i)])
        if url.path == "/api/verdicts":
            since = parse_qs(url.query).get("since", ["0"])[0]
            seq, events = log.since(int(since) if since.isdigit() else 0)
            return self.send_json(HTTPStatus.OK, {"seq": seq, "events": events})
        self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/api/verdict":
            return self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        # JSON only: a cross-site form cannot send it without the browser asking first (and we never say yes).
        if not self.allowed() or not self.headers.get("Content-Type", "").startswith("application/json"):
            return self.send_json(HTTPStatus.FORBIDDEN, {"error": "wrong or missing token, or not JSON"})
        try:
            body = json.loads(self.rfile.read(min(int(self.headers.get("Content-Length", 0)), 65536)))
            item_id, verdict, since = str(body["id"]), body["verdict"], int(body.get("since", 0))
        except (ValueError, KeyError, TypeError):
            return self.send_json(HTTPStatus.BAD_REQUEST, {"error": "expected {id, verdict, since}"})
        position = self.server.positions.get(item_id)
        if position is None or verdict not in VERDICTS:
            return self.send_json(HTTPStatus.BAD_REQUEST, {"error": f"unknown id or verdict (one of {', '.join(VERDICTS)})"})
        source = self.server.source
        extra = {"doc_hash": source.items[position]["doc_hash"]} if source.kind == "eval" else {}
        self.server.log.add(item_id, verdict, **extra)
        if source.kind == "eval" and verdict != "skip":
            with self.server.summary_lock:
                update_summary(source.path, source.docs)
        seq, events = self.server.log.since(since)
        self.send_json(HTTPStatus.OK, {"seq": seq, "events": events})


def run(args: argparse.Namespace) -> int:
    token = args.token
    if not is_loopback(args.host) and not token:
        token = secrets.token_urlsafe(16)
    source = load_source(args.file, progress=not args.no_progress)
    log = VerdictLog(source.verdict_path)
    try:
        server = ReviewServer((args.host, args.port), source, log, token)
    except OSError as e:
        raise UserError(f"--host {args.host} --port {args.port}: cannot listen there ({e.strerror})") from None
    reviewed = {e["id"] for e in log.events} & set(server.positions)
    undecided = sum(it["undecided"] for it in source.items)
    port = server.server_address[1]
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"review: {len(source.items)} {'records' if source.kind == 'judged' else 'eval documents'} from {source.path}, "
          f"{undecided} undecided, {len(reviewed)} with a verdict already", file=sys.stderr)
    print(f"review: verdicts -> {log.path}", file=sys.stderr)
    print(f"review: open http://{shown_host}:{port}/" + (f"?token={token}" if token else ""), flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)   # `kill` stops it as Ctrl-C does, with the summary
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        log.close()
    verdicts = {e["id"]: e["verdict"] for e in log.events}
    print(f"review: stopped; {sum(v != 'skip' for v in verdicts.values())} verdict(s) in {log.path}", file=sys.stderr)
    return 0
