"""GPU targets for a MixFormerV2 split export: each graph bundled or built as a model of its own.

A split export holds two graphs (`template_encoder`, `search_step`). For a TensorRT target each becomes a
single-graph export view (its ONNX files, an `io_spec.json` with its own inputs and outputs and the model's
processing constants, and its own calibration inputs), and the view goes through the very bundle and engine
code every other model uses, into `OUT/template_encoder/` and `OUT/search_step/`. `OUT` also holds the
model's processing spec, so that `Tracker.from_artifact(OUT)` opens both engines as one online tracker.

The search step's calibration inputs are its search crops with the template memories the fp32 encoder
computes from the same samples (`export.split_variants.step_calibration`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from edgetrack.artifacts import atomic_folder, file_hashes, make_manifest, scratch_folder, verify_file, write_json
from edgetrack.calibration.store import CalibrationSet
from edgetrack.deploy.sources import CALIBRATION, variant_name
from edgetrack.deploy.targets import TargetProfile
from edgetrack.errors import ArtifactError
from edgetrack.export.mixformerv2 import ENCODER, ENCODER_INPUTS, SPEC, load_spec
from edgetrack.export.split_variants import GRAPHS, graph_file, step_calibration
from edgetrack.runtime.io_spec import IOSpec, TensorSpec

README = "README.md"


def graph_dir(folder: Path, graph: str) -> Path:
    """Where a graph's bundle or engine lives inside a split build: FOLDER/template_encoder, FOLDER/search_step."""
    return Path(folder) / Path(graph).stem


def is_split_build(folder: Path) -> bool:
    """Whether `folder` is a split bundle or engine build (both graph folders and the processing spec)."""
    return (folder / SPEC).is_file() and all(graph_dir(folder, g).is_dir() for g in GRAPHS)


def _tensors(values: list) -> tuple[TensorSpec, ...]:
    return tuple(TensorSpec(name=v.name, shape=tuple(int(d.dim_value) for d in v.type.tensor_type.shape.dim))
                 for v in values)


def graph_io_spec(export_dir: Path, graph: str) -> IOSpec:
    """The IO spec of one graph: its ONNX inputs and outputs, the model's processing constants."""
    import onnx

    cfg = load_spec(export_dir)
    proto = onnx.load(str(graph_file(export_dir, graph)), load_external_data=False).graph
    return IOSpec(inputs=_tensors(list(proto.input)), outputs=_tensors(list(proto.output)),
                  template_size=cfg.template_size, search_size=cfg.search_size, template_factor=cfg.template_factor,
                  search_factor=cfg.search_factor, feat_size=cfg.search_feat, mean=tuple(cfg.mean),
                  std=tuple(cfg.std), model_name=cfg.name,
                  extra={"family": "mixformerv2", "graph": Path(graph).stem})


def _graph_calibration(export_dir: Path, calib: CalibrationSet, graph: str) -> CalibrationSet:
    if graph == ENCODER:
        return CalibrationSet({k: calib.arrays[k] for k in ENCODER_INPUTS}, dict(calib.meta))
    return step_calibration(export_dir, calib)


def graph_views(export_dir: Path, precision: str, root: Path) -> dict[str, Path]:
    """A single-graph export folder per graph under `root` (fp32 file, `precision`'s file, IO spec, calibration)."""
    calib = CalibrationSet.load(export_dir / CALIBRATION) if (export_dir / CALIBRATION).is_file() else None
    views = {}
    for graph in GRAPHS:
        view = root / Path(graph).stem
        view.mkdir(parents=True)
        for p in {"fp32", precision}:
            source = graph_file(export_dir, graph, p)
            if source.is_file():
                shutil.copy(verify_file(source), view / variant_name(p))
        graph_io_spec(export_dir, graph).save(view)
        if calib is not None:
            _graph_calibration(export_dir, calib, graph).save(view / CALIBRATION)
        views[graph] = view
    return views


def _readme(profile: TargetProfile, precision: str) -> str:
    enc, step = (Path(g).stem for g in GRAPHS)
    return f"""# Deploy bundle: MixFormerV2 for {profile.name} ({precision})

Two engines, each built like any edgetrack model: `{enc}/` (template keys and values, run once per template
update) and `{step}/` (the per-frame network). On the target, **{profile.description}**:

```
python3 {enc}/build_engine.py && python3 {step}/build_engine.py
```

Each folder's README gives its trtexec line. Then `Tracker.from_artifact(this_folder)` runs both engines as
MixFormerV2's online tracker (`{SPEC}` holds the processing constants).
"""


def _refuse_own_runtime(profile: TargetProfile) -> None:
    from edgetrack.deploy.bundle import needs_own_runtime

    if needs_own_runtime(profile):
        raise ArtifactError(f"{profile.name} (JetPack {profile.jetpack}) runs edgetrack's standalone one-graph "
                            "runtime, which has no online-template loop: MixFormerV2 deploys to JetPack 6 targets "
                            "(jetson-orin-agx, -nx, -nano) and desktop GPUs")


def write_split_bundle(export_dir: Path, profile: TargetProfile, precision: str, out: Path, reason: str = "",
                       replace: bool = False) -> Path:
    """A deploy bundle per graph under `out`, the processing spec and a README saying how to build both."""
    from edgetrack.deploy.bundle import write_bundle

    _refuse_own_runtime(profile)
    with scratch_folder(out) as tmp, atomic_folder(out, kind="build", replace=replace) as folder:
        for graph, view in graph_views(export_dir, precision, tmp).items():
            write_bundle(view, profile, precision, graph_dir(folder, graph), reason)
        shutil.copy(export_dir / SPEC, folder / SPEC)
        (folder / README).write_text(_readme(profile, precision))
        write_json(folder / "manifest.json", make_manifest(
            "bundle", config={"target": profile.name, "precision": precision, "typing": profile.typing,
                              "graphs": [Path(g).stem for g in GRAPHS]},
            source=str(export_dir), reason=reason, files=file_hashes(folder, [SPEC, README])))
    return out


def build_split_here(export_dir: Path, profile: TargetProfile, precision: str, out: Path,
                     build_graph: Callable[[Path, Path], dict], log: Callable[[str], None] = print,
                     replace: bool = False) -> Path:
    """Build both graphs' engines with `build_graph(view, folder) -> checks` (`deploy.run` passes its own single-graph
    build and check); record each graph's checks in the top-level manifest."""
    _refuse_own_runtime(profile)
    checks = {}
    with scratch_folder(out) as tmp, atomic_folder(out, kind="build", replace=replace) as folder:
        for graph, view in graph_views(export_dir, precision, tmp).items():
            log(f"{Path(graph).stem}:")
            checks[Path(graph).stem] = build_graph(view, graph_dir(folder, graph))
        shutil.copy(export_dir / SPEC, folder / SPEC)
        write_json(folder / "manifest.json", make_manifest(
            "build", config={"target": profile.name, "precision": precision, "typing": profile.typing,
                             "graphs": [Path(g).stem for g in GRAPHS]},
            source=str(export_dir), metrics=checks, files=file_hashes(folder, [SPEC])))
    return out

