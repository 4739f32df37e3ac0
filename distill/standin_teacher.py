"""A stand-in for DeepSeek-R1: a small OpenAI-compatible chat-completions server on 127.0.0.1.

Not a model. It answers arithmetic word problems with R1-shaped output (`reasoning_content` plus a
final `\\boxed{}` answer) so that every mathmind stage can run offline for real: the demo, the tests
and the benchmarks talk to it through the openai SDK exactly as they would talk to DashScope.

Answers come from a table given at start (question -> answer; `wrong_share` of them deliberately
off by one, so the judge has real work), else from summing the numbers in the question.

Fault injection, for tests: a question containing `[[fault:KIND xN]]` fails its first N attempts
with KIND; `fault_rate` fails that share of all requests at random. KIND is one of
  429 (with Retry-After: 1), 500, 401, badjson (a 200 whose body is not JSON), hang (no answer
  until the client gives up), empty (empty content), length (finish_reason "length"), think
  (reasoning inlined in content as <think>...</think> instead of `reasoning_content`; not a fault),
  nochoices (a 200 whose `choices` list is empty, as a student server that returns fewer choices).

As a sampled student (`mathmind sample`): `sample_wrong_share` makes each request's answer wrong on
its own draw, so the k samples of one question differ. Orca-Math's agent prompts (orca_* presets)
get canned replies in the shape `mathmind generate` parses: new questions, suggestions, a new problem.

Run alone:  python -m mathmind.distill.standin_teacher --port 8000 --latency 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

FAULT_MARK = re.compile(r"\[\[fault:(\w+) x(\d+)\]\]")
RANDOM_FAULTS = ("429", "500", "badjson", "hang", "empty")  # what --fault-rate draws from
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass
class TeacherConfig:
    latency_s: float = 0.0          # per request, before the answer (a reasoning model takes seconds)
    api_key: str | None = None      # when set, requests with another bearer token get 401
    answers: dict[str, str] = field(default_factory=dict)
    reasonings: dict[str, str] = field(default_factory=dict)   # question -> worked reasoning (default: R1-style filler)
    wrong_share: float = 0.0
    sample_wrong_share: float = 0.0  # per request, drawn independently (a student sampled at temperature > 0)
    fault_rate: float = 0.0         # share of all requests that fail with a random fault
    seed: int = 0
    model: str = "standin-r1"


class StandInTeacher:
    """The server. `start()` runs it on a background thread; `url` is the base URL for the openai SDK."""

    def __init__(self, config: TeacherConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        self.config = config or TeacherConfig()
        self.host, self.port = host, port
        self.attempts: Counter[str] = Counter()   # question -> requests seen
        self.requests = 0
        self.faults_served: Counter[str] = Counter()
        self.max_in_flight = 0
        self._in_flight = 0
        self._rng = random.Random(self.config.seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # --- lifecycle -------------------------------------------------------------------------------
    async def serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    def start(self) -> "StandInTeacher":
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="standin-teacher", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop and self._server:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            self._thread.join(10)

    async def _shutdown(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.get_running_loop().stop()

    def __enter__(self) -> "StandInTeacher":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- HTTP ------------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                keep_open = await self._respond(method, path, headers, body, writer)
                if not keep_open or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    @staticmethod
    def _send(writer: asyncio.StreamWriter, status: int, payload: bytes, content_type: str = "application/json",
              extra: dict[str, str] | None = None) -> None:
        reason = {200: "OK", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}
        head = [f"HTTP/1.1 {status} {reason.get(status, 'Error')}", f"Content-Type: {content_type}",
                f"Content-Length: {len(payload)}", *(f"{k}: {v}" for k, v in (extra or {}).items())]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)

    async def _respond(self, method: str, path: str, headers: dict[str, str], body: bytes,
                       writer: asyncio.StreamWriter) -> bool:
        if method == "GET" and path.endswith("/models"):
            self._send(writer, 200, json.dumps({"object": "list", "data": [{"id": self.config.model, "object": "model"}]}).encode())
            return True
        if method != "POST" or not path.endswith("/chat/completions"):
            self._send(writer, 404, b'{"error": {"message": "not found"}}')
            return True
        self.requests += 1
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            request = json.loads(body)
            question = request["messages"][-1]["content"]
            self.attempts[question] += 1
            fault = self._fault_for(question, headers)
            if fault:
                self.faults_served[fault] += 1
            if fault == "401":
                self._send(writer, 401, b'{"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}}')
                return True
            await asyncio.sleep(self.config.latency_s)
            if fault == "hang":
                await asyncio.sleep(3600)
            if fault == "429":
                self._send(writer, 429, b'{"error": {"message": "Rate limit reached", "type": "rate_limit"}}', extra={"Retry-After": "1"})
                return True
            if fault == "500":
                self._send(writer, 500, b'{"error": {"message": "internal error"}}')
                return True
            if fault == "badjson":
                self._send(writer, 200, b"<html>502 Bad Gateway</html>")
                return True
            if fault == "nochoices":
                empty = {"id": f"chatcmpl-{self.requests}", "object": "chat.completion", "created": int(time.time()),
                         "model": request.get("model", self.config.model), "choices": []}
                self._send(writer, 200, json.dumps(empty).encode())
                return True
            reasoning, answer, finish = self._answer(question, fault)
            if request.get("stream"):
                self._send_stream(writer, request, reasoning, answer, finish, inline=fault == "think")
            else:
                self._send(writer, 200, json.dumps(self._completion(request, question, reasoning, answer, finish,
                                                                    inline=fault == "think")).encode())
            await writer.drain()
            return True
        finally:
            self._in_flight -= 1

    def _fault_for(self, question: str, headers: dict[str, str]) -> str | None:
        if self.config.api_key and headers.get("authorization") != f"Bearer {self.config.api_key}":
            return "401"
        for kind, times in FAULT_MARK.findall(question):
            if kind == "think" or self.attempts[question] <= int(times):
                return kind
        if self.config.fault_rate and self._rng.random() < self.config.fault_rate:
            return self._rng.choice(RANDOM_FAULTS)
        return None

    def _answer(self, question: str, fault: str | None) -> tuple[str, str, str]:
        clean = FAULT_MARK.sub("", question)
        verdict = judge_reply(clean)
        if verdict is not None:
            return "Comparing the final answer with the reference.", verdict, "stop"
        reply = agent_reply(clean)
        if reply is not None:
            return "Following the agent's instructions.", reply, "stop"
        # The request holds the prompt, which wraps the question: find the known question inside it.
        known = clean if clean in self.config.answers else next((q for q in self.config.answers if q in clean), None)
        right = None
        if known is not None:
            clean, value = known, self.config.answers[known]
            right = value
            # Deterministic per question, so a re-run gets the same (possibly wrong) answer.
            if random.Random(f"{self.config.seed}:{clean}").random() < self.config.wrong_share:
                value = str(int(float(value)) + 1) if NUMBER.fullmatch(value) else value + "?"
        else:
            value = _fmt(sum(float(n) for n in NUMBER.findall(clean)))
        if self.config.sample_wrong_share and self._rng.random() < self.config.sample_wrong_share:
            value = str(int(float(value)) + 1) if NUMBER.fullmatch(value) else value + "?"
        if known is not None and known in self.config.reasonings:
            worked = self.config.reasonings[known]   # a wrong answer comes with its wrong last step
            reasoning = worked[:worked.rfind(right)] + value if right and worked.endswith(right) else worked
        else:
            reasoning = (f"Okay, let me read the problem carefully.\n\n{clean.strip()[:400]}\n\n"
                         f"Let me work through the numbers step by step and check the result. So the answer is {value}.")
        answer = f"We compute step by step.\n\nThe answer is $\\boxed{{{value}}}$."
        if fault == "empty":
            return reasoning, "", "stop"
        if fault == "length":
            return reasoning + " Wait, let me recheck", "", "length"
        return reasoning, answer, "stop"

    def _completion(self, request: dict, question: str, reasoning: str, answer: str, finish: str, inline: bool) -> dict:
        message = {"role": "assistant", "content": f"<think>\n{reasoning}\n</think>\n\n{answer}" if inline else answer}
        if not inline:
            message["reasoning_content"] = reasoning
        prompt_tokens, reasoning_tokens, answer_tokens = len(question.split()), len(reasoning.split()), len(answer.split())
        return {
            "id": f"chatcmpl-{self.requests}", "object": "chat.completion", "created": int(time.time()),
            "model": request.get("model", self.config.model),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": reasoning_tokens + answer_tokens,
                      "total_tokens": prompt_tokens + reasoning_tokens + answer_tokens,
                      "completion_tokens_details": {"reasoning_tokens": reasoning_tokens}},
        }

    def _send_stream(self, writer: asyncio.StreamWriter, request: dict, reasoning: str, answer: str, finish: str,
                     inline: bool) -> None:
        full = self._completion(request, request["messages"][-1]["content"], reasoning, answer, finish, inline)
        message = full["choices"][0]["message"]
        base = {"id": full["id"], "object": "chat.completion.chunk", "created": full["created"], "model": full["model"]}
        deltas = [{"role": "assistant", "content": ""}]
        if message.get("reasoning_content"):
            deltas += [{"reasoning_content": part} for part in _chunks(message["reasoning_content"])]
        deltas += [{"content": part} for part in _chunks(message["content"])]
        events = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (request.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": full["usage"]})
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self._send(writer, 200, payload.encode(), content_type="text/event-stream")


def judge_reply(prompt: str) -> str | None:
    """The reply to a judge prompt (judge_seed002_zh, judge_en), else None.

    The stand-in judges differently from mathmind's rules on purpose: the last number of the
    response against the last number of the reference, as a quick human reader would.
    """
    if "含义是否一致" in prompt and "# 来自考场的材料" in prompt:
        response, _, reference = prompt.split("# 来自考场的材料", 1)[1].partition("\n\n\n\n\n")
        reply = "第一段总结:学生给出了答案。\n第二段翻译:标准答案。\n含义是否一致:{}", ("是", "否")
    elif "VERDICT: CORRECT" in prompt and "<response>" in prompt:
        response = prompt.split("<response>", 1)[1].split("</response>", 1)[0]
        reference = prompt.split("<reference>", 1)[1].split("</reference>", 1)[0]
        reply = "The final answers were compared.\nVERDICT: {}", ("CORRECT", "INCORRECT")
    else:
        return None
    answered = _last_number(response)
    template, (yes, no) = reply
    return template.format(yes if answered is not None and answered == _last_number(reference) else no)


def agent_reply(prompt: str) -> str | None:
    """Canned replies to Orca-Math's agent presets (recipes/prompts/orca_*.yaml), else None.

    Ask-Me-Anything: one new question per number of the problem (that number changed); Suggester: two
    suggestions; Editor: the problem with one more step. The stand-in then answers the new problems
    by summing their numbers, like any question it has no table entry for.
    """
    if "<problem>" not in prompt:
        return None
    problem = prompt.split("<problem>", 1)[1].split("</problem>", 1)[0].strip()
    if "Ask Me Anything" in prompt:
        numbers = NUMBER.findall(problem)[:3]
        return "Statement: " + problem + "\n\n" + "\n".join(
            f"Question {i + 1}: " + problem.replace(n, str(int(float(n)) + i + 2), 1) for i, n in enumerate(numbers))
    if "Suggester" in prompt:
        return "1. Add one more quantity that changes the total.\n2. Ask about the result after one more step."
    if "Editor" in prompt:
        return f"New problem: {problem} Then 3 more are added. How many are there in the end?"
    return None


def _last_number(text: str) -> float | None:
    numbers = NUMBER.findall(text.replace(",", ""))
    return float(numbers[-1]) if numbers else None


def _chunks(text: str, size: int = 40) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _fmt(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per request (R1 answers in seconds)")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--answers", help="jsonl with question/answer fields to answer from")
    parser.add_argument("--wrong-share", type=float, default=0.0)
    args = parser.parse_args(argv)
    answers = {}
    if args.answers:
        from mathmind.jsonl import iter_jsonl
        answers = {r["question"]: str(r["answer"]) for _, r in iter_jsonl(args.answers)}
    teacher = StandInTeacher(TeacherConfig(latency_s=args.latency, fault_rate=args.fault_rate, answers=answers,
                                           wrong_share=args.wrong_share), args.host, args.port)

    async def forever() -> None:
        await teacher.serve()
        print(f"stand-in teacher (not a model) on {teacher.url}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(forever())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
