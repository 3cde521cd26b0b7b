"""Run a pipeline file stage by stage, reusing every stage whose inputs are unchanged, then write report.md."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetrack.artifacts import sha256_file, sha256_json
from edgetrack.errors import EdgetrackError
from edgetrack.locks import folder_lock
from edgetrack.pipeline.config import PipelineConfig
from edgetrack.pipeline.stages import StageResult, folder_hash, is_main_process, run_stage, world_size
from edgetrack.pipeline.validate import validate_pipeline

Announce = Callable[[str], None]


def _compress(cfg: PipelineConfig, out: Path, say: Announce) -> StageResult:
    from edgetrack.compress.run import run_compress

    def body(folder: Path) -> tuple[str, dict[str, Any]]:
        student = run_compress(cfg.compress, folder, resume=True, on_mismatch="fresh")
        return sha256_file(student / "model.safetensors"), {"model": str(student)}

    config = cfg.compress.to_dict() | {"world_size": world_size()}
    return run_stage("compress", out / "compress", config, {}, body, say)


def _finetune(cfg: PipelineConfig, out: Path, student: StageResult, say: Announce) -> StageResult:
    from edgetrack.train.run import run_train

    assert cfg.finetune is not None
    stage_cfg = cfg.finetune.replace(model=student.outputs["model"])

    def body(folder: Path) -> tuple[str, dict[str, Any]]:
        model = run_train(stage_cfg, folder, resume=True, stage="finetune", on_mismatch="fresh")
        return sha256_file(model / "model.safetensors"), {"model": str(model)}

    config = {k: v for k, v in stage_cfg.to_dict().items() if k != "model"}  # the parent hash stands for it
    config["world_size"] = world_size()
    return run_stage("finetune", out / "finetune", config, {"student": student.hash}, body, say)


def _calibrate(cfg: PipelineConfig, out: Path, student: StageResult, say: Announce) -> StageResult:
    from edgetrack.calibration.run import calibrate_with

    assert cfg.calibrate is not None
    recipe = cfg.calibrate.resolved()

    def body(folder: Path) -> tuple[str, dict[str, Any]]:
        path = folder / "calib.npz"
        calib = calibrate_with(student.outputs["model"], recipe, path)
        return calib.fingerprint, {"path": str(path), "samples": len(calib)}

    # keyed by what the recipe resolves to, so editing a recipe file re-runs the stage
    return run_stage("calibrate", out / "calibrate", recipe.to_dict(), {"student": student.hash}, body, say)


def _export(cfg: PipelineConfig, out: Path, student: StageResult, calib: StageResult | None,
            say: Announce) -> StageResult:
    from edgetrack.artifacts import read_manifest
    from edgetrack.export.run import run_export

    e = cfg.export
    parents = {"student": student.hash} | ({"calibration": calib.hash} if calib else {})

    def body(folder: Path) -> tuple[str, dict[str, Any]]:
        run_export(student.outputs["model"], folder, fused=e.fuse_postprocess, precisions=list(e.precisions),
                   calib_path=calib.outputs["path"] if calib else None, accuracy_sequences=e.accuracy_sequences,
                   accuracy_gate=e.accuracy_gate, int8_ranges=e.int8_ranges, int8_attention=e.int8_attention,
                   dynamic_batch=e.dynamic_batch, int8_float_layers=e.int8_float_layers)
        return folder_hash(folder, "*.onnx"), {"model": str(folder), "metrics": read_manifest(folder)["metrics"]}

    return run_stage("export", out / "export", e.to_dict(), parents, body, say)


def _build(cfg: PipelineConfig, out: Path, export: StageResult, say: Announce) -> StageResult:
    from edgetrack.artifacts import read_manifest
    from edgetrack.deploy.run import run_build

    b = cfg.build
    assert b is not None

    def body(folder: Path) -> tuple[str, dict[str, Any]]:
        built = Path(run_build(Path(export.outputs["model"]), b.target, b.precision, folder, b.force))
        manifest = read_manifest(built) if (built / "manifest.json").is_file() else {}
        return folder_hash(built), {"model": str(built), "runnable": _runnable(built),
                                    "config": manifest.get("config", {}), "metrics": manifest.get("metrics", {})}

    return run_stage("build", out / "build", b.to_dict(), {"export": export.hash}, body, say)


def _runnable(folder: Path) -> bool:
    """Whether a built artifact can be run here (a CPU build or an engine for this GPU, not a deploy bundle)."""
    from edgetrack.runtime.tracker import Tracker

    try:
        Tracker.from_artifact(folder).close()
    except EdgetrackError:
        return False
    return True


def deployed_model(export: StageResult, build: StageResult | None) -> str:
    """The artifact that ships: the build when it runs here, else the exported ONNX the bundle compiles."""
    return build.outputs["model"] if build is not None and build.outputs.get("runnable") else export.outputs["model"]


def teacher_model(cfg: PipelineConfig, out: Path) -> str:
    """A model argument for the teacher: its preset or folder, or a folder written from its checkpoint."""
    c = cfg.compress
    if not (c.teacher_weights or c.random_teacher):
        return c.teacher
    folder = out / "teacher"
    if not (folder / "model.safetensors").is_file():
        from edgetrack.compress.run import load_teacher
        from edgetrack.models.factory import save_model

        teacher, _ = load_teacher(c.teacher, c.teacher_weights, c.random_teacher, c.train.seed)
        save_model(teacher, folder, stage="teacher")
    return str(folder)


def baseline_models(specs: tuple[str, ...]) -> dict[str, str]:
    """Report label -> tracker argument of the eval stage's baselines (`opencv:vittrack=F` -> `opencv:vittrack`)."""
    return {spec.split("=", 1)[0] if spec.startswith("opencv:") else Path(spec).name: spec for spec in specs}


def _eval(cfg: PipelineConfig, out: Path, models: dict[str, str], parents: dict[str, str],
          say: Announce) -> StageResult:
    from edgetrack.eval.benchmarks import BENCHMARKS
    from edgetrack.eval.evaluate import evaluate_model
    from edgetrack.eval.report import save_plots

    ev = cfg.eval
    assert ev is not None
    bench = BENCHMARKS.get(ev.benchmark)

    def body(folder: Path) -> tuple[str, dict[str, Any]]:
        root = Path(ev.data_root) if ev.data_root else None
        overall = {}
        baselines = {(f"baseline:{k}" if k in models else k): v for k, v in baseline_models(ev.baselines).items()}
        for label, model in (models | baselines).items():
            report = evaluate_model(model, bench, folder / label.replace(":", "-"), root, ev.workers, ev.device)
            if report is not None:
                overall[label] = report["overall"]
        plots = [str(p) for p in save_plots(overall, folder, bench.name)] if overall else []
        return sha256_json(overall), {"benchmark": bench.name, "overall": overall, "plots": plots}

    return run_stage("eval", out / "eval", ev.to_dict() | {"models": sorted(models)}, parents, body, say)


def _bench(cfg: PipelineConfig, out: Path, models: dict[str, str], parents: dict[str, str],
           say: Announce) -> StageResult:
    from edgetrack.eval.latency import bench_frames, measure_latency
    from edgetrack.runtime.tracker import Tracker

    bc = cfg.bench
    assert bc is not None

    def body(folder: Path) -> tuple[str, dict[str, Any]]:
        frames = bench_frames()
        rows = {label: measure_latency(lambda m=model: Tracker.from_artifact(m), label, bc.runs, bc.warmup,
                                       frames).to_dict() for label, model in models.items()}
        return sha256_json(rows), {"latency": rows}

    return run_stage("bench", out / "bench", bc.to_dict() | {"models": sorted(models)}, parents, body, say)


def run_pipeline(cfg: PipelineConfig, announce: Announce = print) -> Path | None:
    """Run every configured stage in order and write OUT/report.md; return the report's path.

    Under `torchrun` every process takes part in the training stages (compress, finetune); then the helper
    processes return None and rank 0 alone calibrates, exports, builds, evaluates and reports. A second run on the
    same OUT while this one holds it is refused.
    """
    out = Path(cfg.out)
    validate_pipeline(cfg)
    with folder_lock(out, enabled=is_main_process(), notice=announce):
        return _run_stages(cfg, out, announce)


def _run_stages(cfg: PipelineConfig, out: Path, announce: Announce) -> Path | None:
    from edgetrack.pipeline.report import write_pipeline_report

    results: list[StageResult] = [_compress(cfg, out, announce)]
    student = results[-1]
    if cfg.finetune is not None:
        student = _finetune(cfg, out, student, announce)
        results.append(student)
    if not is_main_process():
        return None
    calib = _calibrate(cfg, out, student, announce) if cfg.calibrate is not None else None
    results += [calib] if calib else []
    export = _export(cfg, out, student, calib, announce)
    results.append(export)
    build = _build(cfg, out, export, announce) if cfg.build is not None else None
    results += [build] if build else []
    models = {"teacher": teacher_model(cfg, out)} if cfg.eval is None or cfg.eval.teacher else {}
    models |= {"student": student.outputs["model"], "deployed": deployed_model(export, build)}
    parents = {"student": student.hash, "deployed": (build or export).hash, "models": sha256_json(models)}
    if cfg.eval is not None:
        results.append(_eval(cfg, out, models, parents, announce))
    if cfg.bench is not None:
        results.append(_bench(cfg, out, models, parents, announce))
    return write_pipeline_report(cfg, results, models, out)
