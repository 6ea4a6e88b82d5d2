"""Compile the built-in Jinja templates ahead of time into `bridge/_templates.py`: plain Python
functions that render exactly what Jinja renders, run with `bridge.template_runtime` and no Jinja.

Why hand-written: Jinja's own compiled templates still need the whole jinja2 package at run time,
and importing it costs about a third of a small conversion. Jinja parses the templates here (its
lexer applies the delimiters and whitespace rules), and this module turns the parsed tree into
Python for the subset of Jinja the templates use; anything else is a CompileError, so a template
that needs more fails `make precompile` and the tests instead of rendering differently. The module
records each template's CRC-32: a template edited after compiling is rendered by Jinja (render.py).

    python -m bridge.precompile [--check]    # writes bridge/_templates.py and bridge/_compose_spec.py
                                             # (--check: exit 1 if either is stale)

It also writes `_compose_spec.py`, the compose-spec validator fastjsonschema generates from the pinned
check-jsonschema's schema (see validate.shipped_validator_source).
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.defaults import DEFAULT_FILTERS

from .template_runtime import FILTERS, TESTS

TARGET = Path(__file__).resolve().parent / "_templates.py"
SPEC_TARGET = Path(__file__).resolve().parent / "_compose_spec.py"
JINJA_GLOBALS = {"range": "range", "dict": "dict"}
LOOP_ATTRS = {"index", "index0", "first", "last", "length", "revindex", "revindex0"}
COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "lteq": "<=", "gt": ">", "gteq": ">=", "in": "in", "notin": "not in"}
BINARY = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "FloorDiv": "//", "Mod": "%"}
INLINE_TESTS = {"none": "({} is None)", "mapping": "isinstance({}, Mapping)"}


class CompileError(Exception):
    pass


class Scope:
    """Jinja name -> Python local. A for-loop body and an included template are scopes of their own:
    what they assign is theirs, and before it is assigned a name reads the enclosing value."""

    def __init__(self, parent: Scope | None) -> None:
        self.parent = parent
        self.names: dict[str, str] = {}

    def lookup(self, name: str) -> str | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None


def _target_names(target: nodes.Node) -> list[nodes.Name]:
    """The names an assignment or loop target binds (`x`, or each of `k, v`)."""
    return [target] if isinstance(target, nodes.Name) else list(target.find_all(nodes.Name))


def _assigned(body: list[nodes.Node]) -> list[str]:
    """Names a scope's own statements assign (not those of nested for loops or includes), in order."""
    found: list[str] = []

    def walk(node: nodes.Node) -> None:
        if isinstance(node, nodes.Assign):
            for name in _target_names(node.target):
                if name.name not in found:
                    found.append(name.name)
        elif isinstance(node, nodes.If):
            for child in node.body + node.else_:
                walk(child)
            for branch in node.elif_:
                walk(branch)
    for node in body:
        walk(node)
    return found


class Compiler:
    def __init__(self, env: jinja2.Environment, folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.lines: list[str] = []
        self.counter = 0
        self.free: dict[str, str] = {}
        self.including: list[str] = []
        # The filters the compiled code gets: the runtime's builtins and the project's own.
        self.filters = set(FILTERS) | (set(env.filters) - set(DEFAULT_FILTERS))

    # -- helpers --------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"l_{self.counter}_{hint}"

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def parse(self, name: str) -> nodes.Template:
        source = (self.folder / name).read_text(encoding="utf-8")
        return self.env.parse(source, name, name)

    # -- templates ------------------------------------------------------------------------------
    def template(self, name: str) -> list[str]:
        self.lines, self.counter, self.free = [], 0, {}
        self.including = [name]
        body: list[str] = []
        self.lines = body
        scope = Scope(None)
        self.scope_body(self.parse(name).body, scope, 1)
        head = [f"def {function_name(name)}(ctx, F):", "    out = []", "    w = out.append"]
        for jname, local in self.free.items():
            if jname in JINJA_GLOBALS:
                head.append(f"    {local} = ctx.get({jname!r}, {JINJA_GLOBALS[jname]})")
            else:
                head.append(f"    {local} = ctx[{jname!r}] if {jname!r} in ctx else Undefined(name={jname!r}, free=True)")
        return head + body + ["    return ''.join(out)", ""]

    def scope_body(self, body: list[nodes.Node], scope: Scope, depth: int) -> None:
        for jname in _assigned(body):
            if jname in scope.names:  # a loop variable the body assigns to again: already this scope's
                continue
            local = self.fresh(jname)
            # Until assigned here, the name reads what encloses the scope (the context at the top).
            self.emit(depth, f"{local} = {self.resolve(jname, scope.parent)}")
            scope.names[jname] = local
        self.block(body, scope, depth)

    def resolve(self, jname: str, scope: Scope | None) -> str:
        local = scope.lookup(jname) if scope is not None else None
        if local is not None:
            return local
        if jname not in self.free:
            self.free[jname] = f"c_{jname}"
        return self.free[jname]

    # -- statements -----------------------------------------------------------------------------
    def stmt(self, node: nodes.Node, scope: Scope, depth: int) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    if child.data:
                        self.emit(depth, f"w({child.data!r})")
                else:
                    self.emit(depth, f"w(str({self.expr(child, scope)}))")
        elif isinstance(node, nodes.If):
            self.emit(depth, f"if {self.expr(node.test, scope)}:")
            self.block(node.body, scope, depth + 1)
            for branch in node.elif_:
                self.emit(depth, f"elif {self.expr(branch.test, scope)}:")
                self.block(branch.body, scope, depth + 1)
            if node.else_:
                self.emit(depth, "else:")
                self.block(node.else_, scope, depth + 1)
        elif isinstance(node, nodes.Assign):
            self.emit(depth, f"{self.target(node.target, scope)} = {self.expr(node.node, scope)}")
        elif isinstance(node, nodes.For):
            self.for_loop(node, scope, depth)
        elif isinstance(node, nodes.Include):
            self.include(node, scope, depth)
        else:
            raise CompileError(f"{self.including[-1]}:{node.lineno}: {type(node).__name__} is not compiled")

    def block(self, body: list[nodes.Node], scope: Scope, depth: int) -> None:
        start = len(self.lines)
        for node in body:
            self.stmt(node, scope, depth)
        if len(self.lines) == start:
            self.emit(depth, "pass")

    def target(self, node: nodes.Node, scope: Scope) -> str:
        if isinstance(node, nodes.Name):
            local = scope.names.get(node.name)
            if local is None:
                raise CompileError(f"{self.including[-1]}:{node.lineno}: assignment to {node.name} outside its scope")
            return local
        if isinstance(node, nodes.Tuple):
            return "(" + ", ".join(self.target(item, scope) for item in node.items) + ",)"
        raise CompileError(f"{self.including[-1]}:{node.lineno}: cannot assign to {type(node).__name__}")

    def for_loop(self, node: nodes.For, scope: Scope, depth: int) -> None:
        if node.recursive:
            raise CompileError(f"{self.including[-1]}:{node.lineno}: recursive loops are not compiled")
        inner = Scope(scope)
        for name in _target_names(node.target):
            inner.names[name.name] = self.fresh(name.name)
        uses_loop = any(n.name == "loop" for n in node.find_all(nodes.Name))  # (a nested loop's counts too)
        for attr in node.find_all(nodes.Getattr):
            if isinstance(attr.node, nodes.Name) and attr.node.name == "loop" and attr.attr not in LOOP_ATTRS:
                raise CompileError(f"{self.including[-1]}:{attr.lineno}: loop.{attr.attr} is not compiled")
        target = self.target(node.target, inner)
        items = self.fresh("items")
        source = self.expr(node.iter, scope)
        if node.test is not None:
            self.emit(depth, f"{items} = []")
            self.emit(depth, f"for {target} in {source}:")
            self.emit(depth + 1, f"if {self.expr(node.test, inner)}:")
            self.emit(depth + 2, f"{items}.append({target})")
        else:
            self.emit(depth, f"{items} = {source}")
        if (uses_loop or node.else_) and node.test is None:
            self.emit(depth, f"{items} = list({items})")
        if uses_loop:
            index = self.fresh("index")
            inner.names["loop"] = self.fresh("loop")
            self.emit(depth, f"for {index}, {target} in enumerate({items}):")
            self.emit(depth + 1, f"{inner.names['loop']} = Loop({index}, len({items}))")
        else:
            self.emit(depth, f"for {target} in {items}:")
        self.scope_body(node.body, inner, depth + 1)
        if node.else_:
            self.emit(depth, f"if not {items}:")
            self.block(node.else_, scope, depth + 1)

    def include(self, node: nodes.Include, scope: Scope, depth: int) -> None:
        if not isinstance(node.template, nodes.Const) or node.ignore_missing or not node.with_context:
            raise CompileError(f"{self.including[-1]}:{node.lineno}: only `include \"name\"` is compiled")
        name = node.template.value
        if name in self.including:
            raise CompileError(f"{self.including[-1]}:{node.lineno}: {name} includes itself")
        self.including.append(name)
        tree = self.parse(name)
        if any(n.name == "loop" for n in tree.find_all(nodes.Name)):  # whose loop it is differs in Jinja
            raise CompileError(f"{name}: `loop` in an included template is not compiled")
        self.scope_body(tree.body, Scope(scope), depth)
        self.including.pop()

    # -- expressions ----------------------------------------------------------------------------
    def args(self, node: nodes.Filter | nodes.Test | nodes.Call, scope: Scope) -> list[str]:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise CompileError(f"{self.including[-1]}:{node.lineno}: *args/**kwargs are not compiled")
        return [self.expr(a, scope) for a in node.args] + [f"{k.key}={self.expr(k.value, scope)}" for k in node.kwargs]

    def expr(self, node: nodes.Node, scope: Scope) -> str:
        where = f"{self.including[-1]}:{node.lineno}"
        if isinstance(node, nodes.Const):
            return repr(node.value)
        if isinstance(node, nodes.Name):
            return self.resolve(node.name, scope)
        if isinstance(node, nodes.Getattr):
            return f"getattr_({self.expr(node.node, scope)}, {node.attr!r})"
        if isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Slice):
                raise CompileError(f"{where}: slices are not compiled")
            return f"getitem({self.expr(node.node, scope)}, {self.expr(node.arg, scope)})"
        if isinstance(node, nodes.Filter):
            if node.node is None:
                raise CompileError(f"{where}: filter blocks are not compiled")
            if node.name not in self.filters:
                raise CompileError(f"{where}: no filter named {node.name}")
            return f"F[{node.name!r}](" + ", ".join([self.expr(node.node, scope), *self.args(node, scope)]) + ")"
        if isinstance(node, nodes.Test):
            if node.name in INLINE_TESTS and not node.args and not node.kwargs:
                return INLINE_TESTS[node.name].format(self.expr(node.node, scope))
            if node.name not in TESTS:
                raise CompileError(f"{where}: no test named {node.name}")
            return f"test({node.name!r}, " + ", ".join([self.expr(node.node, scope), *self.args(node, scope)]) + ")"
        if isinstance(node, nodes.Call):
            return f"{self.expr(node.node, scope)}(" + ", ".join(self.args(node, scope)) + ")"
        if isinstance(node, nodes.Compare):
            parts = [self.expr(node.expr, scope)]
            for op in node.ops:
                parts += [COMPARE[op.op], self.expr(op.expr, scope)]
            return "(" + " ".join(parts) + ")"
        if isinstance(node, nodes.Not):
            return f"(not {self.expr(node.node, scope)})"
        if isinstance(node, nodes.And | nodes.Or):
            op = "and" if isinstance(node, nodes.And) else "or"
            return f"({self.expr(node.left, scope)} {op} {self.expr(node.right, scope)})"
        if type(node).__name__ in BINARY:
            return f"({self.expr(node.left, scope)} {BINARY[type(node).__name__]} {self.expr(node.right, scope)})"
        if isinstance(node, nodes.Neg):
            return f"(-{self.expr(node.node, scope)})"
        if isinstance(node, nodes.CondExpr):
            other = self.expr(node.expr2, scope) if node.expr2 is not None else "Undefined(name='else', free=True)"
            return f"({self.expr(node.expr1, scope)} if {self.expr(node.test, scope)} else {other})"
        if isinstance(node, nodes.Concat):
            return "str_join((" + "".join(self.expr(n, scope) + ", " for n in node.nodes) + "))"
        if isinstance(node, nodes.List):
            return "[" + ", ".join(self.expr(n, scope) for n in node.items) + "]"
        if isinstance(node, nodes.Tuple):
            return "(" + "".join(self.expr(n, scope) + ", " for n in node.items) + ")"
        if isinstance(node, nodes.Dict):
            return "{" + ", ".join(f"{self.expr(p.key, scope)}: {self.expr(p.value, scope)}" for p in node.items) + "}"
        raise CompileError(f"{where}: {type(node).__name__} expressions are not compiled")


def function_name(template: str) -> str:
    return "t_" + "".join(c if c.isalnum() else "_" for c in template)


def checksum(data: bytes) -> int:
    return zlib.crc32(data)


def compile_templates(env: jinja2.Environment, folder: Path, names: list[str]) -> str:
    """The source of `_templates.py` for the templates `names` (the entry points) in `folder`."""
    compiler = Compiler(env, folder)
    functions: list[str] = []
    for name in names:
        functions += compiler.template(name)
    every = sorted(p.name for p in folder.glob("*.j2"))
    sums = "\n".join(f"    {n!r}: {checksum((folder / n).read_bytes())}," for n in every)
    entries = "\n".join(f"    {n!r}: {function_name(n)}," for n in names)
    return "\n".join([
        '"""Generated by `python -m bridge.precompile` from templates/: do not edit."""',
        "# ruff: noqa",
        "from collections.abc import Mapping",
        "",
        "from .template_runtime import Loop, Undefined, getattr_, getitem, str_join, test",
        "",
        "# CRC-32 of every template file these functions were compiled from.",
        "SOURCES = {",
        sums,
        "}",
        "",
        "",
        *functions,
        "",
        "TEMPLATES = {",
        entries,
        "}",
        "",
    ])


def generate() -> str:
    from .render import JinjaTemplates, builtin_templates, entry_templates

    return compile_templates(JinjaTemplates(None).env, builtin_templates(), entry_templates())


def generate_validator() -> str:
    from .validate import compose_schema_path, shipped_validator_source

    return shipped_validator_source(compose_schema_path().read_bytes())


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) both generated modules: the templates and the validator."""
    argv = sys.argv[1:] if argv is None else argv
    stale = 0
    for target, make in ((TARGET, generate), (SPEC_TARGET, generate_validator)):
        source = make()
        if "--check" in argv:
            current = target.read_text(encoding="utf-8") if target.exists() else ""
            if current != source:
                print(f"{target} is out of date: run `python -m bridge.precompile`", file=sys.stderr)
                stale = 1
            continue
        target.write_text(source, encoding="utf-8")
        print(f"wrote {target}")
    return stale


if __name__ == "__main__":
    raise SystemExit(main())
