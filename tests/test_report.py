"""mathmind report over summary.json files as `mathmind eval` writes them (no lm-eval run: seconds)."""

import json

import pytest


def row(model, task, family, metric, filter_name, value, n, **extra):
    return {"model": model, "task": task, "family": family, "metric": metric, "filter": filter_name, "value": value,
            "stderr": None, "n": n, **extra}


def write_run(path, model, rows, source=None, tasks=None):
    path.mkdir(parents=True)
    (path / "summary.json").write_text(json.dumps({"model": model, "source": source or f"/models/{model}",
                                                   "tasks": tasks or sorted({r["task"] for r in rows}), "rows": rows}))
    return path


@pytest.fixture
def seed_runs(tmp_path):
    """base, unfiltered, filtered: gsm8k and two MGSM languages with both metrics; unfiltered lacks mgsm zh;
    filtered scores 0.0 under lm-eval on gsm8k and has a human-reviewed row."""
    def rows(model, v, zh=True):
        out = [row(model, "gsm8k", "gsm8k", "exact_match", "flexible-extract", v / 4, 100, scorer="lm-eval"),
               row(model, "gsm8k", "gsm8k", "judge", "final-answer", v, 100, undecided=2, scorer="mathmind judge")]
        for lang in ("en", "zh") if zh else ("en",):
            out += [row(model, f"mgsm_direct_{lang}", "mgsm_direct", "exact_match", "flexible-extract", v / 2, 50),
                    row(model, f"mgsm_direct_{lang}", "mgsm_direct", "judge", "final-answer", v, 50, undecided=1)]
        return out

    filtered = [r for r in rows("filtered", 0.8) if r["metric"] != "exact_match" or r["task"] != "gsm8k"]
    filtered += [row("filtered", "gsm8k", "gsm8k", "exact_match", "flexible-extract", 0.0, 100),
                 row("filtered", "gsm8k", "gsm8k", "exact_match", "human-reviewed", 0.83, 100, reviewed=12, changed=9,
                     base_filter="flexible-extract", base_value=0.0)]                # as `mathmind review` writes them
    return [write_run(tmp_path / "base", "base", rows("base", 0.4)),
            write_run(tmp_path / "unfiltered", "unfiltered", rows("unfiltered", 0.6, zh=False)),
            write_run(tmp_path / "filtered", "filtered", filtered)]


def test_seed002_table_models_as_columns_both_metrics_deltas_n_and_human_rows(seed_runs, run_mathmind, tmp_path):
    out = tmp_path / "r" / "report.md"
    proc = run_mathmind("report", *map(str, seed_runs), "--baseline", "base", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "| benchmark | metric | base | unfiltered | filtered |" in text
    assert "| gsm8k | lm-eval exact_match, flexible-extract | 10.0% n=100 | 15.0% (+5.0) n=100 | 0.0% (-10.0) n=100 |" in text
    assert ("| gsm8k | **judge (final answer)** (headline) | 40.0% n=100, 2 undecided | 60.0% (+20.0) n=100, 2 undecided | "
            "80.0% (+40.0) n=100, 2 undecided |") in text
    assert "| gsm8k | human-reviewed exact_match | not reviewed | not reviewed | 83.0% n=100, 12 reviewed by hand |" in text
    assert "60.0% (+20.0) n=50, 1 undecided, only 1 of 2 tasks" in text        # a mean over fewer languages is flagged
    assert "| zh | 40.0% n=50 | not run | 80.0% (+40.0) n=50 |" in text
    assert "Headline (charts): **judge**" in text
    figures = tmp_path / "r" / "report_figures"
    assert {p.name for p in figures.glob("*.png")} == {"overview.png", "gsm8k.png", "mgsm_direct.png"}
    lm = run_mathmind("report", *map(str, seed_runs), "--headline", "lm-eval", "--out", str(tmp_path / "lm.md"))
    assert lm.returncode == 0 and "| gsm8k | **lm-eval exact_match, flexible-extract** (headline) |" in (tmp_path / "lm.md").read_text()


def test_runs_of_one_model_on_different_tasks_are_one_model(tmp_path, run_mathmind):
    a = write_run(tmp_path / "smol_gsm8k", "smol_gsm8k", [row("smol_gsm8k", "gsm8k", "gsm8k", "judge", "final-answer", 0.1, 20)],
                  source="/models/SmolLM2-135M")
    b = write_run(tmp_path / "smol_zh", "smol_zh", [row("smol_zh", "mgsm_direct_zh", "mgsm_direct", "judge", "final-answer", 0.05, 20)],
                  source="/models/SmolLM2-135M")
    out = tmp_path / "report.md"
    proc = run_mathmind("report", str(a), str(b), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "| benchmark | metric | SmolLM2-135M |" in text and "not run" not in text


def test_chart_draws_missing_apart_from_zero_in_percent(tmp_path):
    """The chart's own drawing: a 0.0 score is a labelled 0.0% bar, a missing one is hatched and says so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathmind.eval.report import bar_chart

    texts = []
    original = plt.Axes.text

    def record(self, x, y, s, *args, **kwargs):
        texts.append(s)
        return original(self, x, y, s, *args, **kwargs)

    plt.Axes.text = record
    try:
        bar_chart(tmp_path / "c.png", "t", ["en", "zh"], {"base": [(0.5, 10), (0.0, 10)], "tuned": [(0.7, 10), (None, None)]},
                  "base", "judge (%)")
    finally:
        plt.Axes.text = original
    assert texts == ["50.0%  n=10", "0.0%  n=10", "70.0% (+20.0 pts)  n=10", "tuned: missing"]
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
