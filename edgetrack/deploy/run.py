"""`edgetrack build`: an export folder -> a CPU artifact, a TensorRT engine built here, or a deploy bundle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgetrack.artifacts import atomic_folder, check_replaceable
from edgetrack.deploy.cpu import is_split_export
from edgetrack.deploy.host import Host, detect_host
from edgetrack.deploy.plan import BuildPlan, plan_build
from edgetrack.deploy.sources import check_batch, check_export, choose_precision, export_samples, variant_name
from edgetrack.deploy.targets import TargetProfile, get_target


def run_build(export_dir: str | Path, target: str, precision: str | None = None, out: str | Path | None = None,
              force: bool = False, bundle: bool = False, host: Host | None = None,
              log: Callable[[str], None] = print, replace: bool = False) -> Path:
    """Build `export_dir` for `target` into `out` (default: EXPORT/../build-TARGET); return the folder written.

    `precision=None` means the target's default (for the cpu target: int8 when clearly faster here). OUT may be
    missing, empty or an earlier build; anything else is refused unless `replace`.
    """
    export_dir = Path(export_dir)
    profile = get_target(target)
    folder = Path(out) if out is not None else export_dir.parent / f"build-{profile.name}"
    if not replace:
        check_replaceable(folder, "build")
    if profile.kind == "cpu":
        from edgetrack.deploy.cpu import build_cpu

        return build_cpu(export_dir, folder, precision, replace=replace)
    split = is_split_export(export_dir)
    if not split:
        check_batch(check_export(export_dir), profile, export_dir)
    chosen = choose_precision(profile, precision)
    host = host or detect_host()
    plan = plan_build(profile, host, force=force, bundle=bundle)
    if split:
        return _split(export_dir, profile, chosen, folder, plan, host, log, replace)
    if plan.mode == "bundle":
        return _bundle(export_dir, profile, chosen, folder, plan, log, replace)
    return _engine(export_dir, profile, chosen, folder, plan, host, log, replace)


def _split(export_dir: Path, profile: TargetProfile, precision: str, folder: Path, plan: BuildPlan, host: Host,
           log: Callable[[str], None], replace: bool) -> Path:
    """MixFormerV2's two graphs, each bundled or built as its own model (`deploy.split`)."""
    from edgetrack.deploy.split import build_split_here, write_split_bundle

    if plan.mode == "bundle":
        write_split_bundle(export_dir, profile, precision, folder, plan.reason, replace)
        log(f"{plan.reason}.\nWrote a deploy bundle of MixFormerV2's two graphs for {profile.name} ({precision}) to "
            f"{folder}.\nCopy it to the {profile.description} and run there:  python3 template_encoder/"
            "build_engine.py && python3 search_step/build_engine.py")
        return folder

    def build_graph(view: Path, dst: Path) -> dict:
        _engine(view, profile, precision, dst, plan, host, log, replace=False)
        return read_engine_checks(dst)

    return build_split_here(export_dir, profile, precision, folder, build_graph, log, replace)


def read_engine_checks(folder: Path) -> dict:
    """The parity and latency an engine build recorded in its engine.json."""
    import json

    from edgetrack.runtime.engine_info import ENGINE_JSON

    record = json.loads((folder / ENGINE_JSON).read_text())
    return {k: record[k] for k in ("parity", "parity_reference", "latency_ms") if k in record}


def _bundle(export_dir: Path, profile: TargetProfile, precision: str, folder: Path, plan: BuildPlan,
            log: Callable[[str], None], replace: bool) -> Path:
    from edgetrack.deploy.bundle import write_bundle

    write_bundle(export_dir, profile, precision, folder, plan.reason, replace)
    log(f"{plan.reason}.\nWrote a deploy bundle for {profile.name} ({precision}) to {folder}.\n"
        f"Copy it to the {profile.description} and run there:  python3 build_engine.py  "
        f"(needs only TensorRT and numpy; trtexec.sh does the same with trtexec)")
    return folder


def _engine(export_dir: Path, profile: TargetProfile, precision: str, folder: Path, plan: BuildPlan,
            host: Host, log: Callable[[str], None], replace: bool) -> Path:
    from edgetrack.deploy.engine import PARITY_SAMPLES, build_here, check_engine, record_checks

    for problem in plan.forced:
        log(f"warning (--force): {problem}")
    with atomic_folder(folder, kind="build", replace=replace) as tmp:
        build_here(export_dir, profile, precision, tmp, host, plan.forced, log)
    # the engine's own ONNX variant is the reference: an INT8 engine is compared with the Q/DQ graph it came from
    reference = export_dir / variant_name(precision if profile.typing == "strong" else "fp32")
    samples = export_samples(export_dir, check_export(export_dir), PARITY_SAMPLES)
    checks = check_engine(folder, reference, samples)
    record_checks(folder, checks)
    worst = ", ".join(f"{k} {v:.1e}" for k, v in checks["parity"].items())
    log(f"wrote {folder}/model.engine; max abs diff vs ONNX Runtime: {worst}; "
        f"median {checks['latency_ms']['median']:.2f} ms per forward")
    return folder
