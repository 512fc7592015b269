"""The one HTML page of the report and the dashboard: plotly.js, the page's own script and style, and
the data, all inline, so a report opens from a single file with no network.

Plotly's JavaScript comes from the ``plotly`` package installed from PyPI (its bundled ``plotly.min.js``),
never from the repository. It and the page's own script travel packed (deflated, base85: see
:mod:`gitgrid.report.assets`), unpacked in the page by a small loader, which keeps the fixed part of a
report under 2 MB. Untrusted text reaches the page only as JSON in a ``<script type="application/json">``
block, with ``<``, ``>`` and ``&`` escaped so that no value can end the block, and the page puts it into
the document as text, never as markup. A Content-Security-Policy allows only the page's own loader (by
its SHA-256), no inline handlers and no network (``'unsafe-eval'`` stays: the loader evaluates the
unpacked scripts with it, and without it Plotly's WebGL plots draw nothing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from importlib import resources
from typing import Any, Literal

from gitgrid.errors import ReportError
from gitgrid.report.assets import app_script, pack, packed_plotly, plotly_js

__all__ = ["Packing", "render_page", "script_json"]

_STATIC = resources.files("gitgrid.report") / "static"
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}

# How plotly.js and the page's script are carried: packed as base85 (the default), or, for the
# benchmark's comparison of load costs, packed as base64 or plain inline scripts.
Packing = Literal["base85", "base64", "inline"]


def script_json(data: Any) -> str:
    """``data`` as JSON safe inside a ``<script>`` block; NaN and infinities are refused (give None)."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    return text.translate(str.maketrans(_ESCAPES))  # type: ignore[arg-type]


_SCRIPT_BREAKERS = re.compile(r"<!--|<script|</script", re.I)


def _inline(script: str) -> str:
    """``script`` as the text of a ``<script>`` element, which must not hold ``</script``, nor ``<!--``
    followed by ``<script`` (then the browser no longer sees where the element ends)."""
    if _SCRIPT_BREAKERS.search(script):
        raise ReportError(
            "a script of the page holds '<!--', '<script' or '</script': it would break the page"
        )
    return f"<script>{script}</script>\n"


def _digest(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def _scripts(packing: Packing) -> tuple[list[str], str]:
    """The inline scripts (hashed by the policy) and the packed ones, as HTML."""
    if packing == "inline":
        return [plotly_js(), app_script()], ""
    if packing == "base85":
        packed = [packed_plotly().text, pack(app_script()).text]
        encoding = ""
    else:
        packed = [_base64(plotly_js()), _base64(app_script())]
        encoding = " data-encoding=base64"
    blocks = "".join(
        f'<script type="application/x-gitgrid-packed"{encoding}>{text}</script>\n' for text in packed
    )
    return [(_STATIC / "loader.js").read_text()], blocks


def _base64(script: str) -> str:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    return base64.b64encode(deflate.compress(script.encode()) + deflate.flush()).decode()


def render_page(data: dict[str, Any], title: str, packing: Packing = "base85") -> str:
    """The whole page; ``data`` is the report's data, or ``{"live": true, ...}`` for the dashboard."""
    scripts, packed = _scripts(packing)
    style = (_STATIC / "app.css").read_text()
    policy = (
        "default-src 'none'; "
        f"script-src {' '.join(_digest(s) for s in scripts)} 'unsafe-eval'; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'self'; "
        "worker-src blob:; base-uri 'none'; form-action 'none'"
    )
    body = "".join(_inline(s) if packing != "inline" else f"<script>{s}</script>\n" for s in scripts)
    escaped_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n"
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name=viewport content="width=device-width, initial-scale=1">\n'
        f"<title>{escaped_title}</title>\n<style>{style}</style></head>\n<body>\n"
        f'<script type="application/json" id="gitgrid-data">{script_json(data)}</script>\n'
        f"{packed}{body}</body></html>\n"
    )
