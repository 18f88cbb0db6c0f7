"""What the lessons' prose claims, checked from outside the lessons.

One module per lesson, ``nbNN.py``, with a list ``CLAIMS`` of ``(sentence, expression)``
pairs: the sentence (or a short quote of it) that the claim guards, and a Python
expression evaluated in the lesson's own kernel after its last cell has run, so it sees
the lesson's variables. ``tests/test_notebook_claims.py`` runs every lesson at both data
sizes (the offline fallback and real MNIST) and fails, naming the sentence, when an
expression is false or raises.

A claim must hold on any machine a student may have, at both sizes: one that sits near
its threshold, or flips with the seed, is rewritten or dropped, not asserted.
"""

from __future__ import annotations

import importlib
from pathlib import Path


def claims_for(notebook: Path) -> list[tuple[str, str]]:
    """The claims of a lesson (``notebooks/0N_name.ipynb`` -> ``tests/claims/nb0N.py``);
    an empty list for a notebook without a claims module (the solved notebooks)."""
    if notebook.parent.name != "notebooks":
        return []
    try:
        module = importlib.import_module(f"{__name__}.nb{notebook.name[:2]}")
    except ModuleNotFoundError:
        return []
    return list(module.CLAIMS)


def claims_cell(claims: list[tuple[str, str]]) -> str:
    """Source of a cell that evaluates every claim in the kernel and prints the results
    as one JSON line tagged ``CLAIMS-JSON``."""
    return (
        "import json as _claims_json\n"
        "_claims_results = {}\n"
        f"for _claims_sentence, _claims_expr in {claims!r}:\n"
        "    try:\n"
        "        _claims_results[_claims_sentence] = bool(eval(_claims_expr))\n"
        "    except Exception as _claims_err:\n"
        "        _claims_results[_claims_sentence] = f'{type(_claims_err).__name__}: {_claims_err}'\n"
        "print('CLAIMS-JSON ' + _claims_json.dumps(_claims_results))\n"
    )
