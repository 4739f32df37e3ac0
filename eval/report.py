"""Compare evaluation runs: one markdown report with tables, deltas to a baseline, bar charts and breakdowns.

Reads each RUN_DIR/summary.json (from `mathmind eval`) and lm-eval's logged samples under RUN_DIR/lm_eval.
Per task family one headline number: gsm8k and MGSM exact match after lm-eval's flexible-extract filter
(the last number in the answer; small models rarely keep the strict format), MGSM averaged over its
languages (also shown per language), mmlu accuracy (lm-eval's group score when it ran the whole group).
From the samples, a breakdown per category where the documents have one (MATH `level` and `type`, as
in seed 001; MMLU `subject`). Charts are PNGs next to the report.

  mathmind report runs/eval/base runs/eval/unfiltered runs/eval/filtered --baseline base --out runs/report.md
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from mathmind.errors import UserError
from mathmind.jsonl import write_text_atomic

# family -> (metric, filter) reported as its headline number
HEADLINE = {"gsm8k": ("exact_match", "flexible-extract"), "mgsm_direct": ("exact_match", "flexible-extract"),
            "mgsm_cot_native": ("exact_match", "flexible-extract"), "mmlu": ("acc", "none")}
CATEGORY_FIELDS = ("level", "type", "subject")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="folders written by `mathmind eval`")
    parser.add_argument("--name", action="append", default=[], help="names for the runs, in order (default: from each run)")
    parser.add_argument("--baseline", default=None, help="the run every other is compared with (default: the first)")
    parser.add_argument("--out", required=True, type=Path, metavar="REPORT.md")


def load_run(path: Path) -> dict[str, Any]:
    summary = path / "summary.json"
    if not summary.is_file():
        raise UserError(f"{path}: no summary.json (run `mathmind eval --out {path}` first)")
    try:
        return json.loads(summary.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(f"{summary}: not valid JSON (line {e.lineno}: {e.msg})") from None


def headline(rows: list[dict[str, Any]], fam: str) -> tuple[float | None, dict[str, float]]:
    """The family's number for one run, and its per-task numbers."""
    metric, filter_name = HEADLINE.get(fam, (None, None))
    chosen = [r for r in rows if r["family"] == fam and (metric is None or (r["metric"], r["filter"]) == (metric, filter_name))]
    if metric is None and chosen:            # another lm-eval task: its first metric
        first = (chosen[0]["metric"], chosen[0]["filter"])
        chosen = [r for r in chosen if (r["metric"], r["filter"]) == first]
    per_task = {r["task"]: r["value"] for r in chosen}
    if not per_task:
        return None, {}
    if fam in per_task:                       # a group score lm-eval computed (mmlu)
        return per_task[fam], per_task
    if fam == "mmlu":                         # subjects only: lm-eval's group weighting is by size
        subjects = [r for r in chosen if r["task"].startswith("mmlu_")]
        total = sum(r["n"] or 0 for r in subjects)
        value = sum(r["value"] * (r["n"] or 0) for r in subjects) / total if total else None
        return value, per_task
    return sum(per_task.values()) / len(per_task), per_task


def breakdowns(run_dir: Path) -> dict[str, dict[str, dict[str, tuple[float, int]]]]:
    """task -> category field -> value -> (mean score, count), from lm-eval's logged samples."""
    sums: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for path in glob.glob(str(run_dir / "lm_eval" / "**" / "samples_*.jsonl"), recursive=True):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            doc = sample.get("doc") or {}
            if sample.get("filter") not in ("flexible-extract", "none"):
                continue
            score = next((sample[m] for m in ("exact_match", "acc") if isinstance(sample.get(m), (int, float))), None)
            task = Path(path).name[len("samples_"):].rsplit("_", 1)[0]
            for field in CATEGORY_FIELDS:
                if score is not None and isinstance(doc.get(field), (str, int)):
                    sums[task][field][str(doc[field])].append(float(score))
    return {t: {f: {v: (sum(s) / len(s), len(s)) for v, s in sorted(vals.items())} for f, vals in fields.items()}
            for t, fields in sums.items()}


def bar_chart(path: Path, title: str, labels: list[str], series: dict[str, list[float | None]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(6, len(labels) * 0.9), 4))
    for i, (name, values) in enumerate(series.items()):
        xs = [x + i * width for x in range(len(labels))]
        ax.bar(xs, [v or 0 for v in values], width, label=name)
    ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(labels))], labels, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("score")
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def delta(value: float | None, base: float | None) -> str:
    return "" if value is None or base is None else f" ({100 * (value - base):+.1f})"


def run(args: argparse.Namespace) -> int:
    runs = [load_run(p) for p in args.runs]
    if args.name and len(args.name) != len(runs):
        raise UserError(f"--name given {len(args.name)} time(s) for {len(runs)} runs")
    names = args.name or [r.get("model") or p.name for r, p in zip(runs, args.runs)]
    if len(set(names)) != len(names):
        raise UserError(f"two runs share a name ({names}); tell them apart with --name")
    baseline = args.baseline or names[0]
    if baseline not in names:
        raise UserError(f"--baseline {baseline!r} is not one of the runs ({', '.join(names)})")
    b = names.index(baseline)
    families = list(dict.fromkeys(r["family"] for run_ in runs for r in run_["rows"]))
    scores = [{fam: headline(run_["rows"], fam) for fam in families} for run_ in runs]
    figures = args.out.parent / (args.out.stem + "_figures")
    lines = ["# mathmind evaluation report", "",
             f"Runs: {', '.join(f'`{n}` ({p})' for n, p in zip(names, args.runs))}. Baseline: `{baseline}`; "
             "deltas in points. Scores in %: exact match after lm-eval's flexible-extract filter (gsm8k, MGSM: the "
             "average over its languages), accuracy for mmlu.", ""]
    lines += ["| model | " + " | ".join(families) + " |", "|---" * (len(families) + 1) + "|"]
    for i, name in enumerate(names):
        cells = [fmt(scores[i][f][0]) + ("" if i == b else delta(scores[i][f][0], scores[b][f][0])) for f in families]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for fam in families:
        tasks = list(dict.fromkeys(t for s in scores for t in s[fam][1]))
        chart = figures / f"{fam}.png"
        labels = [t.rsplit("_", 1)[-1] if fam.startswith("mgsm") else t for t in tasks]
        bar_chart(chart, fam, labels or [fam], {n: [s[fam][1].get(t) for t in tasks] or [s[fam][0]] for n, s in zip(names, scores)})
        lines += [f"## {fam}", "", f"![{fam}]({chart.relative_to(args.out.parent)})", ""]
        if len(tasks) > 1 and fam.startswith("mgsm"):
            lines += ["| model | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
            for i, name in enumerate(names):
                cells = [fmt(scores[i][fam][1].get(t)) + ("" if i == b else delta(scores[i][fam][1].get(t), scores[b][fam][1].get(t)))
                         for t in tasks]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
    for name, run_dir in zip(names, args.runs):
        for task, fields in breakdowns(run_dir).items():
            for field, values in fields.items():
                lines += [f"### {name}: {task} by {field}", "", f"| {field} | score | n |", "|---|---|---|"]
                lines += [f"| {v} | {fmt(score)} | {n} |" for v, (score, n) in values.items()]
                chart = figures / f"{name}_{task}_{field}.png"
                bar_chart(chart, f"{name}: {task} by {field}", list(values), {name: [s for s, _ in values.values()]})
                lines += ["", f"![{task} by {field}]({chart.relative_to(args.out.parent)})", ""]
    write_text_atomic(args.out, "\n".join(lines) + "\n")
    print(f"report: {args.out} (figures in {figures})", file=sys.stderr)
    return 0
