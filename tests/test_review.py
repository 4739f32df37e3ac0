"""mathmind review: the page in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium),
verdicts on disk, back into `judge --review-in`, and the human-reviewed score of a real lm-eval run."""

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

# The flags that work on a closed network (no background connections to Google's hosts).
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1100,800")

DISTILLED = [
    {"id": "gsm#0#0", "question": "Tom has 3 apples and buys 4 more. How many apples?", "gold": "3 + 4 = 7\n#### 7",
     "reasoning": "3 plus 4 is 7. Check: \\(3+4=7\\).", "answer": "He has 3 + 4 apples, which is seven apples in all."},
    {"id": "gsm#1#0", "question": "A shirt costs $12 and a hat costs $8. What do both cost?", "gold": "#### 20",
     "answer": "<script>window.pwned = 1</script><b>Both</b> cost twenty dollars."},
    {"id": "mgsm_zh#2#0", "question": "小明有5个苹果，又买了6个。他现在有多少个苹果？", "gold": 11, "lang": "zh",
     "answer": "所以一共是 \\(\\frac{22}{2}\\) 个，也就是十一个苹果。"},
    {"id": "math#3#0", "question": "What is $\\frac{1}{2} + \\frac{1}{4}$?", "gold": "$\\boxed{\\frac{3}{4}}$",
     "reasoning": "Common denominator: \\(\\frac{2}{4}+\\frac{1}{4}\\).",
     "answer": "Adding gives \\(\\frac{3}{4}\\). So the answer is $\\boxed{\\frac{3}{4}}$."},
    {"id": "gsm#4#0", "question": "Sam has 9 pens and gives away 2. How many are left?", "gold": "#### 7",
     "answer": "9 - 2 = 7. The answer is 8."},
]


def chromium_paths():
    return shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = chromium_paths()
    if not (chromium and driver_path):
        if os.environ.get("MATHMIND_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required (make test installs them: apt-get install chromium chromium-driver)")
        pytest.skip("no chromium/chromedriver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))   # no Selenium Manager download
    yield driver
    driver.quit()


class Review:
    """`mathmind review` in a subprocess, on a free port."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "mathmind", "review", *args, "--port", "0", "--no-progress"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("review: open http://"), line + self.proc.stderr.read()
        self.url = line.split("open ", 1)[1].strip()
        self.base = self.url.split("/?")[0].rstrip("/")

    def kill(self) -> str:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        return self.proc.stderr.read()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        return self.proc.stderr.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.kill()


def call(url, body=None, headers=None, method=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body, kind = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, body, kind = e.code, e.read(), e.headers.get("Content-Type", "")
    return status, json.loads(body) if kind.startswith("application/json") else body.decode()


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# What `mathmind judge` writes for DISTILLED (its documented fields); written here rather than judged, so that
# this test does not move whenever the rules learn to decide one more case.
JUDGED = [("undecided", None, "7", "no_final_answer"), ("undecided", None, "20", "no_final_answer"),
          ("undecided", "22/2", "11", "not_comparable"), ("accept", "3/4", "3/4", "equal"), ("reject", "8", "7", "different")]


@pytest.fixture
def judged(tmp_path):
    distill, judged_file = tmp_path / "distill.jsonl", tmp_path / "judged.jsonl"
    distill.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in DISTILLED), encoding="utf-8")
    judged_file.write_text("".join(json.dumps({**r, "verdict": v, "extracted": e, "gold_value": g, "judge": "rule", "reason": why},
                                              ensure_ascii=False) + "\n" for r, (v, e, g, why) in zip(DISTILLED, JUDGED)),
                           encoding="utf-8")
    return distill, judged_file


def wait_for(driver, condition, timeout=10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def text(driver, element_id):
    return driver.find_element("id", element_id).text


def press(driver, key):
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def test_three_verdicts_by_keyboard_survive_reload_and_a_killed_server_then_flow_into_judge(browser, judged, run_mathmind):
    distill, judged_file = judged
    log = judged_file.with_name("judged.review.jsonl")
    with Review(str(judged_file)) as server:
        browser.get(server.url)
        wait_for(browser, lambda d: text(d, "progress") == "0 of 3 reviewed")
        assert text(browser, "item-id") == "gsm#0#0" and "no committed final answer" in text(browser, "why")
        assert not browser.find_element("id", "reasoning").is_displayed()           # reasoning collapsed
        press(browser, "a")
        wait_for(browser, lambda d: text(d, "item-id") == "gsm#1#0")
        # The record's <script> is shown as text and never runs.
        assert "<script>window.pwned = 1</script><b>Both</b>" in text(browser, "response")
        assert browser.execute_script("return window.pwned") is None
        assert not browser.find_elements("css selector", "#response script, #response b")
        press(browser, "r")
        wait_for(browser, lambda d: text(d, "item-id") == "mgsm_zh#2#0")
        assert browser.find_elements("css selector", "#response .katex")             # \(\frac{22}{2}\) rendered
        press(browser, "a")
        wait_for(browser, lambda d: text(d, "progress") == "3 of 3 reviewed")
        wait_for(browser, lambda d: len(read_jsonl(log)) == 3)
        browser.refresh()
        wait_for(browser, lambda d: text(d, "progress") == "3 of 3 reviewed")
        press(browser, "k")
        press(browser, "k")
        wait_for(browser, lambda d: text(d, "item-id") == "gsm#0#0" and text(d, "mine") == "your verdict: accept")
        server.kill()                                                                # nothing lost: every verdict was on disk
    assert [(e["id"], e["verdict"]) for e in read_jsonl(log)] == [("gsm#0#0", "accept"), ("gsm#1#0", "reject"),
                                                                  ("mgsm_zh#2#0", "accept")]
    with Review(str(judged_file)) as again:                                          # resumes
        browser.get(again.url)
        wait_for(browser, lambda d: text(d, "progress") == "3 of 3 reviewed")
        # The accepted MATH record, under "all": its final \boxed{} highlighted and rendered as math.
        browser.find_element("id", "filter").send_keys("all")
        wait_for(browser, lambda d: text(d, "progress") == "3 of 5 reviewed")
        while text(browser, "item-id") != "math#3#0":
            press(browser, "j")
        wait_for(browser, lambda d: d.find_elements("css selector", "#response mark .katex"))
        browser.find_element("id", "reasoning-box").click()
        wait_for(browser, lambda d: d.find_elements("css selector", "#reasoning .katex"))
        if os.environ.get("MATHMIND_REVIEW_SCREENSHOT"):
            browser.save_screenshot(os.environ["MATHMIND_REVIEW_SCREENSHOT"])
        assert "3 verdict(s)" in again.stop()
    out = judged_file.with_name("judged2.jsonl")
    proc = run_mathmind("judge", "--in", str(distill), "--out", str(out), "--review-in", str(log))
    assert proc.returncode == 0 and "3 verdict(s) taken" in proc.stderr, proc.stderr
    records = {r["id"]: r for r in read_jsonl(out)}
    assert [(records[i]["verdict"], records[i]["judge"]) for i in ("gsm#0#0", "gsm#1#0", "mgsm_zh#2#0")] == [
        ("accept", "human"), ("reject", "human"), ("accept", "human")]
    assert records["math#3#0"]["judge"] == "rule"


def test_two_tabs_keep_each_others_verdicts(browser, judged):
    _, judged_file = judged
    with Review(str(judged_file)) as server:
        browser.get(server.url)
        first = browser.current_window_handle
        wait_for(browser, lambda d: text(d, "progress") == "0 of 3 reviewed")
        browser.switch_to.new_window("tab")
        browser.get(server.url)
        wait_for(browser, lambda d: text(d, "progress") == "0 of 3 reviewed")
        press(browser, "j")
        press(browser, "j")
        wait_for(browser, lambda d: text(d, "item-id") == "mgsm_zh#2#0")
        press(browser, "r")                                                          # tab 2: the third record
        wait_for(browser, lambda d: text(d, "progress") == "1 of 3 reviewed")
        browser.switch_to.window(first)
        press(browser, "a")                                                          # tab 1: the first, not knowing
        wait_for(browser, lambda d: text(d, "progress") == "2 of 3 reviewed")        # and it learns tab 2's verdict
        browser.switch_to.new_window("tab")
        browser.get(server.url)
        wait_for(browser, lambda d: text(d, "progress") == "2 of 3 reviewed")
        browser.close()
        browser.switch_to.window(first)
    events = read_jsonl(judged_file.with_name("judged.review.jsonl"))
    assert sorted((e["id"], e["verdict"]) for e in events) == [("gsm#0#0", "accept"), ("mgsm_zh#2#0", "reject")]


def test_loopback_by_default_and_a_token_elsewhere(judged):
    _, judged_file = judged
    with Review(str(judged_file)) as server:
        assert server.url.startswith("http://127.0.0.1:") and "token" not in server.url
        assert call(f"{server.base}/api/index")[0] == 200
        # A page elsewhere making the browser call this server, or a DNS-rebound name, has another Host.
        assert call(f"{server.base}/api/index", headers={"Host": "evil.example"})[0] == 403
        status, answer = call(f"{server.base}/api/verdict", {"id": "gsm#0#0", "verdict": "maybe"})
        assert status == 400 and "one of accept, reject, skip" in answer["error"]
        assert call(f"{server.base}/static/../review_data.py")[0] == 404
    with Review(str(judged_file), "--host", "0.0.0.0") as server:
        assert "?token=" in server.url
        token = server.url.split("?token=")[1]
        base = server.base.replace("0.0.0.0", "127.0.0.1")
        assert call(f"{base}/")[0] == 200                                              # the page itself holds no data
        assert call(f"{base}/api/index")[0] == 403
        assert call(f"{base}/api/verdict", {"id": "gsm#0#0", "verdict": "accept"})[0] == 403
        assert call(f"{base}/api/index", headers={"X-Review-Token": "wrong"})[0] == 403
        status, index = call(f"{base}/api/index", headers={"X-Review-Token": token})
        assert status == 200 and len(index["items"]) == 5
        assert call(f"{base}/api/verdict", {"id": "gsm#0#0", "verdict": "accept"}, {"X-Review-Token": token})[0] == 200


def test_not_judged_records_are_one_clear_line(tmp_path, run_mathmind):
    raw = tmp_path / "distill.jsonl"
    raw.write_text(json.dumps(DISTILLED[0]) + "\n")
    proc = run_mathmind("review", str(raw))
    assert proc.returncode == 2 and f"{raw}:1: not a judged record" in proc.stderr and "Traceback" not in proc.stderr


def test_eval_samples_reviewed_into_a_human_reviewed_score(tiny_model, run_mathmind, tmp_path):
    """A real lm-eval run of the tiny model (gsm8k, 3 documents): its empty extractions are reviewable, and verdicts
    turn into summary.json rows with filter `human-reviewed` that a re-run of eval keeps."""
    data = tmp_path / "data" / "gsm8k"
    data.mkdir(parents=True)
    data.joinpath("test.jsonl").write_text("".join(json.dumps({"question": f"Tom has {a} apples and buys {b} more. How many?",
                                                               "answer": f"{a} + {b} = {a + b}\n#### {a + b}"}) + "\n"
                                                   for a, b in [(2, 3), (4, 5), (6, 7)]))
    run = tmp_path / "run"
    args = ["eval", "--model", str(tiny_model), "--tasks", "gsm8k", "--data-dir", str(tmp_path / "data"), "--out", str(run),
            "--limit", "3", "--max-gen-toks", "8", "--batch-size", "3", "--num-fewshot", "0"]
    proc = run_mathmind(*args, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    base = next(r for r in json.loads((run / "summary.json").read_text())["rows"] if r["filter"] == "flexible-extract")
    with Review(str(run)) as server:
        status, index = call(f"{server.base}/api/index")
        assert status == 200 and index["kind"] == "eval" and [i["id"] for i in index["items"]] == ["gsm8k#0", "gsm8k#1", "gsm8k#2"]
        status, item = call(f"{server.base}/api/item/0")
        assert item["gold"].endswith("#### 5") and item["gold_value"] == "5" and item["machine"].startswith("lm-eval flexible-extract")
        flagged = [i for i in index["items"] if i["u"]]
        assert flagged, index["items"]          # random weights: no answer lm-eval can extract, or one it scores 0
        for item_id, verdict in (("gsm8k#0", "accept"), ("gsm8k#1", "accept"), ("gsm8k#2", "skip")):
            assert call(f"{server.base}/api/verdict", {"id": item_id, "verdict": verdict})[0] == 200
        server.stop()
    summary = json.loads((run / "summary.json").read_text())
    human = [r for r in summary["rows"] if r["filter"] == "human-reviewed"]
    samples = read_jsonl(next((run / "lm_eval").rglob("samples_gsm8k_*.jsonl")))
    third = next(r["exact_match"] for r in samples if r["filter"] == "flexible-extract" and r["doc_id"] == 2)
    assert len(human) == 1 and human[0]["task"] == "gsm8k" and human[0]["metric"] == "exact_match"
    assert human[0]["reviewed"] == 2 and human[0]["n"] == 3 and human[0]["base_filter"] == "flexible-extract"
    assert human[0]["base_value"] == pytest.approx(base["value"])
    assert human[0]["value"] == pytest.approx((1 + 1 + third) / 3)
    again = run_mathmind(*args, timeout=600)                                          # lm-eval answers from its cache
    assert again.returncode == 0, again.stderr[-3000:]
    kept = [r for r in json.loads((run / "summary.json").read_text())["rows"] if r["filter"] == "human-reviewed"]
    assert kept == human
