"""Small HTML builders for the notebook displays (``_repr_html_``).

Plain strings, every value escaped; no package imports, so any layer may use
them. The markup is self-contained (inline styles only) and readable in
Jupyter's light and dark themes.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["bar", "fmt", "kv_table", "plus_minus", "table", "title"]

_TABLE = 'style="border-collapse:collapse;font-size:0.9em;margin:0.3em 0"'
_CELL = 'style="padding:0.15em 0.6em;text-align:{};border-bottom:1px solid #8884"'


def fmt(value: Any, digits: int = 6) -> str:
    """A number (or anything) as short text: ints exact, floats with ``digits`` significant."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u2009")  # thin-space thousands
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value.is_integer() and abs(value) < 1e15:
            return fmt(int(value))
        return f"{value:.{digits}g}"
    return str(value)


def plus_minus(value: Any, half_width: Any, digits: int = 4) -> str:
    """``value ± half_width`` as escaped text."""
    return html.escape(f"{fmt(value, digits)} ± {fmt(half_width, 3)}")


def title(text: str, note: str | None = None) -> str:
    """A bold heading line with an optional muted note."""
    out = f"<div><b>{html.escape(text)}</b>"
    if note:
        out += f' <span style="opacity:0.7">{html.escape(note)}</span>'
    return out + "</div>"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False
) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are trusted HTML)."""
    head = "".join(
        f"<th {_CELL.format('left')}>{html.escape(str(h))}</th>" for h in headers
    )
    body = []
    for row in rows:
        cells = []
        for cell in row:
            text = str(cell) if raw else html.escape(fmt(cell))
            align = "right" if isinstance(cell, int | float) else "left"
            cells.append(f"<td {_CELL.format(align)}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table {_TABLE}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def kv_table(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column key/value table (values escaped)."""
    rows = "".join(
        f"<tr><th {_CELL.format('left')}>{html.escape(k)}</th>"
        f"<td {_CELL.format('left')}>{html.escape(fmt(v))}</td></tr>"
        for k, v in items
    )
    return f"<table {_TABLE}><tbody>{rows}</tbody></table>"


def bar(fraction: float, label: str) -> str:
    """A horizontal bar filled to ``fraction`` (clipped to [0, 1]) with a label."""
    f = min(max(float(fraction), 0.0), 1.0)
    colour = "#2e7d32" if f < 0.75 else ("#f9a825" if f < 0.95 else "#c62828")
    return (
        '<div style="display:flex;align-items:center;gap:0.5em;margin:0.3em 0">'
        '<div role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        f'aria-valuenow="{100 * f:.1f}" style="width:16em;height:0.9em;'
        'border:1px solid #8888;border-radius:3px;overflow:hidden">'
        f'<div style="width:{100 * f:.1f}%;height:100%;background:{colour}"></div></div>'
        f"<span>{html.escape(label)}</span></div>"
    )
