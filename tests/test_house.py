"""The house rules, checked over the whole package, the benchmarks and the tests: short modules,
private names kept private, one lock per part (the package's). ARCHITECTURE.md says why; the
import contracts (layers, who may import what) are checked by import-linter in bin/test."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "anchoral_widget"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)
FRONT_END = sorted((ROOT / "js" / "src").rglob("*.js"))
BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))  # the scripts and the helpers beside them
TESTS = sorted((ROOT / "tests").rglob("*.py"))  # the tests, their helpers and child scripts
# what tests and benchmarks import by a bare name: conftest, sessions, _common and the like
HELPERS = frozenset(p.stem for p in TESTS + BENCHMARKS)
MAX_LINES = 400
LOCKS = ("Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "Barrier")


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_rules_see_every_module():
    names = {_name(p) for p in MODULES}
    assert "anchoral_widget/engine/loop/active.py" in names and "anchoral_widget/widget.py" in names
    assert len(MODULES) > 60
    assert any(_name(p) == "js/src/views/map.js" for p in FRONT_END)
    assert any(_name(p) == "benchmarks/upgrade.py" for p in BENCHMARKS)
    tests = {_name(p) for p in TESTS}
    assert {"tests/test_house.py", "tests/session/test_labeller.py", "tests/session/trainer_child.py"} <= tests


@pytest.mark.parametrize("path", MODULES + FRONT_END + BENCHMARKS + TESTS, ids=_name)
def test_no_module_passes_400_lines(path):
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines < MAX_LINES, f"{_name(path)} has {lines} lines: split it along its concepts"


def private_imports(tree: ast.Module, beside: frozenset[str] = frozenset()) -> list[str]:
    """Names with a leading underscore that a module imports from another module of the project
    (``from .x import _helper``, or from a module named in ``beside``: the helpers that tests and
    benchmarks import by their bare names); dunder names and aliases given by the importer are fine."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = node.module or ""
        if node.level > 0 or module.startswith("anchoral_widget") or module in beside:
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{'.' * node.level}{module}.{alias.name} (line {node.lineno})")
    return found


def test_the_private_import_check_finds_one():
    tree = ast.parse(
        "from .index import _as_matrix, unit_rows\nfrom . import encoders as _kinds\nfrom os import _exit\n"
    )
    assert private_imports(tree) == [".index._as_matrix (line 1)"]


def test_the_private_import_check_sees_the_helpers_beside_a_test():
    tree = ast.parse("from sessions import _gated, make\nfrom numpy import _core\n")
    assert private_imports(tree, beside=frozenset({"sessions"})) == ["sessions._gated (line 1)"]


@pytest.mark.parametrize("path", MODULES + BENCHMARKS + TESTS, ids=_name)
def test_no_private_name_is_imported_across_modules(path):
    assert private_imports(_tree(path), HELPERS) == [], f"{_name(path)} imports another module's private names"


def locks_made(cls: ast.ClassDef) -> list[str]:
    """The threading primitives a class's own code creates (``threading.Lock()`` and kin)."""
    return [
        call.func.attr
        for call in ast.walk(cls)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "threading"
        and call.func.attr in LOCKS
    ]


def test_the_lock_check_counts_them():
    tree = ast.parse(
        "class Two:\n    def __init__(self):\n        self.a = threading.Lock()\n        self.b = threading.Event()\n"
    )
    assert locks_made(tree.body[0]) == ["Lock", "Event"]


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_class_makes_more_than_one_lock(path):
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ClassDef):
            made = locks_made(node)
            assert len(made) <= 1, f"{_name(path)}: {node.name} makes {made}: one lock per part"
