"""The `edgetrack` command: one Typer app, one small module per command group."""

from __future__ import annotations

import errno
import sys

import typer
from rich.markup import escape

from edgetrack.cli import bench as bench_cmd
from edgetrack.cli import build as build_cmd
from edgetrack.cli import calibrate as calibrate_cmd
from edgetrack.cli import env as env_cmd
from edgetrack.cli import eval as eval_cmd
from edgetrack.cli import export as export_cmd
from edgetrack.cli import label as label_cmd
from edgetrack.cli import models as models_cmd
from edgetrack.cli import pipeline as pipeline_cmd
from edgetrack.cli import targets as targets_cmd
from edgetrack.cli import track as track_cmd
from edgetrack.cli import train as train_cmd
from edgetrack.console import err
from edgetrack.errors import EdgetrackError

app = typer.Typer(
    name="edgetrack",
    help="Compress transformer trackers by replacement training, export them, and run them on the edge.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors.")) -> None:
    """edgetrack: compress -> finetune -> export -> build -> track."""


app.command("env", help="Print versions of Python, torch, CUDA/GPU, ONNX, ONNX Runtime, TensorRT and friends.")(
    env_cmd.env
)
app.add_typer(models_cmd.app, name="models", help="List model presets and describe a model.")
app.command("compress")(train_cmd.compress)
app.command("train")(train_cmd.train)
app.command("finetune")(train_cmd.finetune)
app.command("eval")(eval_cmd.eval_cmd)
app.command("export")(export_cmd.export)
app.command("calibrate")(calibrate_cmd.calibrate)
app.command("label")(label_cmd.label)
app.add_typer(pipeline_cmd.app, name="pipeline", help="Run a YAML pipeline of stages, resumable, with a report.")
app.command("track")(track_cmd.track)
app.command("bench")(bench_cmd.bench)
app.command("build")(build_cmd.build)
app.add_typer(targets_cmd.app, name="targets", help="List and show deployment target profiles.")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; EdgetrackError becomes one red line and code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="edgetrack")
    except SystemExit as exc:  # standalone mode always ends this way, usage errors included
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (EdgetrackError, OSError) as exc:
        if "--debug" in args:
            raise
        message = str(exc) if isinstance(exc, EdgetrackError) else os_error_message(exc)
        err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True, markup=True)
        return 2
    return 0


#: what to do about the file-system faults every command can meet
_OS_ADVICE = {errno.EACCES: "check its permissions, or choose another --out",
              errno.EPERM: "check its permissions, or choose another --out",
              errno.EROFS: "the file system is read-only: choose another --out",
              errno.ENOSPC: "the disk is full: free space or choose another --out; a re-run resumes",
              errno.EFBIG: "a file-size limit was reached (ulimit -f): raise it or choose another --out",
              errno.EDQUOT: "the disk quota is exhausted: free space or choose another --out"}


def os_error_message(exc: OSError) -> str:
    """One line for a file-system fault: the file, the system's reason, and what to do."""
    where = exc.filename if exc.filename is not None else "writing a file"
    reason = exc.strerror or str(exc)
    advice = _OS_ADVICE.get(exc.errno or 0, "check the path and retry")
    return f"{where}: {reason} ({advice}; run with --debug for the trace)"



def main() -> None:
    sys.exit(run())
