#!/usr/bin/env python3
"""Build a TensorRT engine from an edgetrack deploy bundle; needs only TensorRT's Python package and numpy.

Run it on the device the bundle was made for (or a host with the same GPU architecture and TensorRT):
engines are tied to both. It writes model.engine (a plain TensorRT plan) and engine.json next to
io_spec.json, so the folder opens with edgetrack's TensorRT runtime.

Strongly typed builds (TensorRT >= 10) take their precision from the ONNX file: Q/DQ nodes for INT8, fp16
tensors for FP16. Legacy builds (TensorRT 8.x) take it from builder flags, and INT8 has two routes that build
different engines (other scales, other layers in INT8; never expected to be bit-equal):

- `--int8-route calibrator` (the default): implicit quantisation of the fp32 model.onnx, calibrated here by
  TensorRT's entropy calibrator from calibration.npz, so TensorRT chooses every range. Its cache is keyed by
  the ONNX hash, the calibration hash and the TensorRT version, so a stale cache is never reused. It is the
  route `edgetrack build` runs on a TensorRT 8 host, and the one for INT8 on the DLA (TensorRT 8.5's DLA
  quantises from calibration, not from Q/DQ nodes).
- `--int8-route qdq`: explicit quantisation of model.int8.onnx, whose Q/DQ nodes hold the ranges chosen at
  export; no calibration here. The bundle's trtexec.sh builds this route.

engine.json records the route that built the engine (`int8_route`).

An ONNX exported with `--dynamic-batch` (a free first axis) is built with one optimisation profile for 1 to
`--max-targets` targets per call (default 8, tuned for the largest); engine.json records it (`max_batch`).

This file is the template of every bundle's build_engine.py and the build code edgetrack itself runs; the
SETTINGS line below is filled in when a bundle is written.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

SETTINGS: dict[str, Any] = {}  # filled in by `edgetrack build` when it writes a bundle

ENGINE, ENGINE_JSON, IO_SPEC = "model.engine", "engine.json", "io_spec.json"
CALIBRATOR, QDQ = "calibrator", "qdq"  # the INT8 routes: implicit (calibrated here) and explicit (Q/DQ from export)
MAX_TARGETS = 8  # targets per call an engine of a dynamic-batch export is built for, unless told otherwise


class BuildError(RuntimeError):
    """A build step failed; the message says what to do."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def version_tuple(text: str) -> tuple[int, ...]:
    """'10.3.0.30' -> (10, 3, 0, 30)."""
    parts = []
    for piece in str(text).split("."):
        match = re.match(r"\d+", piece)
        if match is None:
            break
        parts.append(int(match.group()))
    return tuple(parts)


def in_range(version: str, low: str, below: str) -> bool:
    return version_tuple(low) <= version_tuple(version) < version_tuple(below)


def calibration_cache_name(onnx_sha: str, calib_sha: str, trt_version: str) -> str:
    """A cache file name that changes when the model, the calibration data or TensorRT's minor version changes.

    Keyed by major.minor (caches carry over between patch releases), so that `edgetrack build` can name the
    very file this script writes in the bundle's trtexec line from the target's TensorRT version.
    """
    minor = ".".join(trt_version.split(".")[:2])
    return f"calibration-{onnx_sha[:16]}-{calib_sha[:16]}-trt{minor}.cache"


def default_int8_route(typing: str, precision: str) -> str | None:
    """The INT8 route a build takes unless told: strongly typed builds read Q/DQ, legacy ones calibrate."""
    if precision != "int8":
        return None
    return QDQ if typing == "strong" else CALIBRATOR


def int8_route(options: dict[str, Any]) -> str | None:
    """The route of this build: `options['int8_route']`, else the default for its typing and precision."""
    if options["precision"] != "int8":
        return None
    return options.get("int8_route") or default_int8_route(options["typing"], options["precision"])


class CudaDriver:
    """The few CUDA driver calls a build needs, through ctypes (libcuda ships with every NVIDIA driver)."""

    def __init__(self) -> None:
        self.lib = None
        for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
            try:
                self.lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        if self.lib is None:
            raise BuildError("the CUDA driver (libcuda) is not found: install the NVIDIA driver / JetPack")
        self._call("cuInit", ctypes.c_uint(0))
        self.device = ctypes.c_int()
        self._call("cuDeviceGet", ctypes.byref(self.device), ctypes.c_int(0))
        # make the device's primary context current: the one TensorRT's runtime calls use
        self.context = ctypes.c_void_p()
        self._call("cuDevicePrimaryCtxRetain", ctypes.byref(self.context), self.device)
        self._call("cuCtxSetCurrent", self.context)

    def _call(self, name: str, *args: Any) -> None:
        code = getattr(self.lib, name)(*args)
        if code != 0:
            raise BuildError(f"CUDA driver call {name} failed with error {code}")

    def gpu(self) -> tuple[str, str]:
        """(name, compute capability 'major.minor') of GPU 0."""
        buf = ctypes.create_string_buffer(256)
        self._call("cuDeviceGetName", buf, ctypes.c_int(256), self.device)
        major, minor = ctypes.c_int(), ctypes.c_int()
        self._call("cuDeviceGetAttribute", ctypes.byref(major), ctypes.c_int(75), self.device)  # CC major
        self._call("cuDeviceGetAttribute", ctypes.byref(minor), ctypes.c_int(76), self.device)  # CC minor
        return buf.value.decode(errors="replace"), f"{major.value}.{minor.value}"

    def total_memory_mb(self) -> float | None:
        """GPU 0's memory in MB (on a Jetson: the module's memory, shared with the CPU); None if unreadable."""
        size = ctypes.c_size_t()
        try:
            self._call("cuDeviceTotalMem_v2", ctypes.byref(size), self.device)
        except (BuildError, AttributeError):
            return None
        return size.value / 2**20

    def upload(self, array: np.ndarray) -> int:
        """A new device buffer holding `array`; free it with `free`."""
        ptr = ctypes.c_uint64()
        self._call("cuMemAlloc_v2", ctypes.byref(ptr), ctypes.c_size_t(array.nbytes))
        self._call("cuMemcpyHtoD_v2", ptr, array.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(array.nbytes))
        return int(ptr.value)

    def free(self, ptr: int) -> None:
        self._call("cuMemFree_v2", ctypes.c_uint64(ptr))


def make_calibrator(trt: Any, npz: Path, cache: Path, cuda: CudaDriver) -> Any:
    """An IInt8EntropyCalibrator2 over the samples of `npz` (one array per input name, batch 1)."""
    with np.load(npz, allow_pickle=False) as data:
        arrays = {k: np.ascontiguousarray(data[k], dtype=np.float32) for k in data.files if not k.startswith("__")}
    count = min(len(a) for a in arrays.values())

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            super().__init__()
            self.index, self.live = 0, []

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names: list[str]) -> list[int] | None:
            for ptr in self.live:
                cuda.free(ptr)
            self.live = []
            if self.index >= count:
                return None
            missing = [n for n in names if n not in arrays]
            if missing:
                raise BuildError(f"{npz} has no samples for inputs {missing}; it holds {sorted(arrays)}")
            self.live = [cuda.upload(arrays[n][self.index:self.index + 1]) for n in names]
            self.index += 1
            return list(self.live)

        def read_calibration_cache(self) -> bytes | None:
            return cache.read_bytes() if cache.is_file() else None

        def write_calibration_cache(self, data: Any) -> None:
            cache.write_bytes(bytes(data))

    return EntropyCalibrator()


def _tensor(trt: Any, t: Any, mode: str) -> dict[str, Any]:
    dtype = np.dtype(trt.nptype(t.dtype)).name
    return {"name": t.name, "mode": mode, "shape": [int(d) for d in t.shape], "dtype": dtype}


def parse_onnx(trt: Any, logger: Any, builder: Any, onnx: Path, typing: str) -> tuple[Any, Any]:
    """(network, parser) for `onnx`; strongly typed networks take precision from the file."""
    flag = "STRONGLY_TYPED" if typing == "strong" else "EXPLICIT_BATCH"
    network = builder.create_network(1 << int(getattr(trt.NetworkDefinitionCreationFlag, flag)))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BuildError(f"TensorRT cannot parse {onnx}: {errors}")
    return network, parser


def configure(trt: Any, builder: Any, options: dict[str, Any], cuda: CudaDriver | None) -> tuple[Any, Any]:
    """(builder config, timing cache) set up for the requested precision, workspace, DLA and caches."""
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options["workspace_mb"]) << 20)
    if hasattr(config, "builder_optimization_level"):  # TensorRT >= 8.6
        config.builder_optimization_level = int(options["opt_level"])
    cache_file = Path(options["timing_cache"])
    timing = config.create_timing_cache(cache_file.read_bytes() if cache_file.is_file() else b"")
    config.set_timing_cache(timing, False)
    if options["typing"] == "legacy" and options["precision"] in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # INT8 builds keep fp16 for the layers left in floating point
    if options["typing"] == "legacy" and options["precision"] == "int8":
        config.set_flag(trt.BuilderFlag.INT8)  # on the Q/DQ route too: TensorRT 8 builds Q/DQ layers only with it
    if options["typing"] == "legacy" and int8_route(options) == CALIBRATOR:
        if not options.get("calibration") or cuda is None:
            raise BuildError("a legacy INT8 build with the calibrator needs calibration.npz and the CUDA driver")
        config.int8_calibrator = make_calibrator(trt, Path(options["calibration"]), Path(options["calib_cache"]), cuda)
    if int(options.get("dla_core", -1)) >= 0:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = int(options["dla_core"])
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)  # LayerNorm, GELU and attention run on the GPU
    return config, timing


def batch_profile(trt: Any, builder: Any, network: Any, config: Any, max_batch: int) -> int:
    """For a network whose inputs have a free first axis, one optimisation profile taking 1 to `max_batch` of
    them per call (tuned for `max_batch`); the engine's largest batch (1 for a static network)."""
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    if not any(int(t.shape[0]) < 0 for t in inputs):
        return 1
    if max_batch < 1:
        raise BuildError(f"--max-targets must be at least 1, not {max_batch}")
    profile = builder.create_optimization_profile()
    for t in inputs:
        rest = tuple(int(d) for d in t.shape[1:])
        if any(d < 0 for d in rest):
            raise BuildError(f"input {t.name} has a free axis besides the batch {tuple(t.shape)}; export again")
        profile.set_shape(t.name, (1, *rest), (max_batch, *rest), (max_batch, *rest))
    config.add_optimization_profile(profile)
    if getattr(config, "int8_calibrator", None) is not None:
        config.set_calibration_profile(profile)  # the calibrator's batches are batch 1, inside the profile
    return max_batch


def build_engine(options: dict[str, Any], log: Any = print) -> list[dict[str, Any]]:
    """Build `options['onnx']` into `options['engine']`; return the engine's I/O tensors (logged too), and set
    `options['max_batch']` to the targets per call the engine takes."""
    import tensorrt as trt

    # only the calibrator touches device memory itself (it uploads the calibration batches)
    cuda = CudaDriver() if options["typing"] == "legacy" and int8_route(options) == CALIBRATOR else None
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network, _parser = parse_onnx(trt, logger, builder, Path(options["onnx"]), options["typing"])
    io = ([_tensor(trt, network.get_input(i), "input") for i in range(network.num_inputs)]
          + [_tensor(trt, network.get_output(i), "output") for i in range(network.num_outputs)])
    for t in io:
        log(f"  {t['mode']:6s} {t['name']:12s} {tuple(t['shape'])} {t['dtype']}")
    config, timing = configure(trt, builder, options, cuda)
    options["max_batch"] = batch_profile(trt, builder, network, config, int(options.get("max_batch", MAX_TARGETS)))
    if options["max_batch"] > 1:
        log(f"  batch profile: 1 to {options['max_batch']} targets per call")
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise BuildError(f"TensorRT could not build {options['onnx']} (see the messages above); try a smaller "
                         "--workspace-mb or another precision")
    Path(options["timing_cache"]).write_bytes(bytes(timing.serialize()))
    engine = Path(options["engine"])
    tmp = engine.with_name(f".{engine.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(memoryview(plan))
    os.replace(tmp, engine)
    return io


def workspace_for(memory_mb: float | None, settings: dict[str, Any]) -> int:
    """The builder workspace: a fixed `workspace_mb`, or, for a family target, `workspace_share` of the device's
    memory between `workspace_mb` and `workspace_max_mb` (`workspace_mb` when the memory is unknown)."""
    floor = int(settings.get("workspace_mb") or 1024)
    share, cap = settings.get("workspace_share"), settings.get("workspace_max_mb")
    if not share or not cap or not memory_mb:
        return floor
    return int(min(max(memory_mb * share, floor), cap))


def module_name() -> str | None:
    """The board's name from the device tree (a Jetson: 'NVIDIA Jetson AGX Orin Developer Kit'), else None."""
    try:
        return Path("/proc/device-tree/model").read_bytes().rstrip(b"\0").decode(errors="replace").strip() or None
    except OSError:
        return None


def engine_record(*, trt_version: str, gpu: str, compute_capability: str, target: str, precision: str, typing: str,
                  onnx: Path, calibration_fingerprint: str | None, io: list[dict[str, Any]], io_spec: dict[str, Any],
                  builder: str, dla_core: int = -1, calibration_cache: str | None = None,
                  forced: list[str] | None = None, module: str | None = None, memory_mb: float | None = None,
                  workspace_mb: int | None = None, int8_route: str | None = None,
                  max_batch: int = 1) -> dict[str, Any]:
    """The engine.json sidecar: what the engine was built from, on what, and its I/O."""
    return {
        "format": 1, "tensorrt_version": trt_version, "gpu": gpu, "compute_capability": compute_capability,
        "target": target, "precision": precision, "typing": typing, "dla_core": dla_core if dla_core >= 0 else None,
        "int8_route": (int8_route or default_int8_route(typing, precision)) if precision == "int8" else None,
        "onnx_file": onnx.name, "onnx_sha256": sha256(onnx), "calibration_fingerprint": calibration_fingerprint,
        "calibration_cache": calibration_cache, "io": io, "io_spec": io_spec, "builder": builder,
        "built": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "forced": list(forced or []), "module": module,
        "memory_mb": None if memory_mb is None else round(memory_mb), "workspace_mb": workspace_mb,
        "max_batch": max_batch,
    }


def host_mismatches(trt_version: str, compute_capability: str, settings: dict[str, Any]) -> list[str]:
    """Ways this host differs from the bundle's target profile (empty when it matches)."""
    problems = []
    want_cc = settings.get("compute_capability")
    if want_cc and compute_capability != want_cc:
        problems.append(f"this GPU has compute capability {compute_capability}, the target "
                        f"{settings.get('target')} has {want_cc}")
    low, below = settings.get("tensorrt_min"), settings.get("tensorrt_below")
    if low and below and not in_range(trt_version, low, below):
        problems.append(f"TensorRT {trt_version} is installed, the target {settings.get('target')} expects "
                        f">={low},<{below}")
    return problems


ROUTES_HELP = ("INT8 on TensorRT 8.x (--typing legacy) has two routes, and their engines differ (never expected to "
               "be bit-equal): 'calibrator' (the default) is implicit quantisation of the fp32 model, calibrated on "
               "this device by TensorRT's entropy calibrator from calibration.npz, so TensorRT picks the ranges; "
               "'qdq' is explicit quantisation of the Q/DQ model, whose ranges were chosen at export (no calibration "
               "here): the route trtexec.sh builds. engine.json records the route as int8_route.")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    s = SETTINGS
    legacy = s.get("typing", "legacy") == "legacy"  # the bare template explains both typings
    parser = argparse.ArgumentParser(
        description=f"Build a TensorRT engine for target '{s.get('target', '?')}' ({s.get('precision', '?')}). "
                    "Run on the target device; needs only tensorrt and numpy.",
        epilog=ROUTES_HELP if legacy else None)
    parser.add_argument("--onnx", default=None,
                        help=f"ONNX file in this folder (default: {s.get('onnx', 'model.onnx')}"
                             + (f"; {s['qdq_onnx']} with --int8-route qdq)" if s.get("qdq_onnx") else ")"))
    parser.add_argument("--precision", default=s.get("precision", "fp16"), choices=["fp32", "fp16", "int8"])
    parser.add_argument("--typing", default=s.get("typing", "strong"), choices=["strong", "legacy"],
                        help="strong: precision from the ONNX (TensorRT >= 10); legacy: builder flags (8.x)")
    parser.add_argument("--int8-route", default=None, choices=[CALIBRATOR, QDQ],
                        help="legacy INT8 only: calibrator (default; implicit, calibrated here) or qdq (explicit "
                             "Q/DQ from export, as trtexec.sh); see below")
    parser.add_argument("--workspace-mb", type=int, default=None,
                        help="builder workspace (default: the target's; a family target's share of this device's "
                             "memory)")
    parser.add_argument("--opt-level", type=int, default=s.get("opt_level", 3), help="builder optimisation level")
    parser.add_argument("--max-targets", type=int, default=s.get("max_batch", MAX_TARGETS),
                        help="targets per call of an engine built from a --dynamic-batch export")
    parser.add_argument("--dla-core", type=int, default=-1, help="run on this DLA core with GPU fallback (-1: GPU)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: this bundle's folder)")
    parser.add_argument("--force", action="store_true", help="build even if GPU or TensorRT differ from the target")
    return parser.parse_args(argv)


def choose_source(args: argparse.Namespace, settings: dict[str, Any]) -> tuple[str, str | None]:
    """(ONNX file name, INT8 route) for this build; BuildError where the two do not fit together."""
    route = args.int8_route or default_int8_route(args.typing, args.precision)
    if args.precision != "int8":
        return args.onnx or settings.get("onnx", "model.onnx"), None
    if args.typing == "strong":
        if route != QDQ:
            raise BuildError("strongly typed INT8 builds read the Q/DQ model; --int8-route calibrator is for "
                             "--typing legacy (TensorRT 8.x)")
        return args.onnx or settings.get("onnx", "model.onnx"), QDQ
    qdq = settings.get("qdq_onnx")
    if route == QDQ:
        if not args.onnx and not qdq:
            raise BuildError("this bundle has no Q/DQ model (model.int8.onnx) for --int8-route qdq; build with the "
                             "calibrator, or pass --onnx FILE")
        if args.onnx and args.onnx == settings.get("onnx") and args.onnx != qdq:  # no ranges in the fp32 file
            raise BuildError(f"{args.onnx} has no Q/DQ nodes: --int8-route qdq builds {qdq or 'a Q/DQ model'}")
        return args.onnx or qdq, QDQ
    onnx = args.onnx or settings.get("onnx", "model.onnx")
    if qdq and onnx == qdq:  # TensorRT 8 ignores a calibrator on a Q/DQ network: the record would be wrong
        raise BuildError(f"{onnx} is explicitly quantised (Q/DQ): build it with --int8-route qdq")
    return onnx, CALIBRATOR


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    here = Path(__file__).resolve().parent
    out = (args.out or here).resolve()
    try:
        onnx_name, route = choose_source(args, SETTINGS)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    onnx, calib = here / onnx_name, here / "calibration.npz"
    if not onnx.is_file():
        print(f"error: {onnx} is not in this bundle", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    try:
        import tensorrt as trt
    except ImportError:
        print("error: TensorRT's Python package is not installed here; on a Jetson it comes with JetPack "
              "(python3-libnvinfer), on a desktop: pip install tensorrt", file=sys.stderr)
        return 2
    cuda = CudaDriver()
    gpu, cc = cuda.gpu()
    problems = host_mismatches(trt.__version__, cc, SETTINGS)
    if problems and not args.force:
        print("error: " + "; ".join(problems) + ". Engines only run where they were built: run this on the target "
              "device, or pass --force to build for this host anyway.", file=sys.stderr)
        return 2
    calib_fp = SETTINGS.get("calibration_fingerprint") if args.precision == "int8" else None
    calibrates = args.typing == "legacy" and route == CALIBRATOR
    cache_name = (calibration_cache_name(sha256(onnx), sha256(calib), trt.__version__)
                  if calibrates and calib.is_file() else None)
    memory_mb, module = cuda.total_memory_mb(), module_name()
    workspace = args.workspace_mb or workspace_for(memory_mb, SETTINGS)
    options = {"onnx": onnx, "engine": out / ENGINE, "precision": args.precision, "typing": args.typing,
               "int8_route": route, "workspace_mb": workspace, "opt_level": args.opt_level, "dla_core": args.dla_core,
               "timing_cache": here / f"timing-trt{trt.__version__}-{cc}.cache",
               "calibration": calib if calib.is_file() else None, "calib_cache": here / (cache_name or "unused"),
               "max_batch": args.max_targets}
    how = f", INT8 route {route}" if route else ""
    print(f"building {onnx.name} -> {out / ENGINE} on {module or gpu} (compute capability {cc}), TensorRT "
          f"{trt.__version__}, workspace {workspace} MB{how}")
    try:
        io = build_engine(options)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    io_spec = json.loads((here / IO_SPEC).read_text())
    record = engine_record(trt_version=trt.__version__, gpu=gpu, compute_capability=cc,
                           target=SETTINGS.get("target", ""), precision=args.precision, typing=args.typing, onnx=onnx,
                           calibration_fingerprint=calib_fp, io=io, io_spec=io_spec, builder="build_engine.py",
                           dla_core=args.dla_core, calibration_cache=cache_name, forced=problems, module=module,
                           memory_mb=memory_mb, workspace_mb=workspace, int8_route=route,
                           max_batch=options["max_batch"])
    (out / ENGINE_JSON).write_text(json.dumps(record, indent=2) + "\n")
    if out != here:
        (out / IO_SPEC).write_text(json.dumps(io_spec, indent=2) + "\n")
    print(f"wrote {out / ENGINE} and {out / ENGINE_JSON}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
