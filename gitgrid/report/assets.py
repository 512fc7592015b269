"""The page's scripts as the report carries them: the page's own ES modules joined into one script, and
plotly.js (from the ``plotly`` package) packed small enough that a report's fixed part stays under 2 MB.

**Joining.** ``static/js/`` holds one small ES module per view plus the shared state and layout, so that
each is linted (Biome, ``make lint``) and kept under the 500-line rule like the Python. A report must stay
one self-contained file that opens from ``file://``, where browsers refuse to load modules, so the
modules are joined here: each becomes a function scope returning what it exports, in the order of their
imports. Only the forms a linter-checked module needs are accepted: ``import { a, b as c } from
"./x.js"``, ``import "./x.js"`` (a view that registers itself), ``export function``, ``export async
function``, ``export const`` and ``export class``. Anything else (``export let``, whose live binding the
join could not keep, ``export default``, a cycle) is refused when the page is built, never mis-joined.

**Packing.** Plotly's full bundle is 4.8 MB. It is deflated (1.47 MB) and written as base85 text (1.84
MB) that the page decodes and inflates with the browser's own ``DecompressionStream``, then evaluates:
no network, works from ``file://``, and costs tens of milliseconds at load (measured in
``benchmarks/bench_report.py`` against the plain inline bundle and base64). base85 rather than base64:
25 % larger than the bytes instead of 33 %, which is what keeps the fixed part under 2 MB; its alphabet
has no ``/``, so ``</script`` can never appear, and its one ``<`` is written as ``.`` (not in the
alphabet) so that no ``<!--`` can either.
"""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from gitgrid.errors import ReportError

__all__ = ["Packed", "app_script", "pack", "packed_plotly", "plotly_js"]

_JS = resources.files("gitgrid.report") / "static" / "js"
_ENTRY = "main.js"
_IMPORT = re.compile(r'^import\s*(?:\{([^}]*)\}\s*from\s*)?"\./([\w-]+\.js)";[ \t]*$', re.M)
_EXPORT = re.compile(r"^export\s+(async\s+function|function|const|class)\s+([\w$]+)", re.M)
_REFUSED = re.compile(r"^(export\s+(let|var|default|\{|\*)|import\s)", re.M)


@dataclass(frozen=True)
class _Module:
    name: str
    body: str
    imports: tuple[tuple[str, str], ...]  # (module, the destructuring of what it takes)
    exports: tuple[str, ...]


def _parse(name: str, source: str) -> _Module:
    imports = tuple((m.group(2), _bindings(name, m.group(1) or "")) for m in _IMPORT.finditer(source))
    body = _IMPORT.sub("", source)
    exports = tuple(m.group(2) for m in _EXPORT.finditer(body))
    body = _EXPORT.sub(lambda m: f"{m.group(1)} {m.group(2)}", body)
    refused = _REFUSED.search(body)
    if refused:
        line = source[: source.find(refused.group(0))].count("\n") + 1
        raise ReportError(f"static/js/{name}:{line}: the page's modules may not use {refused.group(0)!r}")
    return _Module(name, body, imports, exports)


def _bindings(name: str, names: str) -> str:
    parts = [p.strip() for p in names.replace("\n", " ").split(",") if p.strip()]
    out = []
    for part in parts:
        found = re.fullmatch(r"([\w$]+)(?:\s+as\s+([\w$]+))?", part)
        if found is None:
            raise ReportError(f"static/js/{name}: cannot join the import of {part!r}")
        out.append(found.group(1) if found.group(2) is None else f"{found.group(1)}: {found.group(2)}")
    return ", ".join(out)


def _ordered(modules: dict[str, _Module]) -> list[_Module]:
    """The modules the entry needs, each after those it imports (a cycle is refused)."""
    done: list[_Module] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            raise ReportError(f"static/js: import cycle {' -> '.join((*path, name))}")
        if name not in modules:
            raise ReportError(f"static/js/{path[-1]}: imports {name}, which does not exist")
        state[name] = "open"
        for imported, _ in modules[name].imports:
            visit(imported, (*path, name))
        state[name] = "done"
        done.append(modules[name])

    visit(_ENTRY, ())
    return done


def _scope(name: str) -> str:
    return "m_" + re.sub(r"\W", "_", name.removesuffix(".js"))


@cache
def app_script() -> str:
    """The page's modules joined into one script (one function scope per module)."""
    sources = {p.name: p.read_text() for p in _JS.iterdir() if p.name.endswith(".js")}
    modules = {name: _parse(name, text) for name, text in sources.items()}
    parts = ['"use strict";\n(() => {']
    for module in _ordered(modules):
        taken = "".join(f"  const {{ {b} }} = {_scope(m)};\n" for m, b in module.imports if b)
        exported = ", ".join(module.exports)
        parts.append(
            f"// ---- {module.name}\nconst {_scope(module.name)} = (() => {{\n{taken}{module.body}"
            f"\nreturn {{ {exported} }};\n}})();"
        )
    parts.append("})();\n//# sourceURL=gitgrid-app.js\n")
    return "\n".join(parts)


@dataclass(frozen=True)
class Packed:
    """A script as the page carries it: deflated bytes as base85 text (``<`` written as ``.``)."""

    text: str
    size: int  # bytes of the script itself


def pack(script: str) -> Packed:
    raw = script.encode()
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 9)  # raw deflate: DecompressionStream("deflate-raw")
    data = deflate.compress(raw) + deflate.flush()
    return Packed(base64.b85encode(data).decode().replace("<", "."), len(raw))


@cache
def plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise ReportError("the report needs plotly: pip install plotly") from None
    return str(get_plotlyjs()) + "\n//# sourceURL=plotly.js\n"


@cache
def packed_plotly() -> Packed:
    return pack(plotly_js())
