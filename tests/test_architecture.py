"""The layers of ganbench/ that its folders show: each imports only from layers below it
(or its own), and no modules import each other in a circle, counting the imports inside
functions that keep start-up free of torch."""

import ast
from pathlib import Path

import ganbench

ROOT = Path(ganbench.__file__).parent
# lowest first; the package itself and its entry module sit outside the order
LAYERS = [
    "foundation",
    "api",
    "plugins",
    "config",
    "store",
    "engine",
    "executors",
    "results",
    "cli",
]
FOUNDATION = {"ganbench.errors", "ganbench.environment", "ganbench.stopping"}


def module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module):
    if module in FOUNDATION:
        return "foundation"
    if module == "ganbench.cli":
        return "cli"
    return module.split(".")[1] if module.count(".") >= 1 else None


def imports(path):
    """The ganbench modules a file imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ganbench"):
            found.add(node.module)
            found |= {
                f"{node.module}.{a.name}"
                for a in node.names
                if (ROOT.parent / f"{node.module}.{a.name}".replace(".", "/"))
                .with_suffix(".py")
                .exists()
            }
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ganbench")}
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(
                f"{path}: relative import; ganbench imports its own modules absolutely"
            )
    return found


def graph():
    modules = {module_name(p): p for p in ROOT.rglob("*.py") if "migrations" not in p.parts}
    return {name: {m for m in imports(path) if m in modules} for name, path in modules.items()}


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for module, targets in graph().items():
        mine = layer(module)
        if mine not in LAYERS:
            continue
        for target in targets:
            theirs = layer(target)
            if theirs in LAYERS and LAYERS.index(theirs) > LAYERS.index(mine):
                upward.append(f"{module} ({mine}) imports {target} ({theirs})")
    assert not upward, "\n".join(sorted(upward))


def test_no_import_circle():
    edges = graph()
    state, circles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    # a package's __init__ importing its own submodule is no circle: the submodule runs first
    circles = [c for c in circles if not _package_and_member(c)]
    assert not circles, "\n".join(circles)


def _package_and_member(circle):
    names = circle.split(" -> ")
    return len(names) == 3 and (
        names[1].startswith(names[0] + ".") or names[0].startswith(names[1] + ".")
    )


def test_few_modules_at_the_top():
    top = sorted(p.name for p in ROOT.glob("*.py"))
    assert len(top) <= 15, top
