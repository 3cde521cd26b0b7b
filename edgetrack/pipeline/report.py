"""report.md for a pipeline run: stages, accuracy, latency, teacher vs student, export and build details."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgetrack.pipeline.config import PipelineConfig
from edgetrack.pipeline.stages import StageResult


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows] + [""]


def _stages(results: Sequence[StageResult], out: Path) -> list[str]:
    rows = [[r.name, "reused" if r.reused else "ran", r.seconds, os.path.relpath(r.folder, out)] for r in results]
    return ["## Stages", "", *_table(["stage", "this run", "seconds (when it ran)", "folder"], rows)]


def _accuracy(ev: StageResult, out: Path) -> list[str]:
    overall = ev.outputs["overall"]
    rows = [[name, m["auc"], m["op50"], m["op75"], m["precision"], m["norm_precision"]] for name, m in overall.items()]
    counts = sorted({m.get("num_sequences", "?") for m in overall.values()}, key=str)
    n = ", ".join(str(c) for c in counts)
    lines = [f"## Accuracy on {ev.outputs['benchmark']} ({n} sequences, one-pass evaluation)", "",
             *_table(["model", f"AUC ({n} seq)", "OP50", "OP75", "P@20", "Pnorm@0.20"], rows)]
    lines += [f"![{Path(p).stem}]({os.path.relpath(p, out)})" for p in ev.outputs["plots"]]
    return lines + [""]


def _latency(bench: StageResult) -> list[str]:
    lat = bench.outputs["latency"]
    base = next(iter(lat.values()))["p50"]
    rows = [[name, r["backend"], r["p50"], r["p90"], r["p99"], r["fps"], r["pre"], r["infer"],
             r["post"], base / r["p50"]] for name, r in lat.items()]
    header = ["model", "backend", "p50 ms", "p90 ms", "p99 ms", "FPS", "pre ms", "infer ms", "post ms",
              f"speed-up vs {next(iter(lat))}"]
    return ["## Latency (batch 1, per frame, this machine)", "", *_table(header, rows)]


def _teacher_vs_student(models: dict[str, str], by_name: dict[str, StageResult]) -> list[str]:
    if "teacher" not in models:
        return []
    rows = []
    n = next(iter(by_name["eval"].outputs["overall"].values()), {}).get("num_sequences") if "eval" in by_name else None
    for metric in ("parameters", "GMACs", "blocks", "AUC", "p50 ms"):
        name = f"AUC ({n} seq)" if metric == "AUC" and n else metric
        rows.append([name] + [_metric(metric, label, models[label], by_name) for label in ("teacher", "student")])
    return ["## Teacher vs student", "", *_table(["", "teacher", "student"], rows)]


def _metric(metric: str, label: str, model: str, by_name: dict[str, StageResult]) -> Any:
    if metric in ("parameters", "GMACs", "blocks"):
        from edgetrack.models.profile import describe

        facts = describe(model)
        return {"parameters": f"{facts['parameters']:,}", "GMACs": facts["gmacs"], "blocks": facts["depth"]}[metric]
    if metric == "AUC" and "eval" in by_name:
        return by_name["eval"].outputs["overall"].get(label, {}).get("auc", "-")
    if metric == "p50 ms" and "bench" in by_name:
        return by_name["bench"].outputs["latency"].get(label, {}).get("p50", "-")
    return "-"


def _export(export: StageResult, build: StageResult | None) -> list[str]:
    m = export.outputs["metrics"]
    lines = ["## Export and build", "", "Max abs difference of the fp32 ONNX against torch: "
             + ", ".join(f"{k} {v:.1e}" for k, v in m["parity_fp32"].items()) + ".", ""]
    rows = [[p, max(d.values()) if d else 0.0, m.get("auc", {}).get(p, "-")] for p, d in m["parity_vs_fp32"].items()]
    if rows:
        # the export's own check tracks only a few sequences: say how many, beside the full evaluation above
        auc = f"AUC ({m.get('auc_sequences', '?')} seq)" if m.get("auc") else "AUC"
        lines += _table(["variant", "max abs diff vs fp32", auc], [["fp32", 0.0, m.get("auc", {}).get("fp32", "-")],
                                                                    *rows])
    if build is not None:
        cfg = build.outputs.get("config", {})
        lines += [f"Build: target `{cfg.get('target', '?')}`, precision `{cfg.get('precision', '?')}`"
                  + ("" if build.outputs.get("runnable") else " (a deploy bundle: build it on the device)") + ".", ""]
    return lines


def write_pipeline_report(cfg: PipelineConfig, results: Sequence[StageResult], models: dict[str, str],
                          out: Path) -> Path:
    """Write OUT/report.md from the stage results of this run (fresh or reused) and return its path."""
    by_name = {r.name: r for r in results}
    lines = [f"# {cfg.name}", "",
             f"Run folder `{out}`, written {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on "
             f"{platform.machine()} ({os.cpu_count()} CPUs), Python {platform.python_version()}.", "",
             *_stages(results, out)]
    if "eval" in by_name:
        lines += _accuracy(by_name["eval"], out)
    if "bench" in by_name:
        lines += _latency(by_name["bench"])
    lines += _teacher_vs_student(models, by_name)
    lines += _export(by_name["export"], by_name.get("build"))
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
