"""`edgetrack compress`, `edgetrack train`, `edgetrack finetune`."""

from __future__ import annotations

from pathlib import Path

import typer

from edgetrack.cli.options import CONFIG_OPTION, SET_OPTION, resolve
from edgetrack.compress.config import CompressConfig, TrainStageConfig
from edgetrack.console import out
from edgetrack.models.presets import check_model_name

DATA_HELP = ("Comma-separated training datasets: lasot, got10k, coco, trackingnet, synthetic-train, or "
             "unlabeled:DIR (your clips, DIR/NAME/img/*.jpg + DIR/NAME/init.txt, pseudo-labelled by --labeler). "
             "Default: the built-in synthetic sequences.")
WEIGHTS_HELP = "Relative share of training pairs from each --data source, in order (e.g. 1,3). [equal shares]"
LABELER_HELP = ("Tracker that pseudo-labels unlabeled:DIR clips: a model folder, an export, a preset, "
                "opencv:csrt or opencv:nanotrack=B.onnx,H.onnx. [the teacher / the starting model]")


def _datasets(data: str | None) -> list[str] | None:
    return [d.strip() for d in data.split(",") if d.strip()] if data else None


def _weights(text: str | None) -> list[float] | None:
    """`1,3` -> [1.0, 3.0]; a clear error for anything else."""
    if not text:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"--data-weights takes numbers separated by commas (e.g. 1,3), got {text!r}") from None
    if not values or any(v < 0 for v in values) or sum(values) <= 0:
        raise typer.BadParameter(f"--data-weights must be non-negative with a positive sum, got {text!r}")
    return values


def _data_overrides(data: str | None, data_root: Path | None, data_weights: str | None,
                    labeler: str | None) -> dict[str, object]:
    return {"data.datasets": _datasets(data), "data.data_root": str(data_root) if data_root else None,
            "data.weights": _weights(data_weights), "data.labeler": labeler}


def compress(
    teacher: str = typer.Option(None, help="Teacher preset (ostrack256, tiny, ...) or model folder. [ostrack256]"),
    teacher_weights: Path = typer.Option(None, help="Teacher checkpoint (OSTrack .pth.tar, edgetrack folder)."),
    random_teacher: bool = typer.Option(None, "--random-teacher", help="Allow a teacher with random weights."),
    layers: int = typer.Option(None, help="Student blocks (one per stage). [4]"),
    block: str = typer.Option(None, help="Student block kind: copy (the teacher's), narrow-mlp, separable. [copy]"),
    mlp_ratio: float = typer.Option(None, help="Student MLP width / dim (narrow-mlp, separable). [the teacher's]"),
    method: str = typer.Option(None, help="replacement (CompressTracker), distill, or naive. [replacement]"),
    data: str = typer.Option(None, help=DATA_HELP),
    data_root: Path = typer.Option(None, help="Folder holding the datasets in their standard layouts."),
    data_weights: str = typer.Option(None, help=WEIGHTS_HELP),
    labeler: str = typer.Option(None, help=LABELER_HELP),
    epochs: float = typer.Option(None, help="Epochs. [500]"),
    pairs_per_epoch: int = typer.Option(None, help="Training pairs per epoch. [60000]"),
    batch_size: int = typer.Option(None, help="Batch size per process. [32]"),
    workers: int = typer.Option(None, help="Data loader workers per process. [4]"),
    device: str = typer.Option(None, help="auto, cpu, cuda, cuda:1 ... [auto]"),
    seed: int = typer.Option(None, help="Seed for data, routes and initialisation. [0]"),
    out_dir: Path = typer.Option(Path("runs/compress"), "--out", help="Run folder; the student lands in OUT/student."),
    resume: bool = typer.Option(True, help="Continue from OUT/checkpoint.pt when it holds a run of the same settings."),
    fresh: bool = typer.Option(False, "--fresh", help="Start over, replacing OUT/checkpoint.pt (of any settings)."),
    config: Path = CONFIG_OPTION,
    sets: list[str] = SET_OPTION,
) -> None:
    """Compress a teacher into a small student by replacement training (CompressTracker).

    Multi-GPU: torchrun --nproc_per_node 8 -m edgetrack compress ... (one process per GPU, DDP).
    """
    from edgetrack.compress.run import run_compress

    cfg = resolve(CompressConfig, config, sets, {
        "teacher": teacher, "teacher_weights": str(teacher_weights) if teacher_weights else None,
        "random_teacher": random_teacher, "layers": layers, "block": block, "mlp_ratio": mlp_ratio,
        "method": method,
        **_data_overrides(data, data_root, data_weights, labeler),
        "train.epochs": epochs, "train.pairs_per_epoch": pairs_per_epoch, "train.batch_size": batch_size,
        "train.workers": workers, "train.device": device, "train.seed": seed,
    })
    check_model_name(cfg.teacher, "--teacher")
    student = run_compress(cfg, out_dir, resume=resume, fresh=fresh)
    out.print(f"[green]student written to[/green] {student}")


def train(
    model: str = typer.Option(None, help="Model preset or folder to train. [tiny]"),
    weights: Path = typer.Option(None, help="Initial weights (MAE pretraining, OSTrack, edgetrack folder)."),
    data: str = typer.Option(None, help=DATA_HELP),
    data_root: Path = typer.Option(None, help="Folder holding the datasets in their standard layouts."),
    data_weights: str = typer.Option(None, help=WEIGHTS_HELP),
    labeler: str = typer.Option(None, help=LABELER_HELP),
    epochs: float = typer.Option(None, help="Epochs. [300]"),
    pairs_per_epoch: int = typer.Option(None, help="Training pairs per epoch. [60000]"),
    batch_size: int = typer.Option(None, help="Batch size per process. [32]"),
    lr: float = typer.Option(None, help="Learning rate (backbone x backbone_lr_scale). [4e-4]"),
    workers: int = typer.Option(None, help="Data loader workers per process. [4]"),
    device: str = typer.Option(None, help="auto, cpu, cuda ... [auto]"),
    seed: int = typer.Option(None, help="Seed. [0]"),
    out_dir: Path = typer.Option(Path("runs/train"), "--out", help="Run folder; the model lands in OUT/model."),
    resume: bool = typer.Option(True, help="Continue from OUT/checkpoint.pt when it holds a run of the same settings."),
    fresh: bool = typer.Option(False, "--fresh", help="Start over, replacing OUT/checkpoint.pt (of any settings)."),
    config: Path = CONFIG_OPTION,
    sets: list[str] = SET_OPTION,
) -> None:
    """Train a tracker on ground truth only (from MAE weights, a checkpoint, or scratch)."""
    from edgetrack.train.run import run_train

    cfg = resolve(TrainStageConfig, config, sets, {
        "model": model, "weights": str(weights) if weights else None,
        **_data_overrides(data, data_root, data_weights, labeler), "train.epochs": epochs,
        "train.pairs_per_epoch": pairs_per_epoch, "train.batch_size": batch_size, "train.optim.lr": lr,
        "train.workers": workers, "train.device": device, "train.seed": seed,
    })
    check_model_name(cfg.model, "--model")
    folder = run_train(cfg, out_dir, resume=resume, stage="train", fresh=fresh)
    out.print(f"[green]model written to[/green] {folder}")


def finetune(
    model: str = typer.Argument(..., help="Model folder to fine-tune (e.g. a compressed student)."),
    data: str = typer.Option(None, help=DATA_HELP),
    data_root: Path = typer.Option(None, help="Folder holding the datasets in their standard layouts."),
    data_weights: str = typer.Option(None, help=WEIGHTS_HELP),
    labeler: str = typer.Option(None, help=LABELER_HELP),
    epochs: float = typer.Option(None, help="Epochs. [300]"),
    pairs_per_epoch: int = typer.Option(None, help="Training pairs per epoch. [60000]"),
    batch_size: int = typer.Option(None, help="Batch size per process. [32]"),
    lr: float = typer.Option(None, help="Learning rate. [4e-5]"),
    workers: int = typer.Option(None, help="Data loader workers per process. [4]"),
    device: str = typer.Option(None, help="auto, cpu, cuda ... [auto]"),
    out_dir: Path = typer.Option(Path("runs/finetune"), "--out", help="Run folder; the model lands in OUT/model."),
    resume: bool = typer.Option(True, help="Continue from OUT/checkpoint.pt when it holds a run of the same settings."),
    fresh: bool = typer.Option(False, "--fresh", help="Start over, replacing OUT/checkpoint.pt (of any settings)."),
    config: Path = CONFIG_OPTION,
    sets: list[str] = SET_OPTION,
) -> None:
    """Fine-tune a model folder on ground truth only (optional after compress)."""
    from edgetrack.train.run import run_train

    cfg = resolve(TrainStageConfig, config, sets, {
        "model": model, **_data_overrides(data, data_root, data_weights, labeler),
        "train.epochs": epochs, "train.pairs_per_epoch": pairs_per_epoch, "train.batch_size": batch_size,
        "train.optim.lr": lr if lr is not None else 4e-5, "train.optim.backbone_lr_scale": 1.0,
        "train.workers": workers, "train.device": device,
    })
    check_model_name(cfg.model, "MODEL")
    folder = run_train(cfg, out_dir, resume=resume, stage="finetune", fresh=fresh)
    out.print(f"[green]model written to[/green] {folder}")
