"""Asking the teacher: one shared AsyncOpenAI client, adaptive concurrency, retries that are counted.

The SDK's own retries are switched off (max_retries=0) because mathmind must count every retry,
lower concurrency on sustained 429s, and also retry what the SDK accepts as success: an empty
answer, `finish_reason: length`, a 200 whose body is not JSON.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import openai

THINK = re.compile(r"^\s*(?:<think>)?(.*?)</think>\s*(.*)$", re.S)


class FatalTeacherError(Exception):
    """The teacher refuses every request (bad key, unknown model or URL): stop the whole run."""


class RetryableAnswer(Exception):
    """A 200 that is not a usable answer (empty, truncated): worth asking again."""

    def __init__(self, reason: str, partial: dict[str, Any]):
        super().__init__(reason)
        self.reason, self.partial = reason, partial


@dataclass
class TeacherSettings:
    model: str = "deepseek-r1"
    base_url: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    timeout_s: float = 600.0
    max_retries: int = 5
    retry_base_delay_s: float = 1.0
    retry_max_delay_s: float = 60.0
    stream: bool = False
    rpm: float | None = None


class AdaptiveLimit:
    """AIMD concurrency: halve when 429s are sustained, then grow back.

    Sustained means at least `THROTTLED_SHARE` of the last `WINDOW` answers were 429s: a sporadic 429
    (one request unlucky at a busy moment) is retried without slowing every other request down.
    After a cut, each `limit // 4` successes add one slot (about four per round trip) up to the maximum.
    """

    WINDOW = 50
    THROTTLED_SHARE = 0.2

    def __init__(self, maximum: int):
        self.maximum = self.limit = maximum
        self.in_flight = 0
        self.cuts = 0
        self._recent: deque[bool] = deque(maxlen=self.WINDOW)  # True = 429
        self._successes = 0
        self._last_cut = 0.0
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1

    async def release(self) -> None:
        async with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def throttled(self) -> None:
        self._recent.append(True)
        now = time.monotonic()
        if sum(self._recent) >= self.THROTTLED_SHARE * self.WINDOW and now - self._last_cut >= 1.0:
            self.limit = max(1, self.limit // 2)
            self._last_cut, self._successes = now, 0
            self.cuts += 1
            self._recent.clear()

    def succeeded(self) -> None:
        self._recent.append(False)
        if self.limit < self.maximum:
            self._successes += 1
            if self._successes >= max(1, self.limit // 4):
                self.limit, self._successes = self.limit + 1, 0


class RequestRate:
    """At most `rpm` request starts per minute, spaced evenly."""

    def __init__(self, rpm: float | None):
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


def split_reasoning(content: str, reasoning: str | None) -> tuple[str, str]:
    """(reasoning, answer): servers that inline R1's thinking as <think>...</think> in content are split."""
    if reasoning:
        return reasoning, content.strip()
    match = THINK.match(content or "")
    if match and "</think>" in content:
        return match.group(1).strip(), match.group(2).strip()
    return "", (content or "").strip()


@dataclass
class Stats:
    retries: Counter = field(default_factory=Counter)   # reason -> retries
    failures: Counter = field(default_factory=Counter)  # reason -> samples given up
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0


def _http_client(concurrency: int) -> Any:
    try:
        import httpx2 as httpx  # what openai >= 3 uses
    except ImportError:
        import httpx
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    return openai.DefaultAsyncHttpxClient(limits=limits)


class Teacher:
    def __init__(self, settings: TeacherSettings, api_key: str, concurrency: int):
        self.settings = settings
        self._api_key = api_key
        self.client = openai.AsyncOpenAI(api_key=api_key, base_url=settings.base_url, max_retries=0,
                                         timeout=settings.timeout_s, http_client=_http_client(concurrency))
        self.limit = AdaptiveLimit(concurrency)
        self.rate = RequestRate(settings.rpm)
        self.stats = Stats()

    def redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    async def close(self) -> None:
        await self.client.close()

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        return min(s.retry_max_delay_s, s.retry_base_delay_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)

    async def ask(self, prompt: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(result, failure): exactly one is None. Raises FatalTeacherError when retrying cannot help."""
        attempts, partial = 0, {}
        while True:
            attempts += 1
            wait, reason = 0.0, ""
            await self.rate.wait()
            await self.limit.acquire()
            started = time.monotonic()
            try:
                result = await self._request(prompt)
                result.update(latency_s=round(time.monotonic() - started, 3), attempts=attempts)
                self.limit.succeeded()
                return result, {}
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as e:
                raise FatalTeacherError(self.redact(f"{e.status_code} from {self.client.base_url}: {_message(e)}")) from None
            except openai.RateLimitError as e:
                self.limit.throttled()
                reason, wait = "429", _retry_after(e.response.headers.get("retry-after"))
            except openai.APIStatusError as e:
                if e.status_code < 500 and e.status_code not in (408, 409):
                    return None, {"reason": self.redact(f"{e.status_code}: {_message(e)}"), "attempts": attempts}
                reason = str(e.status_code)
            except openai.APITimeoutError:
                reason = "timeout"
            except openai.APIConnectionError:
                reason = "connection"
            except (json.JSONDecodeError, openai.APIResponseValidationError):
                reason = "bad_json"
            except RetryableAnswer as e:
                reason, partial = e.reason, e.partial
            finally:
                await self.limit.release()
            if attempts > self.settings.max_retries:
                self.stats.failures[reason] += 1
                return None, {"reason": f"{reason} after {attempts} attempts", "attempts": attempts, **partial}
            self.stats.retries[reason] += 1
            await asyncio.sleep(max(wait, self._backoff(attempts)))

    async def _request(self, prompt: str) -> dict[str, Any]:
        s = self.settings
        kwargs: dict[str, Any] = {"model": s.model, "messages": [{"role": "user", "content": prompt}]}
        for name, value in (("temperature", s.temperature), ("top_p", s.top_p), ("max_tokens", s.max_tokens)):
            if value is not None:
                kwargs[name] = value
        if s.stream:
            content, reasoning, finish, usage, model = await self._stream(kwargs)
        else:
            response = await self.client.chat.completions.create(**kwargs)
            if not response.choices:
                raise RetryableAnswer("empty", {})
            choice = response.choices[0]
            content, finish, usage, model = choice.message.content or "", choice.finish_reason, response.usage, response.model
            reasoning = getattr(choice.message, "reasoning_content", None)
        reasoning, answer = split_reasoning(content, reasoning)
        usage_record = self._count(usage)
        record = {"reasoning": reasoning, "answer": answer, "finish_reason": finish, "usage": usage_record, "model": model}
        if finish == "length":
            raise RetryableAnswer("length", {"partial": record})
        if not answer:
            raise RetryableAnswer("empty", {"partial": record})
        return record

    async def _stream(self, kwargs: dict[str, Any]) -> tuple[str, str, str | None, Any, str]:
        content, reasoning, finish, usage, model = [], [], None, None, kwargs["model"]
        stream = await self.client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
        async for chunk in stream:
            model = chunk.model or model
            usage = chunk.usage or usage
            for choice in chunk.choices:
                content.append(choice.delta.content or "")
                reasoning.append(getattr(choice.delta, "reasoning_content", None) or "")
                finish = choice.finish_reason or finish
        return "".join(content), "".join(reasoning), finish, usage, model

    def _count(self, usage: Any) -> dict[str, int]:
        if usage is None:
            return {"prompt_tokens": 0, "completion_tokens": 0, "reasoning_tokens": 0}
        details = getattr(usage, "completion_tokens_details", None)
        record = {"prompt_tokens": usage.prompt_tokens or 0, "completion_tokens": usage.completion_tokens or 0,
                  "reasoning_tokens": (getattr(details, "reasoning_tokens", None) or 0) if details else 0}
        self.stats.prompt_tokens += record["prompt_tokens"]
        self.stats.completion_tokens += record["completion_tokens"]
        self.stats.reasoning_tokens += record["reasoning_tokens"]
        return record


def _retry_after(value: str | None) -> float:
    try:
        return min(float(value), 600.0) if value else 0.0
    except ValueError:
        return 0.0


def _message(e: openai.APIStatusError) -> str:
    body = e.body if isinstance(e.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    return str(error.get("message") if isinstance(error, dict) and error.get("message") else e.message)[:300]
