"""Compare evaluation runs: one markdown report (seed 002's table: benchmarks as rows, models as columns) and charts.

Reads each RUN_DIR/summary.json (from `mathmind eval`) and lm-eval's logged samples under RUN_DIR/lm_eval.
Every benchmark (task family) has up to three kinds of score, each named wherever it appears:
  lm-eval         lm-eval's own metric, unchanged: gsm8k and MGSM exact_match after flexible-extract (the last
                  number-like run), mmlu acc (lm-eval's group score when it ran the whole group), any other
                  task its first metric
  judge           mathmind's final-answer rule judge over the same generations (`\\boxed{}`, `答案是 N`, ...),
                  undecided answers counted as wrong and shown
  human-reviewed  any rows a review added to summary.json (scorer, metric or filter naming `human`)
MGSM is averaged over its languages (also shown per language), mmlu weighted by subject size. --headline picks
the metric the charts draw (default judge, lm-eval where a benchmark has no judge rows: loglikelihood tasks).
Runs with the same name (--name, or the same model evaluated on different tasks into different folders)
are one model. Charts: values in % with n on every bar, missing data marked as missing (never drawn as 0),
deltas in points to the baseline. Breakdowns per category where the documents have one (MATH `level` and
`type`, as in seed 001; MMLU `subject`).

  mathmind report runs/eval/base runs/eval/unfiltered runs/eval/filtered --baseline base --out runs/report.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mathmind.errors import UserError
from mathmind.jsonl import write_text_atomic

# family -> lm-eval's (metric, filter) reported for it
LM_EVAL_METRIC = {"gsm8k": ("exact_match", "flexible-extract"), "mgsm_direct": ("exact_match", "flexible-extract"),
                  "mgsm_cot_native": ("exact_match", "flexible-extract"), "mmlu": ("acc", "none")}
JUDGE = ("judge", "final-answer")
CATEGORY_FIELDS = ("level", "type", "subject")


@dataclass
class Score:
    """One model's score on one benchmark under one metric, and its per-task parts."""
    value: float | None
    n: int | None
    undecided: int | None = None
    reviewed: int | None = None           # documents a person gave a verdict on (human-reviewed rows)
    per_task: dict[str, tuple[float, int | None]] = field(default_factory=dict)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="folders written by `mathmind eval`")
    parser.add_argument("--name", action="append", default=[],
                        help="names for the runs, in order (default: from each run); runs given the same name are one model")
    parser.add_argument("--baseline", default=None, help="the model every other is compared with (default: the first)")
    parser.add_argument("--headline", choices=("judge", "lm-eval"), default="judge",
                        help="the metric charts draw: judge (mathmind's final-answer judge, default) or lm-eval "
                             "(lm-eval's own metric, comparable with published numbers); the table shows both")
    parser.add_argument("--out", required=True, type=Path, metavar="REPORT.md")


def load_run(path: Path) -> dict[str, Any]:
    summary = path / "summary.json"
    if not summary.is_file():
        raise UserError(f"{path}: no summary.json (run `mathmind eval --out {path}` first)")
    try:
        return json.loads(summary.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(f"{summary}: not valid JSON (line {e.lineno}: {e.msg})") from None


def group_runs(runs: list[dict[str, Any]], dirs: list[Path], names: list[str]) -> dict[str, dict[str, Any]]:
    """model name -> {"rows", "dirs"}; runs of one name are merged (a later run's row for the same task wins)."""
    models: dict[str, dict[str, Any]] = {}
    for run_, path, name in zip(runs, dirs, names):
        model = models.setdefault(name, {"rows": [], "dirs": []})
        new = {(r["task"], r["metric"], r["filter"]) for r in run_["rows"]}
        model["rows"] = [r for r in model["rows"] if (r["task"], r["metric"], r["filter"]) not in new] + run_["rows"]
        model["dirs"].append(path)
    return models


def default_names(runs: list[dict[str, Any]], dirs: list[Path]) -> list[str]:
    """Each run's own name, except that runs of one model (same source and server) on different tasks share one."""
    names = [r.get("model") or p.name for r, p in zip(runs, dirs)]
    by_source: dict[tuple, list[int]] = defaultdict(list)
    for i, run_ in enumerate(runs):
        if run_.get("source"):
            by_source[(run_["source"], run_.get("base_url"))].append(i)
    for (source, _), members in by_source.items():
        task_sets = [set(runs[i].get("tasks") or []) for i in members]
        disjoint = sum(len(t) for t in task_sets) == len(set().union(*task_sets))
        if len(members) > 1 and disjoint and len({names[i] for i in members}) > 1:
            for i in members:
                names[i] = Path(str(source)).name
    return names


def metric_kinds(rows: list[dict[str, Any]], fam: str) -> list[tuple[str, str, str]]:
    """(label, metric, filter) of each kind of score this benchmark has: lm-eval's, judge, human-reviewed ones."""
    mine = [r for r in rows if r["family"] == fam]
    reviewed = [r for r in mine if "human" in f"{r.get('scorer', '')} {r['metric']} {r['filter']}".lower()]
    lm_eval = [r for r in mine if (r["metric"], r["filter"]) != JUDGE and r not in reviewed]
    kinds = []
    wanted = LM_EVAL_METRIC.get(fam)
    if lm_eval:
        metric, filter_name = wanted if wanted and any((r["metric"], r["filter"]) == wanted for r in lm_eval) \
            else (lm_eval[0]["metric"], lm_eval[0]["filter"])
        kinds.append((f"lm-eval {metric}" + ("" if filter_name == "none" else f", {filter_name}"), metric, filter_name))
    if any((r["metric"], r["filter"]) == JUDGE for r in mine):
        kinds.append(("judge (final answer)", *JUDGE))
    for metric, filter_name in dict.fromkeys((r["metric"], r["filter"]) for r in reviewed):
        label = metric if "human" in metric.lower() else f"human-reviewed {metric}"
        shown_filter = filter_name not in ("none", metric) and "human" not in filter_name.lower()
        kinds.append((label + (f", {filter_name}" if shown_filter else ""), metric, filter_name))
    return kinds


def score(rows: list[dict[str, Any]], fam: str, metric: str, filter_name: str) -> Score | None:
    chosen = [r for r in rows if r["family"] == fam and (r["metric"], r["filter"]) == (metric, filter_name)]
    if not chosen:
        return None
    per_task = {r["task"]: (r["value"], r.get("n")) for r in chosen}
    parts = [r for r in chosen if r["task"] != fam]
    n = sum(r.get("n") or 0 for r in parts) or (per_task.get(fam, (0, None))[1])
    undecided = sum(r["undecided"] for r in chosen if "undecided" in r) if any("undecided" in r for r in chosen) else None
    if fam in per_task:                                   # a group score lm-eval computed (mmlu)
        value = per_task[fam][0]
    elif fam == "mmlu":                                   # subjects only: weighted by size, as lm-eval's group is
        total = sum(r.get("n") or 0 for r in parts)
        value = sum(r["value"] * (r.get("n") or 0) for r in parts) / total if total else None
    else:                                                 # MGSM: the mean over its languages
        value = sum(r["value"] for r in parts) / len(parts)
    reviewed = sum(r["reviewed"] for r in chosen if "reviewed" in r) if any("reviewed" in r for r in chosen) else None
    return Score(value, n or None, undecided, reviewed, {t: v for t, v in per_task.items() if t != fam})


def pct(value: float | None) -> str:
    return "missing" if value is None else f"{100 * value:.1f}%"


def cell(s: Score | None, base: Score | None, is_baseline: bool, absent: str = "not run", tasks: int = 0) -> str:
    if s is None or s.value is None:
        return absent
    text = pct(s.value)
    if not is_baseline and base is not None and base.value is not None:
        text += f" ({100 * (s.value - base.value):+.1f})"
    text += f" n={s.n}" if s.n else ""
    text += f", {s.undecided} undecided" if s.undecided else ""
    text += f", {s.reviewed} reviewed by hand" if s.reviewed else ""
    return text + (f", only {len(s.per_task)} of {tasks} tasks" if len(s.per_task) < tasks else "")


def bar_chart(path: Path, title: str, labels: list[str], series: dict[str, list[tuple]],
              baseline: str | None, xlabel: str) -> None:
    """Horizontal grouped bars in %: value, delta to the baseline and n written on each bar; `missing` (hatched,
    no value) where a model has no score, so it never reads as 0; the baseline's value dashed across each group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(9, 1.4 + 0.28 * len(labels) * len(series)))
    base_points = series.get(baseline) if baseline in series and len(series) > 1 else None
    for i, (name, points) in enumerate(series.items()):
        for y, (value, n, *note) in enumerate(points):
            ys = y + i * height
            if value is None:
                ax.barh(ys, 6, height, fill=False, hatch="////", edgecolor="0.6", linewidth=0.5)
                ax.text(7, ys, f"{name}: missing", va="center", fontsize=7, color="0.4", style="italic")
                continue
            ax.barh(ys, 100 * value, height, color=f"C{i}")
            text = f"{100 * value:.1f}%"
            base = base_points[y][0] if base_points and name != baseline else None
            text += f" ({100 * (value - base):+.1f} pts)" if base is not None else ""
            text += f"  n={n}" if n else ""
            text += f"  ({note[0]})" if note and note[0] else ""
            ax.text(100 * value + 1, ys, text, va="center", fontsize=7, zorder=3,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.3, "alpha": 0.8})
    if base_points:
        for y, (value, *_) in enumerate(base_points):
            if value is not None:
                ax.vlines(100 * value, y - height / 2, y + height * (len(series) - 0.5), colors="0.15",
                          linestyles="dashed", linewidth=0.9)
    ax.set_yticks([y + height * (len(series) - 1) / 2 for y in range(len(labels))], labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 140)
    ax.set_xticks(range(0, 101, 20), [f"{v}%" for v in range(0, 101, 20)])
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=f"C{i}") for i in range(len(series))]
    names = list(series)
    if base_points:
        handles.append(plt.Line2D([], [], color="0.15", linestyle="dashed"))
        names.append(f"baseline ({baseline})")
    ax.legend(handles, names, fontsize="small", loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def latest_samples(run_dirs: list[Path]) -> dict[str, Path]:
    """task -> its newest lm-eval samples file across the model's run folders."""
    found: dict[str, Path] = {}
    for run_dir in run_dirs:
        for path in sorted((run_dir / "lm_eval").rglob("samples_*.jsonl"), key=lambda p: p.stat().st_mtime):
            found[path.stem[len("samples_"):].rpartition("_")[0]] = path
    return found


def judge_verdicts(run_dirs: list[Path], task: str) -> dict[int, bool] | None:
    for run_dir in reversed(run_dirs):
        path = run_dir / "judge" / f"{task}.jsonl"
        if path.is_file():
            return {r["doc_id"]: r["verdict"] == "accept" for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    return None


def breakdowns(run_dirs: list[Path], headline: str, used: dict[str, str]) -> dict[str, dict[str, dict[str, tuple[float, int]]]]:
    """task -> category field -> value -> (mean score, count), from lm-eval's logged samples: judge verdicts when
    the headline is judge and the task has them, else lm-eval's flexible-extract or only metric (`used` says which)."""
    from mathmind.eval.tasks import family

    sums: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for task, path in latest_samples(run_dirs).items():
        verdicts = judge_verdicts(run_dirs, task) if headline == "judge" else None
        fam = family(task)                  # mmlu's 57 subject tasks make one table by subject
        used[fam] = "judge" if verdicts is not None else "lm-eval"
        seen = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            doc = sample.get("doc") or {}
            if verdicts is not None:
                if sample["doc_id"] in seen or sample["doc_id"] not in verdicts:
                    continue
                seen.add(sample["doc_id"])
                value = float(verdicts[sample["doc_id"]])
            elif sample.get("filter") in ("flexible-extract", "none"):
                value = next((float(sample[m]) for m in ("exact_match", "acc") if isinstance(sample.get(m), (int, float))), None)
            else:
                continue
            for field_name in CATEGORY_FIELDS:
                if value is not None and isinstance(doc.get(field_name), (str, int)):
                    sums[fam][field_name][str(doc[field_name])].append(value)
    return {t: {f: {v: (sum(s) / len(s), len(s)) for v, s in sorted(vals.items())} for f, vals in fields.items()}
            for t, fields in sums.items()}


def run(args: argparse.Namespace) -> int:
    runs = [load_run(p) for p in args.runs]
    if args.name and len(args.name) != len(runs):
        raise UserError(f"--name given {len(args.name)} time(s) for {len(runs)} runs")
    models = group_runs(runs, args.runs, args.name or default_names(runs, args.runs))
    names = list(models)
    baseline = args.baseline or names[0]
    if baseline not in names:
        raise UserError(f"--baseline {baseline!r} is not one of the models ({', '.join(names)})")
    families = list(dict.fromkeys(r["family"] for m in models.values() for r in m["rows"]))
    figures = args.out.parent / (args.out.stem + "_figures")
    lines = ["# mathmind evaluation report", "",
             "Models: " + "; ".join(f"`{n}` ({', '.join(map(str, m['dirs']))})" for n, m in models.items()) + ".",
             f"Baseline: `{baseline}`; deltas in points. Scores in %, n = documents scored. Metrics: **lm-eval** is "
             "lm-eval's own metric, unchanged (comparable with published numbers); **judge** is mathmind's final-answer "
             "judge over the same generations (reads `\\boxed{}`, `答案是 N`, `The answer is N`, `#### N` after any "
             "`</think>`; undecided answers count as wrong); **human-reviewed** rows come from a review. "
             f"Headline (charts): **{args.headline}**. MGSM is the mean over its languages, mmlu weighted by subject.", "",
             "| benchmark | metric | " + " | ".join(names) + " |", "|---" * (len(names) + 2) + "|"]
    headline_kind: dict[str, tuple[str, str, str]] = {}
    for fam in families:
        kinds = metric_kinds([r for m in models.values() for r in m["rows"]], fam)
        pick = next((k for k in kinds if (k[1], k[2]) == JUDGE), None) if args.headline == "judge" else None
        headline_kind[fam] = pick or kinds[0]
        for label, metric, filter_name in kinds:
            scores = [score(models[n]["rows"], fam, metric, filter_name) for n in names]
            base = scores[names.index(baseline)]
            shown = f"**{label}** (headline)" if (label, metric, filter_name) == headline_kind[fam] else label
            absent = "not reviewed" if label.startswith("human") else "not run"
            tasks = len({t for s in scores if s for t in s.per_task})
            lines.append(f"| {fam} | {shown} | " + " | ".join(cell(s, base, n == baseline, absent, tasks)
                                                           for s, n in zip(scores, names)) + " |")
    lines.append("")
    overview: dict[str, list[tuple]] = {}
    all_tasks = {fam: {r["task"] for m in models.values() for r in m["rows"] if r["family"] == fam
                       and (r["metric"], r["filter"]) == headline_kind[fam][1:] and r["task"] != fam} for fam in families}
    for n in names:
        points = [score(models[n]["rows"], fam, *headline_kind[fam][1:]) for fam in families]
        overview[n] = [(s.value, s.n, f"{len(s.per_task)} of {len(all_tasks[f])} tasks" if len(s.per_task) < len(all_tasks[f]) else "")
                       if s else (None, None) for s, f in zip(points, families)]
    if families:
        chart = figures / "overview.png"
        which = "judge; lm-eval where a benchmark has no judge rows" if args.headline == "judge" else "lm-eval"
        bar_chart(chart, f"Headline metric per benchmark ({which})",
                  [f"{fam}\n{headline_kind[fam][0]}" for fam in families], overview, baseline, "score (%)")
        lines += ["## Overview", "", f"![overview]({chart.relative_to(args.out.parent)})", ""]
    for fam in families:
        label, metric, filter_name = headline_kind[fam]
        ran = [n for n in names if score(models[n]["rows"], fam, metric, filter_name)]
        scores = {n: score(models[n]["rows"], fam, metric, filter_name) for n in ran}
        tasks = list(dict.fromkeys(t for s in scores.values() for t in s.per_task)) or [fam]
        labels = [t.rsplit("_", 1)[-1] if fam.startswith("mgsm") else t for t in tasks]
        if fam == "mmlu" or len(tasks) == 1:
            tasks, labels = [fam], [fam]
        series = {n: [(scores[n].value, scores[n].n) if t == fam else scores[n].per_task.get(t, (None, None)) for t in tasks]
                  for n in ran}
        chart = figures / f"{fam}.png"
        bar_chart(chart, f"{fam}: {label}", labels, series, baseline, f"{label} (%)")
        lines += [f"## {fam}", "", f"Metric: {label}.", "", f"![{fam}]({chart.relative_to(args.out.parent)})", ""]
        if len(tasks) > 1:
            lines += [f"| language | " + " | ".join(ran) + " |", "|---" * (len(ran) + 1) + "|"]
            for t, lab in zip(tasks, labels):
                base = scores.get(baseline)
                base_part = Score(*base.per_task[t]) if base and t in base.per_task else None
                cells = [cell(Score(*scores[n].per_task[t]) if t in scores[n].per_task else None, base_part, n == baseline)
                         for n in ran]
                lines.append(f"| {lab} | " + " | ".join(cells) + " |")
            lines.append("")
    used: dict[str, str] = {}
    by_model = {n: breakdowns(models[n]["dirs"], args.headline, used) for n in names}
    for task in dict.fromkeys(t for b in by_model.values() for t in b):
        for field_name in dict.fromkeys(f for b in by_model.values() for f in b.get(task, {})):
            have = [n for n in names if field_name in by_model[n].get(task, {})]
            values = list(dict.fromkeys(v for n in have for v in by_model[n][task][field_name]))
            if len(values) < 2:                   # one category is the task's own score, shown above
                continue
            lines += [f"### {task} by {field_name} ({used[task]})", "", f"| {field_name} | " + " | ".join(have) + " |",
                      "|---" * (len(have) + 1) + "|"]
            for v in values:
                lines.append(f"| {v} | " + " | ".join(
                    (lambda p: f"{pct(p[0])} n={p[1]}" if p else "missing")(by_model[n][task][field_name].get(v)) for n in have) + " |")
            if len(values) > 20:                  # a table is the readable form of mmlu's 57 subjects
                lines.append("")
                continue
            chart = figures / f"{task}_{field_name}.png"
            bar_chart(chart, f"{task} by {field_name} ({used[task]})", values,
                      {n: list(by_model[n][task][field_name].get(v, (None, None)) for v in values) for n in have},
                      baseline, f"{used[task]} score (%)")
            lines += ["", f"![{task} by {field_name}]({chart.relative_to(args.out.parent)})", ""]
    write_text_atomic(args.out, "\n".join(lines) + "\n")
    print(f"report: {args.out} (figures in {figures}; headline metric: {args.headline})", file=sys.stderr)
    return 0
