"""Which assertions judge a test: a static reading of its source, for the traceability matrix.

A test tagged with a conformance or rfc7252 requirement must hold a check a deviating module
fails. On the test function and the project helpers it calls:

- a *behaviour value* is a name bound to a fixture that reaches the module or the server
  (``module``, ``opened``, ``server``, ...) or computed from one (assignments, loops, ``with``);
- a *check* is an ``assert`` on a behaviour value that is not trivially true (``assert
  response.final``: every line gets a final result), ``pytest.raises`` around a behaviour call,
  or ``pytest.fail`` under a condition on a behaviour value;
- a helper (same module, or imported from ``suites``/``fixtures``) counts when it holds a check and
  is called with a behaviour value; a dispatch table of helpers counts when every entry does.

The report shows the checks found beside each requirement ("judged by"); tests/ fails a
conformance-tagged test that has none.
"""
from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: fixtures through which a test sees the module or the network
BEHAVIOUR_FIXTURES = frozenset({
    "module", "fresh_module", "timed_module", "opened", "timed_opened", "relayed", "server", "dtls_server",
    "dtls_reference_server", "reference_server", "captures", "relay", "request", "strategy", "at_channel",
    "restart", "b", "p", "restarted", "network_path",
})
TRIVIAL_ATTRIBUTES = frozenset({"final"})
MAX_DEPTH = 5
#: checks kept per test: the matrix names the first few, not every line
KEPT = 3


@dataclass
class ModuleInfo:
    path: Path
    tree: ast.Module
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (module, name)
    modules: dict[str, str] = field(default_factory=dict)  # alias -> module
    tables: dict[str, list[str]] = field(default_factory=dict)  # NAME = {k: function, ...}


_CACHE: dict[Path, ModuleInfo] = {}


def module_info(path: Path) -> ModuleInfo:
    path = path.resolve()
    if path in _CACHE:
        return _CACHE[path]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    info = ModuleInfo(path, tree)
    package = path.parent.relative_to(ROOT).as_posix().replace("/", ".") if path.is_relative_to(ROOT) else ""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            info.functions[node.name] = node
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if _project_module(target):
                    info.modules[alias.asname or alias.name] = target
                else:
                    info.imported[alias.asname or alias.name] = (base, alias.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [v.id for v in node.value.values if isinstance(v, ast.Name)]
            for t in targets:
                if isinstance(t, ast.Name) and names:
                    info.tables[t.id] = names
    _CACHE[path] = info
    return info


def _project_module(dotted: str) -> Path | None:
    if not dotted.split(".")[0] in ("suites", "fixtures"):
        return None
    candidate = ROOT / (dotted.replace(".", "/") + ".py")
    return candidate if candidate.exists() else None


@functools.lru_cache(maxsize=None)
def _names(node: ast.AST) -> frozenset[str]:
    """Memoised per node (nodes hash by identity; the trees live in ``_CACHE``): a test's helpers
    are read once per seed set, and every read asks again for the names of the same expressions."""
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


def _targets(node: ast.AST) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))


@functools.lru_cache(maxsize=None)
def _flows(func: ast.FunctionDef) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """Every binding in ``func`` as (names read, names bound): assignments, loops, ``with ... as``
    and ``:=``."""
    flows = []
    for node in ast.walk(func):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            flows.append((_names(node.value), frozenset().union(*(_targets(t) for t in targets))))
        elif isinstance(node, (ast.For, ast.comprehension)):
            flows.append((_names(node.iter), _targets(node.target)))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            flows.append((_names(node.context_expr), _targets(node.optional_vars)))
        elif isinstance(node, ast.NamedExpr):
            flows.append((_names(node.value), _targets(node.target)))
    return tuple(flows)


def behaviour_names(func: ast.FunctionDef, seeds: set[str]) -> set[str]:
    """``seeds`` and every name computed from one, to a fixed point."""
    tainted = set(seeds)
    changed = True
    while changed:
        changed = False
        for read, bound in _flows(func):
            if read & tainted and not bound <= tainted:
                tainted |= bound
                changed = True
    return tainted


def _assertion_text(node: ast.Assert) -> str:
    """The condition, and the assertion's message where it has one (what a reviewer reads first)."""
    text = ast.unparse(node.test)
    if isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str):
        return f"{text}: {node.msg.value}"
    if isinstance(node.msg, ast.JoinedStr):  # an f-string: its literal parts, placeholders as {...}
        parts = [v.value if isinstance(v, ast.Constant) else "{...}" for v in node.msg.values]
        return f"{text}: {''.join(str(part) for part in parts)}"
    return text


def _trivial(test: ast.expr) -> bool:
    if isinstance(test, ast.Constant):
        return True
    return isinstance(test, ast.Attribute) and test.attr in TRIVIAL_ATTRIBUTES


def _is_pytest(call: ast.Call, name: str) -> bool:
    f = call.func
    return isinstance(f, ast.Attribute) and f.attr == name and isinstance(f.value, ast.Name) and f.value.id == "pytest"


def function_checks(info: ModuleInfo, func: ast.FunctionDef, seeds: set[str], depth: int = 0,
                    seen: frozenset[str] = frozenset()) -> list[str]:
    """The checks on behaviour values in ``func`` and the helpers it calls with one."""
    if depth > MAX_DEPTH or f"{info.path}:{func.name}" in seen:
        return []
    seen = seen | {f"{info.path}:{func.name}"}
    tainted = behaviour_names(func, seeds)
    checks: list[str] = []
    conditions: list[ast.expr] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Assert):
            if _names(node.test) & tainted and not _trivial(node.test):
                checks.append(_assertion_text(node)[:200])
        elif isinstance(node, ast.With):
            for item in node.items:
                expr = item.context_expr
                if isinstance(expr, ast.Call) and _is_pytest(expr, "raises") \
                        and any(_names(stmt) & tainted for stmt in node.body):
                    checks.append(f"pytest.raises({ast.unparse(expr.args[0]) if expr.args else ''})")
        elif isinstance(node, ast.Call):
            if _is_pytest(node, "fail") and any(_names(c) & tainted for c in conditions):
                checks.append("pytest.fail under " + ast.unparse(conditions[-1])[:120])
            elif any(_names(a) & tainted for a in [*node.args, *(k.value for k in node.keywords)]):
                checks.extend(helper_checks(info, node, tainted, depth, seen))
        if isinstance(node, (ast.If, ast.While)):
            conditions.append(node.test)
            for child in ast.iter_child_nodes(node):
                visit(child)
            conditions.pop()
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in func.body:
        visit(stmt)
    return checks


def _resolve(info: ModuleInfo, call: ast.Call) -> list[tuple[ModuleInfo, ast.FunctionDef]]:
    f = call.func
    if isinstance(f, ast.Name):
        if f.id in info.functions:
            return [(info, info.functions[f.id])]
        if f.id in info.imported:
            base, name = info.imported[f.id]
            path = _project_module(base)
            if path is not None:
                other = module_info(path)
                if name in other.functions:
                    return [(other, other.functions[name])]
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in info.modules:
        path = _project_module(info.modules[f.value.id])
        if path is not None:
            other = module_info(path)
            if f.attr in other.functions:
                return [(other, other.functions[f.attr])]
    if isinstance(f, ast.Subscript) and isinstance(f.value, ast.Name) and f.value.id in info.tables:
        return [(info, info.functions[n]) for n in info.tables[f.value.id] if n in info.functions]
    return []


def helper_checks(info: ModuleInfo, call: ast.Call, tainted: set[str], depth: int,
                  seen: frozenset[str]) -> list[str]:
    targets = _resolve(info, call)
    if not targets:
        return []
    results = []
    for other, func in targets:
        params = [a.arg for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]]
        found = function_checks(other, func, set(params), depth + 1, seen)
        if not found:
            return []  # a dispatch table counts only when every entry checks something
        results.append(f"{func.name}: {found[0]}")
    return results


@functools.lru_cache(maxsize=None)
def checks_of(file: str, function: str) -> tuple[str, ...]:
    """The checks on the module's behaviour in test ``function`` of ``file`` (empty: none found)."""
    path = Path(file)
    try:  # the report must never lose a run over a source it cannot read (a moved or odd file)
        info = module_info(path)
    except (OSError, SyntaxError, ValueError, RecursionError):
        return ()
    func = info.functions.get(function)
    if func is None:
        return ()
    params = {a.arg for a in func.args.args}
    return tuple(function_checks(info, func, params & BEHAVIOUR_FIXTURES))
