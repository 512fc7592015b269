"""The one HTML page of the report and the dashboard: plotly.js, the page's own script and style, and
the data, all inline, so a report opens from a single file with no network.

Plotly's JavaScript comes from the ``plotly`` package installed from PyPI (its bundled ``plotly.min.js``),
never from the repository. Untrusted text reaches the page only as JSON in a ``<script
type="application/json">`` block, with ``<``, ``>`` and ``&`` escaped so that no value can end the block,
and the page puts it into the document as text, never as markup. A Content-Security-Policy allows only
the page's own scripts (by their SHA-256), no inline handlers and no network (``'unsafe-eval'`` stays:
without it WebGL plots draw nothing).
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

from gitgrid.errors import ReportError

__all__ = ["render_page", "script_json"]

_STATIC = resources.files("gitgrid.report") / "static"
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(data: Any) -> str:
    """``data`` as JSON safe inside a ``<script>`` block; NaN and infinities are refused (give None)."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    return text.translate(str.maketrans(_ESCAPES))  # type: ignore[arg-type]


@cache
def _plotly() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise ReportError("the report needs plotly: pip install plotly") from None
    return str(get_plotlyjs())


def _digest(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def render_page(data: dict[str, Any], title: str) -> str:
    """The whole page; ``data`` is the report's data, or ``{"live": true, ...}`` for the dashboard."""
    scripts = [_plotly(), (_STATIC / "app.js").read_text()]
    style = (_STATIC / "app.css").read_text()
    policy = (
        "default-src 'none'; "
        f"script-src {' '.join(_digest(s) for s in scripts)} 'unsafe-eval'; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'self'; "
        "worker-src blob:; base-uri 'none'; form-action 'none'"
    )
    body = "".join(f"<script>{s}</script>\n" for s in scripts)
    escaped_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n"
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name=viewport content="width=device-width, initial-scale=1">\n'
        f"<title>{escaped_title}</title>\n<style>{style}</style></head>\n<body>\n"
        f'<script type="application/json" id="gitgrid-data">{script_json(data)}</script>\n'
        f"{body}</body></html>\n"
    )
