"""The built-in templates compiled ahead of time (bridge/_templates.py) render what Jinja renders."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from conftest import CORPUS, FIXTURES, ROOT, corpus_files

from bridge import precompile, template_runtime
from bridge.build import build_chart
from bridge.errors import BridgeError
from bridge.loader import Options, load
from bridge.render import (
    CompiledTemplates,
    JinjaTemplates,
    builtin_templates,
    compiled_templates,
    render_chart,
    template_env,
)


def test_the_compiled_module_is_current() -> None:
    assert precompile.main(["--check"]) == 0, "run `python -m bridge.precompile` (make precompile)"


def test_built_in_templates_render_compiled() -> None:
    assert isinstance(template_env(None), CompiledTemplates)
    assert isinstance(template_env(builtin_templates()), JinjaTemplates)


def _projects() -> list[list[Path]]:
    found = [sorted(p.glob("compose*.yaml")) for p in sorted(FIXTURES.iterdir()) if p.is_dir()]
    found += [[p / "compose.yaml"] for p in sorted((ROOT / "examples").iterdir()) if (p / "compose.yaml").is_file()]
    return [files for files in found if files]


def _both(files: list[Path]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    project = load(Options(files=[str(f) for f in files], environ={"HOME": "/home/user"}))
    chart = build_chart(project)
    # The built-in folder given as --templates makes render_chart use Jinja on the same sources.
    return render_chart(chart), render_chart(chart, templates=builtin_templates())


@pytest.mark.parametrize("files", _projects(), ids=lambda files: files[0].parent.name)
def test_compiled_templates_render_what_jinja_renders(files: list[Path]) -> None:
    compiled, jinja = _both(files)
    assert sorted(compiled) == sorted(jinja)
    for rel in compiled:
        assert compiled[rel] == jinja[rel], rel


@pytest.mark.skipif(not corpus_files(), reason=f"shared corpus not found at {CORPUS}")
def test_compiled_templates_render_what_jinja_renders_on_the_corpus() -> None:
    compared = 0
    for name in corpus_files():
        try:
            compiled, jinja = _both([CORPUS / name])
        except BridgeError:
            continue  # rejected before any template runs (tests/test_corpus_charts.py checks those)
        assert sorted(compiled) == sorted(jinja), name
        for rel in compiled:
            assert compiled[rel] == jinja[rel], f"{name}: {rel}"
        compared += 1
    assert compared >= 250, f"only {compared} corpus files converted"


def test_an_edited_template_is_rendered_by_jinja(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    for path in builtin_templates().iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr("bridge.render.builtin_templates", lambda: folder)
    assert compiled_templates() is not None
    chart = folder / "Chart.yaml.j2"
    chart.write_text(chart.read_text() + "# edited\n")
    assert compiled_templates() is None
    assert isinstance(template_env(None), JinjaTemplates)
    (folder / "Chart.yaml.j2").unlink()
    assert compiled_templates() is None


# --- the Jinja subset, template by template: compiled and Jinja output compared -------------------

def _compile(tmp_path: Path, templates: dict[str, str]) -> tuple[types.ModuleType, JinjaTemplates]:
    for name, text in templates.items():
        (tmp_path / name).write_text(text)
    jinja = JinjaTemplates(tmp_path)
    source = precompile.compile_templates(jinja.env, tmp_path, ["main.j2"])
    module = types.ModuleType("bridge._test_templates")
    module.__package__ = "bridge"
    exec(compile(source, "<compiled>", "exec"), module.__dict__)  # noqa: S102 - our own generated code
    return module, jinja


def _render_both(tmp_path: Path, templates: dict[str, str], **ctx: object) -> str:
    module, jinja = _compile(tmp_path, templates)
    compiled = CompiledTemplates(module.TEMPLATES).render("main.j2", ctx)
    expected = jinja.render("main.j2", ctx)
    assert compiled == expected
    return compiled


class Obj:
    def __init__(self, **kw: object) -> None:
        self.__dict__.update(kw)


CASES = {
    "scoping": (
        "[% set x = 'top' %][% for i in items %][[ x ]][% set x = i %][[ x ]],[% endfor %][[ x ]]",
        {"items": [1, 2]},
    ),
    "conditional set in a loop": (
        "[% set x = 0 %][% for i in items %][% if i > 1 %][% set x = i %][% endif %][[ x ]][% endfor %]|[[ x ]]",
        {"items": [1, 2, 3]},
    ),
    "loop attributes and a filter": (
        "[% for i in items if i != 2 %][[ loop.index ]]/[[ loop.length ]][[ '!' if loop.first else '' ]]"
        "[[ '.' if loop.last else ',' ]][% endfor %]",
        {"items": [1, 2, 3, 4]},
    ),
    "setting the loop variable": ("[% for i in items %][[ i ]][% set i = i * 10 %][[ i ]],[% endfor %]", {"items": [1, 2]}),
    "for else": ("[% for i in items if i %]x[% else %]none[% endfor %]", {"items": [0, ""]}),
    "unpacking": ("[% for k, v in d.items() %][[ k ]]=[[ v ]];[% endfor %]", {"d": {"a": 1, "b": None}}),
    "getattr and getitem": (
        "[[ o.name ]] [[ d.name ]] [[ d['items'] ]] [[ d.get('missing') ]] [[ o['name'] ]] [[ l[1] ]]",
        {"o": Obj(name="obj"), "d": {"name": "dict", "items": 3}, "l": [5, 6]},
    ),
    "filters": (
        "[[ xs | selectattr('on') | map(attribute='n') | join(', ') ]] [[ xs | rejectattr('n', 'equalto', 'a') "
        "| map(attribute='n') | list ]] [[ 'a|b' | replace('|', '\\\\|') ]] [[ 'aaa' | replace('a', 'b', 2) ]] "
        "[[ {'b': \"<'&>\", 'a': [1]} | tojson ]] [[ [1, 'x'] | join ]]",
        {"xs": [{"n": "a", "on": True}, {"n": "b", "on": False}, {"n": "c", "on": 1}]},
    ),
    "tests and operators": (
        "[[ a is none ]] [[ b is none ]] [[ d is mapping ]] [[ 1 in l ]] [[ 3 not in l ]] [[ a or 'z' ]] "
        "[[ not a and b ]] [[ 'x' ~ b ~ 1 ]] [[ b if a else 'no' ]] [[ [a, b] ]] [[ (1, 2) ]]",
        {"a": None, "b": 7, "d": {}, "l": [1, 2]},
    ),
    "include sees the loop and keeps its own names": (
        "[% set n = 'N' %][% for c in cs %][% set h = c * 2 %][% include 'part.j2' %][% endfor %][[ n ]]",
        {"cs": [1, 2]},
    ),
    "whitespace control": ("[% if a %]\n  yes\n[% endif %]\n  [%- if b %] b [% endif -%]\nend\n", {"a": 1, "b": 1}),
}
PART = "[[ n ]][[ c ]][[ h ]][% set n = 'inner' %][[ n ]];"


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_subset_matches_jinja(tmp_path: Path, case: str) -> None:
    text, ctx = CASES[case]
    _render_both(tmp_path, {"main.j2": text, "part.j2": PART}, **ctx)


def test_mutating_a_list_from_an_include(tmp_path: Path) -> None:
    out = _render_both(tmp_path, {
        "main.j2": "[% set acc = [] %][% include 'part.j2' %][[ acc | join(',') ]]",
        "part.j2": "[% set _ = acc.append('a') %][% if flag %][% set _ = acc.append('b') %][% endif %]",
    }, flag=True)
    assert out == "a,b"


@pytest.mark.parametrize("text", ["[[ missing ]]", "[[ o.nothing ]]", "[% if o.nothing %]x[% endif %]",
                                  "[% for x in o.nothing %][% endfor %]", "[[ o.nothing.deeper ]]"])
def test_undefined_names_fail_like_strict_undefined(tmp_path: Path, text: str) -> None:
    module, jinja = _compile(tmp_path, {"main.j2": text})
    ctx = {"o": Obj(name="x")}
    with pytest.raises(BridgeError) as compiled:
        CompiledTemplates(module.TEMPLATES).render("main.j2", ctx)
    with pytest.raises(BridgeError) as expected:
        jinja.render("main.j2", ctx)
    assert str(compiled.value) == str(expected.value)


@pytest.mark.parametrize("text", ["[% macro m() %][% endmacro %]", "[[ x[1:2] ]]", "[% filter upper %]x[% endfilter %]",
                                  "[[ x | upper ]]", "[[ x is odd ]]", "[% for x in y recursive %][% endfor %]"])
def test_what_is_not_compiled_fails_the_compile(tmp_path: Path, text: str) -> None:
    (tmp_path / "main.j2").write_text(text)
    with pytest.raises(precompile.CompileError):
        precompile.compile_templates(JinjaTemplates(tmp_path).env, tmp_path, ["main.j2"])


def test_runtime_getattr_prefers_attributes_like_jinja() -> None:
    mapping = {"items": 1}
    assert template_runtime.getattr_(mapping, "items") == mapping.items
    assert template_runtime.getattr_({"x": 1}, "x") == 1
    assert isinstance(template_runtime.getattr_({}, "x"), template_runtime.Undefined)
    assert template_runtime.getitem(Obj(a=1), "a") == 1


def test_an_installed_package_uses_its_compiled_templates_without_reading_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    for path in builtin_templates().iterdir():
        (folder / path.name).write_bytes(b"never read")
    monkeypatch.setattr("bridge.render._PACKAGED_TEMPLATES", folder)
    monkeypatch.setattr("bridge.render.builtin_templates", lambda: folder)
    assert compiled_templates() is not None


# --- the shipped compose-spec validator ------------------------------------------------------------

def test_the_shipped_validator_is_used_for_the_installed_schema() -> None:
    from bridge import _compose_spec, validate

    validate._fast_validator.cache_clear()
    try:
        assert validate._fast_validator() is _compose_spec.ENTRY
    finally:
        validate._fast_validator.cache_clear()


def test_another_schema_gets_a_validator_generated_into_the_cache(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge import _compose_spec, validate

    schema = tmp_path / "compose-spec.json"
    schema.write_bytes(validate.compose_schema_path().read_bytes() + b"\n")  # same schema, other bytes
    monkeypatch.setattr(validate, "compose_schema_path", lambda: schema)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    validate._fast_validator.cache_clear()
    try:
        generated = validate._fast_validator()
        assert generated is not None and generated is not _compose_spec.ENTRY
        assert list((tmp_path / "cache" / "compose-bridge").glob("compose_spec_*.marshal"))
        with pytest.raises(ValueError, match="must be string"):
            generated({"services": {"a": {"image": 1}}})
        generated({"services": {"a": {"image": "nginx"}}})
    finally:
        validate._fast_validator.cache_clear()
