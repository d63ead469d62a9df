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


def test_conformance_compiled_plan_on_c_runtime(kiln):
    """The same cases through `kiln compile -O0` and the C runtime. Cases whose ops or
    dtypes the runtime has no kernel for must fail to compile with a clear message
    (counted in the "no-kernel" column); every other claimed case must pass."""
    results = conformance.run_all(kiln, mode="run")
    table, problems = conformance.report(results)
    print(table)
    assert not problems, "\n".join(problems[:60]) + (f"\n... and {len(problems) - 60} more" if len(problems) > 60 else "")
