"""ONNX's own operator conformance cases through the importer and the reference
evaluator: every case whose ops Kiln claims passes (or is a listed known failure with
its reason), and every other case is rejected with a clear "unsupported" message."""

from __future__ import annotations

import conformance


def test_conformance_reference_evaluator(kiln):
    results = conformance.run_all(kiln, mode="eval")
    table, problems = conformance.report(results)
    print(table)
    assert not problems, "\n".join(problems[:60]) + (f"\n... and {len(problems) - 60} more" if len(problems) > 60 else "")
