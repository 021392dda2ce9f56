"""The shape DESIGN.md promises, checked on the source: import direction, thin views, one seam.

- ``core`` imports no feature package (names for the type checker only are allowed);
  ``adapters`` and ``filters`` import nothing else of the hub; ``accounts`` only core,
  adapters and filters; nobody imports ``workbench``.
- ``workbench`` holds no ``session.add`` / ``session.delete`` and no ``audit.record``: every
  change is an action of the package that owns the data.
- No platform is named outside ``adapters`` except by the demo modules, which seed its accounts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import servicehub

PACKAGE = Path(servicehub.__file__).parent
FEATURES = {"accounts", "listener", "routing", "publishing", "analytics", "workbench"}
ALLOWED = {
    "core": {"core", "filters"},  # core reads [filters] into FilterSettings (a stdlib-only module)
    "adapters": {"adapters"},
    "filters": {"filters"},
    "accounts": {"core", "adapters", "filters", "accounts"},
}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        found.append((parts[0] if len(parts) > 1 else "", path))
    return found


def _runtime_imports(path: Path) -> set[str]:
    """Hub packages imported at run time (``if TYPE_CHECKING:`` blocks excluded)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n.split(".")[1] for n in names if n.startswith("servicehub.") and n.count(".") >= 1}


def test_imports_point_inward() -> None:
    wrong = []
    for package, path in _modules():
        for imported in _runtime_imports(path):
            allowed = ALLOWED.get(package)
            if allowed is not None and imported not in allowed:
                wrong.append(f"{path.relative_to(PACKAGE)} imports servicehub.{imported}")
            if imported == "workbench" and package != "workbench" and package != "":
                wrong.append(f"{path.relative_to(PACKAGE)} imports the workbench")
    assert wrong == []


def test_views_change_nothing_themselves() -> None:
    writes = re.compile(r"\bsession\.(add|add_all|delete)\(|\baudit\.record(_many)?\(")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in sorted((PACKAGE / "workbench").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if writes.search(line)
    ]
    assert offenders == []


def test_no_platform_is_named_outside_the_adapters() -> None:
    named = re.compile(r"""["'](weibo|wechat)["']""")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for package, path in _modules()
        if package not in ("adapters",) and not path.name.startswith("demo")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if named.search(line)
    ]
    assert offenders == []
