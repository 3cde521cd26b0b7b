"""Deploy bundles: everything a target device needs to build its own engine with only TensorRT and numpy."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any

import yaml

from edgetrack.artifacts import atomic_folder, file_hashes, make_manifest, sha256_file, verify_file, write_json
from edgetrack.deploy import engine_script
from edgetrack.deploy.sources import (
    CALIBRATION,
    batch_shapes,
    calibration_fingerprint,
    check_export,
    source_onnx,
    variant_name,
)
from edgetrack.deploy.targets import TargetProfile, parse_version
from edgetrack.errors import ArtifactError

SCRIPT, TRTEXEC, README = "build_engine.py", "trtexec.sh", "README.md"
SETTINGS_LINE = "SETTINGS: dict[str, Any] = {}  # filled in by `edgetrack build` when it writes a bundle"


def script_settings(profile: TargetProfile, precision: str, onnx: str, calib_fp: str | None,
                    qdq_onnx: str | None = None) -> dict[str, Any]:
    """The defaults baked into the bundle's build_engine.py (`qdq_onnx`: the Q/DQ model of `--int8-route qdq`)."""
    assert profile.tensorrt is not None
    return {"target": profile.name, "precision": precision, "typing": profile.typing, "onnx": onnx,
            "qdq_onnx": qdq_onnx,
            **profile.workspace_settings(), "opt_level": profile.builder_optimization_level,
            "compute_capability": profile.compute_capability, "tensorrt_min": profile.tensorrt.min,
            "tensorrt_below": profile.tensorrt.below, "calibration_fingerprint": calib_fp}


def render_script(settings: dict[str, Any]) -> str:
    """build_engine.py for one bundle: the shipped template with its SETTINGS line filled in."""
    template = Path(engine_script.__file__).read_text()
    if template.count(SETTINGS_LINE) != 1:
        raise RuntimeError(f"{engine_script.__file__} lost its SETTINGS line; the bundle template is damaged")
    return template.replace(SETTINGS_LINE, f"SETTINGS: dict[str, Any] = {settings!r}")


def trtexec_command(profile: TargetProfile, precision: str, onnx: str, qdq_onnx: str | None = None,
                    calib_cache: str | None = None, shapes: tuple[str, str] | None = None) -> str:
    """The bundle's trtexec line, with only the flags the target's TensorRT has.

    It builds what build_engine.py builds, except for legacy INT8 with a Q/DQ ONNX: trtexec then quantises
    explicitly from that file (`build_engine.py --int8-route qdq`), while build_engine.py by default calibrates
    the fp32 model, a different engine (`int8_routes`). Without a Q/DQ ONNX trtexec reads `calib_cache`, the
    calibration cache build_engine.py writes (trtexec cannot calibrate from the .npz itself): the same route.
    `shapes` ((min, max) from `sources.batch_shapes`) gives a dynamic-batch export build_engine.py's profile.
    """
    assert profile.tensorrt is not None
    args = ["trtexec", f"--onnx={onnx}", "--saveEngine=model.engine",
            f"--memPoolSize=workspace:{profile.workspace_mb}M", "--timingCacheFile=timing.cache"]
    if parse_version(profile.tensorrt.min) >= (8, 6):  # the flag appeared in TensorRT 8.6
        args.append(f"--builderOptimizationLevel={profile.builder_optimization_level}")
    if profile.typing == "strong":
        args.append("--stronglyTyped")
    elif precision == "int8":
        args[1] = f"--onnx={qdq_onnx or onnx}"
        if not qdq_onnx and calib_cache is None:
            raise ArtifactError("a legacy INT8 trtexec line without a Q/DQ model needs the calibration cache name")
        args += ["--fp16", "--int8"] + ([] if qdq_onnx else [f"--calib={calib_cache}"])
    elif precision == "fp16":
        args.append("--fp16")
    if shapes is not None:
        args += [f"--minShapes={shapes[0]}", f"--optShapes={shapes[1]}", f"--maxShapes={shapes[1]}"]
    return " ".join(args)


SHARED_LINE = "# --- SHARED: crop and decode (inserted by `edgetrack build`) ---"
RUNTIME = "tracker_runtime.py"


def render_trt8_runtime() -> str:
    """tracker_runtime.py for TensorRT 8 bundles: the template with edgetrack's own crop and decode inserted.

    The functions are copied from `data/crops.py` and `runtime/decode.py` by source, so the device runs the
    very crop and decode that training and edgetrack's runtime use.
    """
    import inspect

    from edgetrack.data import crops
    from edgetrack.deploy import trt8_runtime
    from edgetrack.runtime import decode

    template = Path(trt8_runtime.__file__).read_text()
    if template.count(SHARED_LINE) != 1:
        raise RuntimeError(f"{trt8_runtime.__file__} lost its SHARED line; the runtime template is damaged")
    parts = [f"CLIP_MARGIN = {crops.CLIP_MARGIN}"]
    shared_objects = (crops.Crop, crops._as_box, crops.crop_geometry, crops._axis_taps, crops._crop_and_resize_cv2,
                      crops.crop_and_resize, crops.normalize, crops.map_box_back, crops.clip_box, decode.hann2d,
                      decode._squeeze, decode.decode, decode.decode_outputs, decode.windowed_peak, decode.decode_frame)
    parts += [inspect.getsource(obj) for obj in shared_objects]
    shared = "# --- shared with edgetrack: data/crops.py, runtime/decode.py ---\n\n" + "\n\n".join(parts)
    return template.replace(SHARED_LINE, shared)


def needs_own_runtime(profile: TargetProfile) -> bool:
    """JetPack 5 (Python 3.8, TensorRT 8.5) cannot install edgetrack: its bundles carry tracker_runtime.py."""
    return profile.jetpack is not None and parse_version(profile.jetpack)[0] < 6


def int8_routes(onnx: str, qdq: str | None, cache: str | None) -> str:
    """The README section on legacy INT8: which route each way of building takes, and that they differ."""
    calibrator = (f"- `python3 {SCRIPT}` (`--int8-route calibrator`, the default): **implicit quantisation**, "
                  f"calibrated on this device. It parses the fp32 `{onnx}`, and TensorRT's entropy calibrator "
                  f"picks every range from `{CALIBRATION}` (its cache is keyed by ONNX hash, calibration hash and "
                  "TensorRT version); TensorRT may run any layer in INT8. Use this route for INT8 on the DLA "
                  "(`--dla-core`): TensorRT 8.5's DLA quantises from calibration, not from Q/DQ nodes. `edgetrack "
                  "build` on a TensorRT 8 host builds this route too.\n")
    if qdq is None:
        return ("\n## INT8 on TensorRT 8.x: one route\n\n"
                + calibrator + f"- `{TRTEXEC}` builds the same route: trtexec cannot calibrate, so it reads the "
                f"calibration cache `{cache}` that `python3 {SCRIPT}` writes; run that once first.\n")
    return ("\n## INT8 on TensorRT 8.x: two routes, two different engines\n\n"
            "The two routes below are **not equivalent**: their engines quantise differently (other ranges, other "
            "layers in INT8), are not expected to be bit-equal, and may track differently.\n\n"
            + calibrator + f"- `{TRTEXEC}` (and `python3 {SCRIPT} --int8-route qdq`): **explicit Q/DQ "
            f"quantisation**. It parses `{qdq}`, whose QuantizeLinear/DequantizeLinear nodes hold the ranges "
            "`edgetrack export` chose from the same calibration set; nothing is calibrated on the device, and "
            "INT8 goes where the export's Q/DQ nodes put it.\n\n"
            f"`engine.json` records the route that built the engine (`int8_route`: `calibrator` or `qdq`); trtexec "
            f"writes no engine.json, so prefer `python3 {SCRIPT} --int8-route qdq` for the Q/DQ route.\n")


def readme(profile: TargetProfile, precision: str, onnx: str, command: str, qdq: str | None = None,
           cache: str | None = None) -> str:
    """Where and how to build; short, because the script's --help says the rest."""
    assert profile.tensorrt is not None
    where = f"JetPack {profile.jetpack}, " if profile.jetpack else ""
    legacy = ("\nTensorRT 8.x has no strongly typed networks: the script sets builder flags.\n"
              if profile.typing == "legacy" else "")
    two_routes = profile.typing == "legacy" and precision == "int8"
    if two_routes:
        legacy += int8_routes(onnx, qdq, cache)
    trtexec_says = (f"The trtexec command (`{TRTEXEC}`; for INT8 it builds the explicit Q/DQ route from `{qdq}`, "
                    "not the script's default, see below):" if two_routes and qdq else
                    f"The same build as a trtexec command (see `{TRTEXEC}`):")
    qdq_file = f"`{qdq}` (its explicit Q/DQ INT8 model), " if qdq else ""
    if needs_own_runtime(profile):
        opens = (f"edgetrack itself does not install on JetPack {profile.jetpack} (Python 3.8), so this folder "
                 f"carries `{RUNTIME}`, a tracker that needs only numpy, TensorRT and the CUDA runtime:\n\n"
                 "```\nfrom tracker_runtime import Tracker\ntracker = Tracker(\".\")\n"
                 "tracker.initialize(frame, (x, y, w, h))   # RGB uint8 frames\n"
                 "box, score = tracker.track(next_frame)\n```\n\n"
                 "It crops, decodes and maps boxes back exactly as edgetrack's runtime does.")
    else:
        opens = ("the folder then opens with `Tracker.from_artifact(folder)` (backend `tensorrt`, needs "
                 "`cuda-python`).")
    return f"""# Deploy bundle: {profile.name} ({precision})

Run this on the target: **{profile.description}** ({where}compute capability {profile.compute_capability},
TensorRT {profile.tensorrt}). Engines only load on the GPU architecture and TensorRT version that built them,
so build on the device itself (or a host with the same GPU and TensorRT).

```
python3 build_engine.py            # needs only tensorrt and numpy; --help lists the options
```

It writes `model.engine` (a plain TensorRT plan) and `engine.json` here; {opens}

{trtexec_says}

```
{command}
```
{legacy}
Contents: `{onnx}` (the model), {qdq_file}`io_spec.json` (input/output names, shapes, preprocessing), `target.yaml`
(the target profile), `{CALIBRATION}` when INT8 calibration data exists, `manifest.json` (provenance).
"""


def trtexec_note(qdq: str | None, cache: str | None) -> str:
    """trtexec.sh's comment on its INT8 route (empty when it builds exactly what build_engine.py builds)."""
    if qdq:
        return (f"# explicit Q/DQ INT8 from {qdq} (ranges chosen at export); python3 {SCRIPT} calibrates the fp32\n"
                f"# model by default, a different engine: see README.md (python3 {SCRIPT} --int8-route qdq = this)\n")
    if cache:
        return f"# trtexec cannot calibrate: run python3 {SCRIPT} once first, it writes {cache}\n"
    return ""


def _copy_sources(folder: Path, export_dir: Path, profile: TargetProfile, precision: str) -> tuple[str, str | None]:
    """Copy the ONNX file(s) and calibration data; return (ONNX for the script, Q/DQ ONNX for trtexec or None)."""
    onnx = source_onnx(export_dir, profile, precision)
    shutil.copy(onnx, folder / onnx.name)
    qdq = None
    if profile.typing == "legacy" and precision == "int8" and (export_dir / variant_name("int8")).is_file():
        qdq = variant_name("int8")
        shutil.copy(verify_file(export_dir / qdq), folder / qdq)
    if precision == "int8" and (export_dir / CALIBRATION).is_file():
        shutil.copy(verify_file(export_dir / CALIBRATION), folder / CALIBRATION)
    return onnx.name, qdq


def write_bundle(export_dir: Path, profile: TargetProfile, precision: str, out: Path, reason: str = "",
                 replace: bool = False) -> Path:
    """Write the deploy bundle for `profile` to `out` atomically and return `out`."""
    spec = check_export(export_dir)
    calib_fp = calibration_fingerprint(export_dir) if precision == "int8" else None
    with atomic_folder(out, kind="build", replace=replace) as folder:
        onnx, qdq = _copy_sources(folder, export_dir, profile, precision)
        spec.save(folder)
        (folder / "target.yaml").write_text(yaml.safe_dump(profile.to_dict(), sort_keys=False))
        script = folder / SCRIPT
        script.write_text(render_script(script_settings(profile, precision, onnx, calib_fp, qdq)))
        cache = None
        if profile.typing == "legacy" and precision == "int8" and qdq is None:
            assert profile.tensorrt is not None
            cache = engine_script.calibration_cache_name(sha256_file(folder / onnx),
                                                         sha256_file(folder / CALIBRATION), profile.tensorrt.min)
        command = trtexec_command(profile, precision, onnx, qdq, cache, batch_shapes(spec, engine_script.MAX_TARGETS))
        note = trtexec_note(qdq, cache)
        (folder / TRTEXEC).write_text(f"#!/bin/sh\n# run on the target device ({profile.name})\n{note}set -e\n"
                                      f'cd "$(dirname "$0")"\n{command}\n')
        for path in (script, folder / TRTEXEC):
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        if needs_own_runtime(profile):
            (folder / RUNTIME).write_text(render_trt8_runtime())
        (folder / README).write_text(readme(profile, precision, onnx, command, qdq, cache))
        write_json(folder / "manifest.json", make_manifest(
            "bundle", config={"target": profile.name, "precision": precision, "typing": profile.typing},
            parents={"export": sha256_file(folder / onnx)}, source=str(export_dir), reason=reason,
            files=file_hashes(folder, [onnx, *([qdq] if qdq else []), CALIBRATION, SCRIPT, TRTEXEC, RUNTIME]),
            calibration_fingerprint=calib_fp, trtexec=command))
    return out
