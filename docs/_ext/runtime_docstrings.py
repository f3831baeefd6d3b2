"""Griffe extension for the documentation site: docstrings as the reader sees them.

Two adjustments, both made only for the site (the source is not changed):

* The aggregations share one block of parameter descriptions, written once and
  substituted into their docstrings (``{common}``) at import time. Griffe
  reads the source statically and would show the placeholder, so a docstring
  that holds a placeholder is taken from the imported object instead.
* Docstrings cross-reference with Sphinx roles (``:func:`show```), which
  Markdown does not know. They are shown as inline code, as Sphinx would
  print them (``~`` keeps the last component, functions get ``()``).
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import griffe

_MARKERS = ("{common}", "{{", "}}")
_ROLE = re.compile(
    r":(?:py:)?(func|meth|class|attr|data|mod|exc|obj|const):`(~?)([^`]+)`"
)


def _runtime_doc(obj: griffe.Object) -> str | None:
    module = importlib.import_module(obj.module.path)
    target: Any = module
    for part in obj.path[len(obj.module.path) + 1 :].split("."):
        target = getattr(target, part)
    return inspect.getdoc(target)


def _role(match: re.Match[str]) -> str:
    kind, tilde, target = match.groups()
    target = target.strip()
    if "<" in target and target.endswith(">"):  # :func:`title <target>`
        target = target[: target.index("<")].strip()
    name = target.rsplit(".", 1)[-1] if tilde else target
    if kind in ("func", "meth") and not name.endswith(")"):
        name += "()"
    return f"`{name}`"


class RuntimeDocstrings(griffe.Extension):
    """Fill templated docstrings and render Sphinx roles as inline code."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Adjust the docstring of ``obj``, if it has one."""
        doc = obj.docstring
        if doc is None:
            return
        value = doc.value
        if obj.is_function and any(m in value for m in _MARKERS):
            value = _runtime_doc(obj) or value
        value = _ROLE.sub(_role, value)
        # Keep the Docstring object: it carries the parser and its options.
        doc.value = value
