"""Every `edgetrack` command line the README shows still parses, and the names in it still exist.

Each line is parsed by the CLI itself (unknown options, missing arguments and bad choices fail as they would
for a user) and the targets, presets, recipes, benchmarks and pipeline files it names are looked up. Running
them for real needs data and hardware the suite does not have; the stages' own tests run each command small.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from edgetrack.cli.app import app

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"


def readme_commands() -> list[list[str]]:
    """`edgetrack ...` lines of the README's shell blocks (continuations joined, `&&` chains split, comments
    dropped). The command reference block, which spells alternatives (list|info) and options ([--x]), is left out:
    its lines are syntax, not lines to run."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        lines = [line.split(" #", 1)[0].strip() for line in block.replace("\\\n", " ").splitlines()]
        found = [words for line in lines if line and not line.startswith("#")
                 for part in line.split("&&") if (words := _edgetrack_args(shlex.split(part))) is not None]
        if not any("|" in a or a.startswith("[") for words in found for a in words):
            commands += found
    return commands


def _edgetrack_args(words: list[str]) -> list[str] | None:
    if words and words[0].split("/")[-1] == "edgetrack":
        return words[1:]
    if words[:1] == ["torchrun"] and "edgetrack" in words:
        return words[words.index("edgetrack") + 1:]
    return None


def parse(args: list[str]) -> tuple[object, dict]:
    """The command a line runs and its parsed parameters, as the CLI parses them (nothing is executed)."""
    command = typer.main.get_command(app)
    ctx = command.make_context("edgetrack", list(args))
    while hasattr(command, "resolve_command"):  # a group: descend into the subcommand the line names
        rest = [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)
    return command, ctx.params


COMMANDS = readme_commands()


def test_the_readme_shows_the_commands_users_are_promised() -> None:
    lines = [" ".join(c) for c in COMMANDS]
    assert any(line.startswith("build ") and "--target jetson-orin " in line + " " for line in lines)
    assert any(line.startswith("pipeline run pipelines/quickstart.yaml") for line in lines)
    assert any(line.startswith("label ") for line in lines) and len(lines) >= 15


@pytest.mark.parametrize("args", COMMANDS, ids=lambda c: " ".join(c)[:60])
def test_readme_command_parses_and_names_what_exists(args: list[str]) -> None:
    from edgetrack.calibration.recipe import recipe_path
    from edgetrack.deploy.targets import get_target
    from edgetrack.eval.benchmarks import BENCHMARKS
    from edgetrack.models.presets import PRESETS as MODELS

    _, params = parse(args)
    if params.get("target"):
        get_target(params["target"])
    if params.get("teacher") and "/" not in params["teacher"]:
        MODELS.get(params["teacher"])
    if params.get("recipe"):
        recipe_path(params["recipe"])
    if params.get("benchmark"):
        BENCHMARKS.get(params["benchmark"])
    if args[:2] == ["pipeline", "run"]:
        assert (ROOT / args[2]).is_file(), args[2]
    for model in params.get("models") or []:
        if "/" not in model and not model.startswith("opencv:") and not Path(model).suffix:
            MODELS.get(model)


def test_a_broken_command_line_is_caught() -> None:
    with pytest.raises(Exception, match="No such option"):  # click's UsageError, as Typer ships it
        parse(["build", "runs/x", "--targte", "cpu"])
