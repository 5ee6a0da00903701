"""Imports flow one way: bot/* -> moosic_core, never back; the core knows no chat library."""

from __future__ import annotations

import ast
from pathlib import Path

from moosic_core import PROJECT_ROOT

FORBIDDEN_IN_CORE = ("telegram", "discord", "bot")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_never_imports_chat_platforms() -> None:
    offenders = []
    for path in (PROJECT_ROOT / "moosic_core").rglob("*.py"):
        for name in _imports(path):
            if name.split(".")[0] in FORBIDDEN_IN_CORE:
                offenders.append(f"{path.relative_to(PROJECT_ROOT)} imports {name}")
    assert not offenders, offenders
