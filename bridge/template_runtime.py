"""What the precompiled built-in templates (`bridge/_templates.py`) call at run time, without Jinja.

Importing Jinja2 costs more than the whole conversion of a small project (its package imports its
lexer, parser, compiler, bytecode cache, inspect, pickle, tempfile, ...: ~35 ms of a ~100 ms budget),
so the built-in templates are compiled ahead of time by `bridge.precompile` into plain Python that
needs only this module. Every function here reproduces the Jinja 3.1 behaviour it replaces
(StrictUndefined, `environment.getattr`/`getitem`, the builtin filters and tests the templates use);
`tests/test_precompile.py` renders every template both ways and compares the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

_DICT_ATTRS = frozenset(dir(dict))


class UndefinedError(Exception):
    """Raised where Jinja's StrictUndefined raises jinja2.UndefinedError."""

    @property
    def message(self) -> str:
        return str(self.args[0])


def _type_repr(obj: object) -> str:
    """jinja2.utils.object_type_repr."""
    if obj is None:
        return "None"
    if obj is Ellipsis:
        return "Ellipsis"
    cls = type(obj)
    return f"{cls.__name__} object" if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__} object"


class Undefined:
    """A missing name or attribute: any use fails (StrictUndefined); only `is none`/`is defined` look."""

    __slots__ = ("_obj", "_name")

    def __init__(self, obj: object = None, name: object = None, *, free: bool = False) -> None:
        self._obj = _FREE if free else obj
        self._name = name

    def _fail(self, *_: object, **__: object) -> None:
        if self._obj is _FREE:
            raise UndefinedError(f"{self._name!r} is undefined")
        if isinstance(self._name, str):
            raise UndefinedError(f"{_type_repr(self._obj)!r} has no attribute {self._name!r}")
        raise UndefinedError(f"{_type_repr(self._obj)} has no element {self._name!r}")

    __str__ = __iter__ = __len__ = __bool__ = __eq__ = __ne__ = __hash__ = __contains__ = _fail
    __call__ = __getitem__ = __add__ = __radd__ = __lt__ = __gt__ = __le__ = __ge__ = __int__ = _fail

    def __getattr__(self, name: str) -> None:
        self._fail()


_FREE = object()


def getattr_(obj: object, name: str) -> object:
    """environment.getattr: the attribute, else the item, else Undefined."""
    if type(obj) is dict and name not in _DICT_ATTRS:  # fast path, same result: no such attribute
        try:
            return obj[name]  # type: ignore[index]
        except KeyError:
            return Undefined(obj, name)
    try:
        return getattr(obj, name)
    except AttributeError:
        pass
    try:
        return obj[name]  # type: ignore[index]
    except (TypeError, LookupError, AttributeError):
        return Undefined(obj, name)


def getitem(obj: object, key: object) -> object:
    """environment.getitem: the item, else (for a string key) the attribute, else Undefined."""
    try:
        return obj[key]  # type: ignore[index]
    except (AttributeError, TypeError, LookupError):
        if isinstance(key, str):
            try:
                return getattr(obj, key)
            except AttributeError:
                pass
        return Undefined(obj, key)


def str_join(parts: Iterable[object]) -> str:
    return "".join(map(str, parts))


class Loop:
    """The `loop` variable of a for loop (the attributes the templates may use)."""

    __slots__ = ("index0", "length")

    def __init__(self, index0: int, length: int) -> None:
        self.index0 = index0
        self.length = length

    @property
    def index(self) -> int:
        return self.index0 + 1

    @property
    def first(self) -> bool:
        return self.index0 == 0

    @property
    def last(self) -> bool:
        return self.index0 == self.length - 1

    @property
    def revindex(self) -> int:
        return self.length - self.index0

    @property
    def revindex0(self) -> int:
        return self.length - self.index0 - 1


# Jinja's builtin tests, those the templates (and selectattr/rejectattr arguments) use.
TESTS = {
    "none": lambda value: value is None,
    "defined": lambda value: not isinstance(value, Undefined),
    "undefined": lambda value: isinstance(value, Undefined),
    "mapping": lambda value: isinstance(value, Mapping),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: value is True or value is False,
    "true": lambda value: value is True,
    "false": lambda value: value is False,
    "equalto": lambda value, other: value == other,
    "eq": lambda value, other: value == other,
    "==": lambda value, other: value == other,
    "ne": lambda value, other: value != other,
    "!=": lambda value, other: value != other,
    "in": lambda value, seq: value in seq,
}


def test(name: str, value: object, *args: object) -> bool:
    try:
        func = TESTS[name]
    except KeyError:
        raise UndefinedError(f"No test named {name!r}.") from None
    return func(value, *args)


def _attrgetter(attribute: str | int) -> object:
    """jinja2.filters.make_attrgetter: dotted names, integer parts as indexes, through getitem."""
    parts = [int(p) if p.isdigit() else p for p in attribute.split(".")] if isinstance(attribute, str) else [attribute]

    def get(item: object) -> object:
        for part in parts:
            item = getitem(item, part)
        return item

    return get


def _select(value: Iterable, args: tuple, keep: bool) -> Iterator:
    get = _attrgetter(args[0])
    if len(args) > 1:
        name, rest = args[1], args[2:]
        def check(item: object) -> bool:
            return test(name, get(item), *rest)
    else:
        def check(item: object) -> bool:
            return bool(get(item))
    return (item for item in value if bool(check(item)) is keep)


def do_selectattr(value: Iterable, *args: object) -> Iterator:
    return _select(value, args, True)


def do_rejectattr(value: Iterable, *args: object) -> Iterator:
    return _select(value, args, False)


def do_map(value: Iterable, *args: object, attribute: str | None = None, default: object = None) -> Iterator:
    if args or attribute is None:
        raise UndefinedError("map() is compiled only with attribute=")
    get = _attrgetter(attribute)
    for item in value:
        found = get(item)
        yield default if default is not None and isinstance(found, Undefined) else found


def do_join(value: Iterable, d: str = "", attribute: str | None = None) -> str:
    if attribute is not None:
        value = map(_attrgetter(attribute), value)  # type: ignore[arg-type]
    return str(d).join(map(str, value))


def do_replace(s: object, old: object, new: object, count: int | None = None) -> str:
    return str(s).replace(str(old), str(new), -1 if count is None else count)


def do_tojson(value: object, indent: int | None = None) -> str:
    """jinja2.utils.htmlsafe_json_dumps with Jinja's default policy (sort_keys)."""
    text = json.dumps(value, sort_keys=True, indent=indent)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


FILTERS = {
    "list": list,
    "join": do_join,
    "replace": do_replace,
    "selectattr": do_selectattr,
    "rejectattr": do_rejectattr,
    "map": do_map,
    "tojson": do_tojson,
}
