"""Every test file under tests/ is collected by the README's `pytest -q` (and so by CI)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def test_no_test_folder_is_skipped_by_norecursedirs(pytestconfig: pytest.Config) -> None:
    patterns = pytestconfig.getini("norecursedirs")
    assert "build" not in patterns
    skipped = [str(path.relative_to(TESTS)) for path in TESTS.rglob("test_*.py")
               if any(fnmatch.fnmatch(part, pat) for part in path.relative_to(TESTS).parts[:-1] for pat in patterns)]
    assert skipped == []


def test_every_test_folder_is_a_package(pytestconfig: pytest.Config) -> None:
    # without __init__.py, two test files of the same name in different folders collide at import
    folders = {path.parent for path in TESTS.rglob("test_*.py")}
    assert [str(f.relative_to(TESTS)) for f in sorted(folders) if not (f / "__init__.py").is_file()] == []


def test_the_deploy_tests_are_in_this_session(request: pytest.FixtureRequest) -> None:
    """When the whole suite runs, the build folder's tests are among its items."""
    items = request.session.items
    if not any(Path(str(item.fspath)).parent == TESTS / "unit" / "data" for item in items):
        pytest.skip("only part of the suite was selected")
    assert any("tests/unit/deploy/" in Path(str(item.fspath)).as_posix() for item in items)
