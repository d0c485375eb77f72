"""The largest source files (by lines) and functions (by line span) under services/, gateway/ and
dashboard/ of a checkout, tests left out: the figures a refactoring's closing note compares.

    python scripts/largest.py [ROOT] [--most N]

ROOT defaults to this checkout; for an older commit, `git worktree add --detach DIR REV` first.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

FOLDERS = ("services", "gateway", "dashboard")


def _functions(tree: ast.AST, where: str) -> list[tuple[int, str]]:
    found = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((child.end_lineno - child.lineno + 1, f"{where}:{prefix}{child.name}"))
                walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")

    walk(tree, "")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("root", nargs="?", default=Path(__file__).resolve().parents[1], type=Path)
    parser.add_argument("--most", type=int, default=10)
    args = parser.parse_args()
    files, functions = [], []
    for folder in FOLDERS:
        for path in sorted((args.root / folder).rglob("*.py")):
            where = path.relative_to(args.root).as_posix()
            if "tests" in Path(where).parts:
                continue
            text = path.read_text()
            files.append((len(text.splitlines()), where))
            functions += _functions(ast.parse(text), where)
    print(f"{len(files)} files, {sum(n for n, _ in files)} lines\n\n| file | lines |\n|---|---|")
    for lines, where in sorted(files, reverse=True)[: args.most]:
        print(f"| `{where}` | {lines} |")
    print("\n| function | lines |\n|---|---|")
    for lines, where in sorted(functions, reverse=True)[: args.most]:
        print(f"| `{where}` | {lines} |")


if __name__ == "__main__":
    main()
