"""`loopkit_privacy.audit` imports without hypothesis; its strategies say how to get it."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
sys.modules["hypothesis"] = None  # as if it were not installed
import loopkit_privacy.audit as audit
assert callable(audit.assert_dp)
try:
    import loopkit_privacy.audit.strategies
except ImportError as err:
    import loopkit_privacy as lp
    assert isinstance(err, lp.OptionalDependencyError), type(err)
    assert "pip install hypothesis" in str(err), str(err)
    print("ok")
"""


def test_audit_imports_without_hypothesis():
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ok", out.stderr
