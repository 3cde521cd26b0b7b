"""Mutation testing: does the test suite catch a breakage of the modules whose faults once went unnoticed?

    python -m benchmarks.mutation [--list] [--only NAME [NAME ...]] [--no-record] [--timeout SECONDS]

Each mutation is a file, an exact source snippet, its replacement and the few tests that should catch it. The
working tree (tracked files and untracked ones git does not ignore) is copied once into a temporary folder under
/tmp, removed afterwards; each mutation is applied to that copy only, its tests run there
(`python -m pytest -q -x -p no:cacheprovider TESTS`, cwd and PYTHONPATH the copy), and the file restored.
The shared tree is never written. Results:

- killed: the tests failed (or could not even import the mutated module);
- survived: they passed, so that breakage would go unnoticed;
- error: the snippet is not in the file exactly once (the list went stale), the tests do not exist, or they
  fail without any mutation (the baseline run, first).

The table is printed and, for a full run, appended to benchmarks/RESULTS.md (killed as 1/0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.results_md import append_result, markdown_table

ROOT = Path(__file__).resolve().parents[1]
PYTEST = ("-m", "pytest", "-q", "-x", "-p", "no:cacheprovider")


@dataclass(frozen=True)
class Mutation:
    """Replace `find` (exactly one occurrence) by `replace` in `file`; `tests` (pytest node ids) should fail."""

    name: str
    module: str
    file: str
    find: str
    replace: str
    tests: tuple[str, ...]


T_IDENTITY = "tests/unit/eval/test_identity.py::"
T_RESUME = "tests/unit/compress/test_resume_keying.py::"
T_LOCKS = "tests/unit/test_locks.py::"
T_PARITY = "tests/unit/export/test_parity_gates.py::"
T_CROPS = "tests/unit/data/test_crops.py"
T_DECODE = "tests/unit/runtime/test_decode.py"
T_LOSSES = "tests/unit/compress/test_losses.py"
T_STUDENT = "tests/unit/compress/test_student_init.py"
T_OPENCV = "tests/unit/eval/test_opencv_trackers.py::"
T_TRT = "tests/unit/runtime/backends/test_tensorrt_fake_driver.py::"
T_MULTI = "tests/unit/runtime/test_multi_target.py"
T_COMPAT = "tests/unit/test_cv2_compat.py"
T_SPEC = "tests/unit/runtime/test_processing_spec.py"

MUTATIONS: tuple[Mutation, ...] = (
    # --- results identity (edgetrack/eval/identity.py)
    Mutation("identity-drops-model-onnx", "identity", "edgetrack/eval/identity.py",
             '"config.json", "model.onnx", "model.fp32.onnx"', '"config.json", "model.fp32.onnx"',
             (T_IDENTITY + "test_an_export_folder_is_keyed_by_its_onnx_graph",
              T_IDENTITY + "test_each_deciding_file_is_part_of_the_identity")),
    Mutation("identity-drops-device", "identity", "edgetrack/eval/identity.py",
             '"files": _files([path / n for n in ARTIFACT_FILES], path), "device": device}',
             '"files": _files([path / n for n in ARTIFACT_FILES], path)}',
             (T_IDENTITY + "test_the_device_is_part_of_the_identity",)),
    Mutation("identity-keeps-stale-results", "identity", "edgetrack/eval/identity.py",
             'stale = [] if old == identity else sorted(p for p in results_dir.glob("*.txt"))', "stale = []",
             (T_IDENTITY + "test_results_without_a_record_are_discarded",
              T_IDENTITY + "test_an_export_folder_is_keyed_by_its_onnx_graph")),
    Mutation("sequence-key-ignores-first-box", "identity", "edgetrack/eval/identity.py",
             "digest.update(np.asarray(seq.init_box, dtype=np.float64).tobytes())", "pass",
             (T_IDENTITY + "test_an_edited_first_box_is_tracked_again_a_later_box_is_not",)),
    # --- resume key (edgetrack/compress/run.py, edgetrack/train/checkpoint.py)
    Mutation("runkey-drops-teacher-hash", "run key", "edgetrack/compress/run.py",
             "run=run_key(cfg.to_dict(), teacher_sha256=teacher_sha, world_size=dist.world_size,",
             "run=run_key(cfg.to_dict(), world_size=dist.world_size,",
             (T_RESUME + "test_a_retrained_teacher_in_the_same_folder_is_not_resumed",)),
    Mutation("runkey-drops-the-config", "run key", "edgetrack/train/checkpoint.py",
             "return {**flat, **extra}", "return dict(extra)",
             (T_RESUME + "test_run_key_and_differences",)),
    # --- locks (edgetrack/locks.py and the stages that take them)
    Mutation("lock-none-in-compress", "locks", "edgetrack/compress/run.py",
             "with folder_lock(out, enabled=dist.is_main):", "with folder_lock(out, enabled=False):",
             (T_LOCKS + "test_compress_is_refused_while_another_process_holds_its_out",)),
    Mutation("lock-none-in-eval", "locks", "edgetrack/eval/run.py",
             "with folder_lock(results_dir, notice=notice):",
             "with folder_lock(results_dir, enabled=False, notice=notice):",
             (T_LOCKS + "test_eval_is_refused_while_another_process_holds_its_results",)),
    Mutation("lock-takeover-without-recheck", "locks", "edgetrack/locks.py",
             "if _read(path) != stale:", "if False:",
             (T_LOCKS + "test_two_takers_of_one_stale_lock_never_both_hold_it",)),
    Mutation("lock-live-holder-counts-as-stale", "locks", "edgetrack/locks.py",
             'return info.get("host") == socket.gethostname() and not pid_alive(info["pid"])',
             'return info.get("host") == socket.gethostname()',
             (T_LOCKS + "test_a_second_process_is_refused_naming_the_first",)),
    Mutation("lock-not-reentrant", "locks", "edgetrack/locks.py",
             "    if path in _held:\n        _held[path] += 1\n        return path\n", "",
             (T_LOCKS + "test_locks_are_reentrant_within_a_process_and_released",)),
    # --- export parity gates (edgetrack/export/run.py, edgetrack/export/mixformerv2.py)
    Mutation("parity-split-gate-off", "parity gates", "edgetrack/export/run.py",
             "if max(parity.values()) > tolerance:", "if False:",
             (T_PARITY + "test_the_split_export_of_mixformerv2_refuses_a_graph_that_differs",)),
    Mutation("parity-one-graph-gate-off", "parity gates", "edgetrack/export/run.py",
             "if worst > tolerance:", "if False:",
             (T_PARITY + "test_the_one_graph_export_refuses_a_graph_that_differs",)),
    Mutation("split-parity-measures-nothing", "parity gates", "edgetrack/export/mixformerv2.py",
             "return {k: float(np.abs(got[k] - v.numpy()).max()) for k, v in expected.items()}",
             "return {k: 0.0 for k in expected}",
             (T_PARITY + "test_the_split_export_of_mixformerv2_refuses_a_graph_that_differs",)),
    # --- crops (edgetrack/data/crops.py)
    Mutation("crop-side-floored", "crops", "edgetrack/data/crops.py",
             "side = math.ceil(math.sqrt(w * h) * factor)", "side = math.floor(math.sqrt(w * h) * factor)",
             (T_CROPS,)),
    Mutation("crop-origin-truncated", "crops", "edgetrack/data/crops.py",
             "x1=int(round(cx - 0.5 * side))", "x1=int(cx - 0.5 * side)", (T_CROPS,)),
    Mutation("crop-without-half-pixel-centres", "crops", "edgetrack/data/crops.py",
             "src = (np.arange(out, dtype=np.float64) + 0.5) * (side / out) - 0.5",
             "src = np.arange(out, dtype=np.float64) * (side / out)", (T_CROPS,)),
    Mutation("map-back-from-the-integer-origin", "crops", "edgetrack/data/crops.py",
             "cx = b[0] * scale + (crop.cx - half_side)", "cx = b[0] * scale + crop.x1", (T_CROPS,)),
    # --- decode (edgetrack/runtime/decode.py)
    Mutation("hann-over-n-not-n-plus-1", "decode", "edgetrack/runtime/decode.py",
             "np.pi * k / (n + 1)", "np.pi * k / n", (T_DECODE,)),
    Mutation("decode-reports-windowed-score", "decode", "edgetrack/runtime/decode.py",
             "return box, float(score[iy, ix]), (int(iy), int(ix))",
             "return box, float(response[iy, ix]), (int(iy), int(ix))", (T_DECODE,)),
    Mutation("decode-width-and-height-swapped", "decode", "edgetrack/runtime/decode.py",
             "(ix + float(offset[0, iy, ix])) / width, (iy + float(offset[1, iy, ix])) / height",
             "(ix + float(offset[0, iy, ix])) / height, (iy + float(offset[1, iy, ix])) / width", (T_DECODE,)),
    Mutation("min-score-compares-the-raw-peak", "decode", "edgetrack/runtime/decode.py",
             "return float(score) if window is None else float(score) * float(window[cell])",
             "return float(score)",
             ("tests/unit/runtime/test_tracker.py::test_min_score_holds_the_box_when_the_windowed_peak_is_below_it",)),
    # --- losses (edgetrack/compress/losses.py)
    Mutation("focal-ignores-soft-negatives", "losses", "edgetrack/compress/losses.py",
             "neg_weight = (1 - target).pow(beta) * (1 - pos)", "neg_weight = 1 - pos", (T_LOSSES,)),
    Mutation("focal-not-divided-by-peaks", "losses", "edgetrack/compress/losses.py",
             "return -(pos_loss + neg_loss) / num_pos.clamp(min=1.0)", "return -(pos_loss + neg_loss)",
             (T_LOSSES,)),
    Mutation("giou-is-plain-iou", "losses", "edgetrack/compress/losses.py",
             "return iou - (hull - union) / hull.clamp(min=1e-7), iou", "return iou, iou", (T_LOSSES,)),
    # --- student initialisation (edgetrack/compress/student.py)
    Mutation("student-fc1-bias-misaligned", "student init", "edgetrack/compress/student.py",
             '"fc1.bias": teacher.fc1.bias[idx]', '"fc1.bias": teacher.fc1.bias[: len(idx)]', (T_STUDENT,)),
    Mutation("student-block-norms-not-copied", "student init", "edgetrack/compress/student.py",
             'for name in ("norm1", "norm2"):', "for name in ():", (T_STUDENT,)),
    Mutation("student-final-norm-not-copied", "student init", "edgetrack/compress/student.py",
             'for name in ("patch_embed", "norm"):', 'for name in ("patch_embed",):', (T_STUDENT,)),
    Mutation("student-units-out-of-order", "student init", "edgetrack/compress/student.py",
             "return score.topk(hidden).indices.sort().values", "return score.topk(hidden).indices", (T_STUDENT,)),
    # --- OpenCV baselines (edgetrack/eval/opencv_trackers.py)
    Mutation("opencv-fed-rgb", "opencv", "edgetrack/eval/opencv_trackers.py",
             "return np.ascontiguousarray(rgb[:, :, ::-1])", "return np.ascontiguousarray(rgb)",
             (T_OPENCV + "test_opencv_gets_bgr_frames_and_an_integer_box_and_failures_keep_the_box",
              T_OPENCV + "test_classical_trackers_give_opencvs_own_boxes")),
    Mutation("opencv-timings-swapped", "opencv", "edgetrack/eval/opencv_trackers.py",
             '{"pre": (t1 - t0) * 1e3, "infer": (t2 - t1) * 1e3, "post": 0.0}',
             '{"pre": (t2 - t1) * 1e3, "infer": (t1 - t0) * 1e3, "post": 0.0}',
             (T_OPENCV + "test_timings_split_the_frame_conversion_from_opencvs_update",)),
    # --- frame strips (edgetrack/eval/strip.py): the test that once moved boxes by zero
    Mutation("strip-draws-trackers-at-the-ground-truth", "strip", "edgetrack/eval/strip.py",
             "_rect(tile, b[i], colour, scale, 2)", "_rect(tile, seq.boxes[i], colour, scale, 2)",
             ("tests/unit/eval/test_strip.py::test_strip_draws_each_tracker_in_its_colour_where_its_box_is",)),
    # --- TensorRT backend (edgetrack/runtime/backends/tensorrt_backend.py), on a fake driver
    Mutation("trt-infer-off-device", "tensorrt", "edgetrack/runtime/backends/tensorrt_backend.py",
             "    @on_device\n    def infer(self", "    def infer(self",
             (T_TRT + "test_every_device_call_first_makes_the_context_current_on_its_thread",)),
    Mutation("trt-cuda-graph-never-destroyed", "tensorrt", "edgetrack/runtime/backends/tensorrt_backend.py",
             "            self._graph.destroy()\n", "            pass\n",
             (T_TRT + "test_a_cuda_graph_is_captured_once_replayed_and_destroyed_with_the_backend",)),
    Mutation("many-targets-decode-the-first-row", "multi-target", "edgetrack/runtime/multi_target.py",
             "{k: v[row:row + 1] for k, v in out.items()}", "{k: v[0:1] for k, v in out.items()}", (T_MULTI,)),
    Mutation("many-targets-keep-the-single-template", "multi-target", "edgetrack/runtime/tracker.py",
             "            self.backend.set_template(self._template)\n", "            pass\n", (T_MULTI,)),
    Mutation("many-targets-one-call-each", "multi-target", "edgetrack/runtime/multi_target.py",
             "size = self.backend.max_batch or len(ids)", "size = 1", (T_MULTI,)),
    Mutation("compat-feeds-bgr", "cv2 compat", "edgetrack/cv2_compat.py",
             "np.ascontiguousarray(frame[:, :, 2::-1])", "np.ascontiguousarray(frame[:, :, :3])", (T_COMPAT,)),
    Mutation("compat-ok-ignores-the-held-box", "cv2 compat", "edgetrack/cv2_compat.py",
             'held = bool(getattr(self.tracker, "held", False))', "held = False", (T_COMPAT,)),
    Mutation("spec-reader-drops-a-field", "processing spec", "edgetrack/runtime/spec.py",
             "for name in ProcessingSpec.model_fields if hasattr(source, name)}",
             'for name in ProcessingSpec.model_fields if hasattr(source, name) and name != "integer_boxes"}',
             (T_SPEC,)),
)


class StaleMutation(Exception):
    """The snippet of a mutation is not in its file exactly once."""


def working_files(root: Path) -> list[str]:
    """The working tree's files: tracked ones that exist, and untracked ones git does not ignore."""
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, text=True, check=True).stdout
    return sorted({n for n in out.split("\0") if n and (root / n).is_file()})


def copy_tree(root: Path, dest: Path) -> None:
    """Copy the working tree into `dest`; `../shared` (the model files some tests use) is linked beside it."""
    for name in working_files(root):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    shared = root.parent / "shared"
    if shared.is_dir():
        (dest.parent / "shared").symlink_to(shared)


def mutated(text: str, m: Mutation) -> str:
    count = text.count(m.find)
    if count != 1:
        raise StaleMutation(f"{m.file}: snippet found {count} times, not once: {m.find!r}")
    return text.replace(m.find, m.replace)


def run_tests(copy: Path, tests: Sequence[str], timeout: float) -> tuple[int, str]:
    """pytest's exit code (124 on timeout) and output tail for `tests`, run inside `copy` on its own code."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}  # no stale .pyc of a mutant
    try:
        done = subprocess.run([sys.executable, *PYTEST, *tests], cwd=copy, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "timed out"
    return done.returncode, (done.stdout + done.stderr)[-3000:]


def verdict(code: int) -> str:
    """killed / survived / error from pytest's exit code (2: interrupted, e.g. the mutant does not import)."""
    if code == 0:
        return "survived"
    if code in (1, 2, 124):
        return "killed"
    return "error"  # 3 internal error, 4 usage (a test that does not exist), 5 nothing collected


def try_mutation(copy: Path, m: Mutation, timeout: float) -> tuple[str, float, str]:
    """Apply `m` to the copy, run its tests, restore the file; (result, seconds, output tail)."""
    path = (copy / m.file).resolve()
    if not path.is_relative_to(copy.resolve()):  # the shared tree is never written
        raise ValueError(f"{m.file} is outside the copy")
    original = path.read_text()
    try:
        path.write_text(mutated(original, m))
    except (StaleMutation, OSError) as err:
        return "error", 0.0, str(err)
    start = time.perf_counter()
    try:
        code, tail = run_tests(copy, m.tests, timeout)
    finally:
        path.write_text(original)
    return verdict(code), time.perf_counter() - start, tail


def baseline(copy: Path, mutations: Sequence[Mutation], timeout: float) -> tuple[bool, str]:
    """Whether every selected test passes on the unmutated copy (else no kill would mean anything)."""
    tests = sorted({t for m in mutations for t in m.tests})
    whole = {t for t in tests if "::" not in t}
    tests = [t for t in tests if t in whole or t.split("::")[0] not in whole]
    code, tail = run_tests(copy, tests, timeout * 3)
    return code == 0, tail


def select(names: Sequence[str] | None) -> list[Mutation]:
    if not names:
        return list(MUTATIONS)
    known = {m.name: m for m in MUTATIONS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown mutation(s) {', '.join(unknown)}; see --list")
    return [known[n] for n in names]


def list_mutations(root: Path) -> None:
    """Print every mutation with its module, whether its snippet is (still) in the file, and its tests."""
    rows = []
    for m in MUTATIONS:
        try:
            mutated((root / m.file).read_text(), m)
            state = "ok"
        except (StaleMutation, OSError):
            state = "stale"
        rows.append([m.name, m.module, m.file, state, " ".join(t.split("::")[-1] for t in m.tests)])
    print(markdown_table(["mutation", "module", "file", "snippet", "tests"], rows))


def run_all(mutations: Sequence[Mutation], timeout: float, check_baseline: bool) -> list[tuple[Mutation, str, float]]:
    """Copy the tree to /tmp, check the baseline, try each mutation; the copy is removed afterwards."""
    results = []
    with tempfile.TemporaryDirectory(prefix="edgetrack-mutation-", dir="/tmp") as tmp:
        copy = Path(tmp) / "main"
        copy_tree(ROOT, copy)
        if check_baseline:
            ok, tail = baseline(copy, mutations, timeout)
            if not ok:
                raise SystemExit(f"the selected tests fail without any mutation; fix them first:\n{tail}")
        for m in mutations:
            result, seconds, tail = try_mutation(copy, m, timeout)
            print(f"{result:9s} {seconds:6.1f} s  {m.name}", flush=True)
            if result != "killed":
                print("    " + "\n    ".join(tail.strip().splitlines()[-8:]), flush=True)
            results.append((m, result, seconds))
    return results


def record(results: Sequence[tuple[Mutation, str, float]]) -> None:
    """Append the table to RESULTS.md: killed as 1/0; errors are listed in the notes, not scored."""
    rows = [[m.name, m.module, int(r == "killed"), s] for m, r, s in results if r != "error"]
    killed = sum(r == "killed" for _, r, _ in results)
    survived = [m.name for m, r, _ in results if r == "survived"]
    errors = [m.name for m, r, _ in results if r == "error"]
    modules = len({m.module for m, _, _ in results})
    notes = (f"Each mutation applied alone to a copy of the working tree in /tmp; its tests run with "
             f"`python -m pytest -q -x -p no:cacheprovider`; killed = the tests failed. {killed} of {len(results)} "
             f"killed; survived: {', '.join(survived) or 'none'}; stale (not run): {', '.join(errors) or 'none'}. "
             "Seconds include pytest's start-up (about 3 s of imports).")
    header = ["variant", "module", "killed", "seconds"]
    append_result(f"Mutation testing: {len(results)} mutations of {modules} modules", header, rows, notes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="list the mutations (and whether each still applies)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutations (not recorded)")
    parser.add_argument("--no-record", action="store_true", help="do not append the table to benchmarks/RESULTS.md")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run of the selected tests")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutation's tests [300]")
    args = parser.parse_args(argv)
    if args.list:
        list_mutations(ROOT)
        return 0
    results = run_all(select(args.only), args.timeout, not args.no_baseline)
    print()
    rows = [[m.name, m.module, r, s] for m, r, s in results]
    print(markdown_table(["mutation", "module", "result", "seconds"], rows))
    if not args.only and not args.no_record:
        record(results)
    return 0 if all(r == "killed" for _, r, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
