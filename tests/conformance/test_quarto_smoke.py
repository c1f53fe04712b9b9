"""The offline renderer against Quarto's own smoke-test documents (issue 10).

Every document of the corpus in ``../shared/quarto-smoke`` (or ``$QUARTO_SMOKE_CORPUS``) is
checked, and rendered offline when the check accepts it, in each subset format its tests name;
Quarto's assertions for that format are evaluated on the output. The promise: no document is
rendered differently (``differ``) and none crashes after the check accepted it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis.publish.render import conformance

ROOT = Path(__file__).resolve().parents[2]
CORPUS = conformance.corpus_root(ROOT)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("conformance")]


@pytest.mark.skipif(CORPUS is None, reason="Quarto smoke corpus not found at ../shared/"
                    "quarto-smoke (set QUARTO_SMOKE_CORPUS to run the conformance suite)")
def test_no_document_is_rendered_differently_or_crashes() -> None:
    assert CORPUS is not None
    workers = int(os.environ.get("CONFORMANCE_WORKERS", "2"))
    outcomes = conformance.run_corpus(CORPUS, workers=workers)
    line = conformance.summary(outcomes)
    print(line)
    failures = [f"{item.status} {item.document} [{item.format}]: {item.detail}"
                for item in outcomes if item.status in ("differ", "crash")]
    assert not failures, line + "\n" + "\n".join(failures)
    refusals = [item for item in outcomes if item.status == "refused"]
    assert all(item.detail.startswith("line ") and "[" in item.detail for item in refusals), \
        "every refusal names the line and the rule"
    assert any(item.status == "pass" for item in outcomes), "nothing was rendered at all"
