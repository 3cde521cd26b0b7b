"""The export stage: model folder -> ONNX (fp32, opset 17) + io_spec.json + parity in the manifest."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.artifacts import atomic_folder, check_replaceable, file_hashes, make_manifest, sha256_file, write_json
from edgetrack.calibration.store import CalibrationSet
from edgetrack.errors import ConfigError, EdgetrackError
from edgetrack.export.accuracy import check_gate, check_sequence_count, variant_accuracy
from edgetrack.export.onnx_export import export_onnx
from edgetrack.export.parity import onnx_parity, real_crops
from edgetrack.export.precision import check_ranges, to_fp16, to_int8
from edgetrack.families import family_of
from edgetrack.models.factory import create_model, is_model_folder
from edgetrack.runtime.io_spec import IOSpec

FP32_TOLERANCE = 1e-4


class ParityError(EdgetrackError):
    """The exported model's outputs differ from the torch model's beyond tolerance."""


def simplify(path: Path) -> bool:
    """Simplify in place with onnxslim when installed; return whether it ran."""
    try:
        import onnxslim
    except ImportError:
        return False
    slim = onnxslim.slim(str(path))
    import onnx

    onnx.save(slim, str(path))
    return True


def parity_inputs(calib: CalibrationSet | None, fallback: list[dict[str, np.ndarray]], count: int = 8
                  ) -> list[dict[str, np.ndarray]]:
    """Inputs a variant is compared on: up to `count` calibration samples, else `fallback` (the model's own crops),
    so that a variant exported without a calibration set still gets a parity record."""
    if calib is None or len(calib) == 0:
        return fallback
    return [{k: v[i:i + 1] for k, v in calib.arrays.items()} for i in range(min(count, len(calib)))]


def variant_parity(fp32: Path, variant: Path, samples: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """Max abs difference per output of a precision variant against the fp32 ONNX (ONNX Runtime, CPU)."""
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    ref, run = OnnxRuntimeBackend(fp32), OnnxRuntimeBackend(variant)
    worst: dict[str, float] = {}
    for inputs in samples:
        a, b = ref.infer(inputs), run.infer(inputs)
        for name in a:
            worst[name] = max(worst.get(name, 0.0), float(np.abs(a[name] - b[name]).max()))
    return worst


def make_variants(folder: Path, precisions: list[str], calib: CalibrationSet | None, spec: IOSpec,
                  samples: list[dict[str, np.ndarray]], int8_ranges: str = "minmax", int8_attention: bool = True,
                  int8_float_layers: int = 0) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Write model.fp16.onnx / model.int8.onnx next to model.onnx; return their parity against fp32, and what the
    INT8 sensitivity scan chose (`export.sensitivity`; empty without `int8_float_layers`)."""
    report, chosen = {}, {}
    for precision in precisions:
        if precision == "fp32":
            continue
        dst = folder / f"model.{precision}.onnx"
        if precision == "fp16":
            to_fp16(folder / "model.onnx", dst)
        else:
            if calib is None:
                raise ConfigError("int8 needs a calibration set: edgetrack calibrate ... --out calib.npz, then --calib")
            calib.check_inputs({t.name: t.shape for t in spec.inputs})
            chosen = _float_layers(folder / "model.onnx", calib, int8_ranges, int8_attention, int8_float_layers)
            to_int8(folder / "model.onnx", dst, calib, ranges=int8_ranges, attention=int8_attention,
                    float_layers=chosen.get("float_nodes", []))
        report[precision] = variant_parity(folder / "model.onnx", dst, samples)
    return report, chosen


def _float_layers(src: Path, calib: CalibrationSet, ranges: str, attention: bool, count: int) -> dict[str, Any]:
    """The `count` weight layers INT8 keeps in floating point, with the sensitivity of each (none for 0)."""
    if count == 0:
        return {}
    from edgetrack.console import err
    from edgetrack.export.sensitivity import float_nodes, most_sensitive

    def quantise(source: Path, dst: Path, layers: list[str]) -> Path:
        return to_int8(source, dst, calib, ranges=ranges, attention=attention, float_layers=layers)

    layers, errors = most_sensitive(src, calib, count, quantise,
                                    progress=lambda text: err.print(f"[dim]{text}[/dim]", highlight=False))
    return {"float_layers": layers, "float_nodes": float_nodes(src, layers), "box_error": errors}


def run_export(model_path: str, out: str | Path, fused: bool = False, tolerance: float = FP32_TOLERANCE,
               precisions: list[str] | None = None, calib_path: str | Path | None = None,
               accuracy_sequences: int = 0, accuracy_gate: float | None = None, replace: bool = False,
               int8_ranges: str = "minmax", int8_attention: bool = True, dynamic_batch: bool = False,
               int8_float_layers: int = 0) -> Path:
    """Export `model_path` (a model folder or preset with bundled weights) to OUT; refuse on parity failure.

    OUT may be missing, empty or an earlier export; anything else is refused unless `replace`.

    With `accuracy_sequences` > 0, every variant is tracked on that many synthetic-test sequences and its AUC
    recorded; `accuracy_gate` refuses the export when a variant's AUC is more than that many points below fp32.
    """
    if accuracy_gate is not None and accuracy_sequences <= 0:
        raise ConfigError("--accuracy-gate needs --accuracy-sequences N (N > 0) to measure AUC")
    check_sequence_count(accuracy_sequences)
    check_ranges(int8_ranges)
    precisions = precisions or ["fp32"]
    if int8_float_layers < 0 or (int8_float_layers and "int8" not in precisions):
        raise ConfigError(f"--int8-float-layers {int8_float_layers}: give N >= 1 together with --precision ...,int8")
    if not replace:
        check_replaceable(Path(out), "export")  # before minutes of export work, not after
    calib = CalibrationSet.load(calib_path) if calib_path else None
    model = create_model(model_path) if is_model_folder(model_path) else create_model(model_path, pretrained=True)
    if family_of(model).export == "split":  # two graphs (template encoder, search step), not one
        if int8_float_layers:
            raise ConfigError(f"{model_path} exports as two graphs; --int8-float-layers takes a one-graph export")
        if dynamic_batch:
            raise ConfigError(f"{model_path} exports as two graphs (template encoder, search step) that track one "
                              "target per call; export it without --dynamic-batch")
        return _export_split(model, model_path, Path(out), precisions, tolerance, calib, calib_path,
                             accuracy_sequences, accuracy_gate, replace)
    parent = sha256_file(Path(model_path) / "model.safetensors") if is_model_folder(model_path) else model_path
    with atomic_folder(out, kind="export", replace=replace) as folder:
        spec = export_onnx(model, folder / "model.onnx", fused=fused, dynamic_batch=dynamic_batch)
        slimmed = simplify(folder / "model.onnx")
        parity = onnx_parity(model, folder / "model.onnx", fused=fused)
        worst = max(parity.values())
        if worst > tolerance:
            raise ParityError(f"exported ONNX differs from the torch model by {worst:.2e} (> {tolerance:.0e}): "
                              f"{parity}; please report this with `edgetrack env`")
        spec.save(folder)
        variants, sensitivity = make_variants(folder, precisions, calib, spec, parity_inputs(calib, real_crops(model)),
                                              int8_ranges, int8_attention, int8_float_layers)
        aucs = variant_accuracy(folder, precisions, spec, accuracy_sequences) if accuracy_sequences else {}
        check_gate(aucs, accuracy_gate)
        if calib is not None:
            shutil.copy(calib_path, folder / "calibration.npz")
        manifest = make_manifest("export", config={"fused_postprocess": fused, "opset": 17,
                                                   "precisions": precisions, "int8_ranges": int8_ranges,
                                                   "int8_attention": int8_attention,
                                                   "dynamic_batch": dynamic_batch,
                                                   "int8_float_layers": sensitivity.get("float_layers", [])},
                                 parents={"model": parent, **({"calibration": calib.meta.get("fingerprint", "")}
                                                              if calib is not None else {})},
                                 metrics={"parity_fp32": parity, "parity_vs_fp32": variants,
                                          "auc": aucs, "auc_sequences": accuracy_sequences,
                                          **({"int8_box_error": sensitivity["box_error"]} if sensitivity else {})},
                                 simplified=slimmed, onnx_sha256=sha256_file(folder / "model.onnx"),
                                 files=file_hashes(folder, ["model.onnx", *(f"model.{p}.onnx" for p in precisions),
                                                            "calibration.npz"]))
        write_json(folder / "manifest.json", manifest)
    return Path(out)


def _export_split(model: Any, model_path: str, out: Path, precisions: list[str], tolerance: float,
                  calib: CalibrationSet | None, calib_path: str | Path | None, accuracy_sequences: int,
                  accuracy_gate: float | None, replace: bool) -> Path:
    """A MixFormerV2 model as its template encoder and search step, parity-checked like one graph, with each
    precision variant as a pair of graphs (`split_variants`)."""
    from edgetrack.export.accuracy import split_variant_accuracy
    from edgetrack.export.mixformerv2 import ENCODER, SPEC, STEP, export_mixformerv2, split_parity
    from edgetrack.export.split_variants import GRAPHS, graph_file, make_split_variants

    parent = sha256_file(Path(model_path) / "model.safetensors") if is_model_folder(model_path) else model_path
    with atomic_folder(out, kind="export", replace=replace) as folder:
        export_mixformerv2(model, folder)
        parity = split_parity(model, folder)
        if max(parity.values()) > tolerance:
            raise ParityError(f"exported ONNX differs from the torch model by {max(parity.values()):.2e} "
                              f"(> {tolerance:.0e}): {parity}; please report this with `edgetrack env`")
        variants = make_split_variants(folder, precisions, calib)
        aucs = split_variant_accuracy(folder, precisions, accuracy_sequences) if accuracy_sequences else {}
        check_gate(aucs, accuracy_gate)
        if calib is not None:
            shutil.copy(calib_path, folder / "calibration.npz")
        files = [graph_file(folder, g, p).name for p in precisions for g in GRAPHS]
        write_json(folder / "manifest.json", make_manifest(
            "export", config={"opset": 17, "precisions": precisions, "graphs": [ENCODER, STEP]},
            parents={"model": parent, **({"calibration": calib.meta.get("fingerprint", "")} if calib else {})},
            metrics={"parity_fp32": parity, "parity_vs_fp32": variants, "auc": aucs,
                     "auc_sequences": accuracy_sequences},
            files=file_hashes(folder, [*files, SPEC, "calibration.npz"])))
    return out
