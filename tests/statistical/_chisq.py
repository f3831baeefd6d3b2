"""Chi-square goodness of fit over binned integer support.

The test lives in the package (the auditor's sampler check uses it too);
this module keeps the name the statistical tests import.
"""

from __future__ import annotations

from loopkit_privacy.audit.checks import chisquare_pvalue

__all__ = ["chisquare_pvalue"]
