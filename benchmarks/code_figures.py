"""Figures about ganbench's own code, for the architecture notes: modules per folder, the share
of functions with full type annotations, function and class lengths. `python
benchmarks/code_figures.py [ROOT]` prints them (ROOT defaults to this checkout's ganbench/)."""

import ast
import statistics
import sys
from collections import Counter
from pathlib import Path


def functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def annotated(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Every parameter but self/cls annotated, and the return type given."""
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]
    params = [p for p in params if p.arg not in ("self", "cls")]
    return fn.returns is not None and all(p.annotation is not None for p in params)


def length(node: ast.AST) -> int:
    return node.end_lineno - node.lineno + 1  # type: ignore[attr-defined, no-any-return]


def main(root: Path) -> None:
    files = sorted(p for p in root.rglob("*.py") if "migrations" not in p.parts)
    folders = Counter(str(p.parent.relative_to(root.parent)) for p in files)
    fns, classes = [], []
    for path in files:
        tree = ast.parse(path.read_text())
        fns += [
            (length(f), f"{path.relative_to(root.parent)}:{f.name}", annotated(f))
            for f in functions(tree)
        ]
        classes += [
            (length(c), f"{path.relative_to(root.parent)}:{c.name}")
            for c in ast.walk(tree)
            if isinstance(c, ast.ClassDef)
        ]
    print("modules per folder:", ", ".join(f"{k} {v}" for k, v in sorted(folders.items())))
    done = sum(1 for _, _, a in fns if a)
    print(f"functions: {len(fns)}, fully annotated {done} ({100 * done / len(fns):.1f}%)")
    print(f"function length: median {statistics.median(n for n, _, _ in fns)} lines")
    print(
        "longest functions:",
        "; ".join(f"{name} {n}" for n, name, _ in sorted(fns, reverse=True)[:5]),
    )
    print(
        "longest classes:",
        "; ".join(f"{name} {n}" for n, name in sorted(classes, reverse=True)[:5]),
    )


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "ganbench"
    )
