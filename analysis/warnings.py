"""Warning classes for recoverable numerical and data events.

Events such as a tau2 estimate truncated at zero, an estimator that did not converge or a
study dropped from an analysis are recorded on the result object *and* raised as one of these
warnings, so that neither a reader of the result nor a caller filtering warnings misses them.
"""


class MetaAnalysisWarning(UserWarning):
    """Base class of every warning the ``analysis`` package raises."""


class Tau2TruncatedWarning(MetaAnalysisWarning):
    """A tau2 estimate below zero was set to zero."""


class ConvergenceWarning(MetaAnalysisWarning):
    """An iterative estimator stopped before meeting its convergence criterion."""


class NotPooledWarning(MetaAnalysisWarning):
    """Too few studies to pool (k = 1): the study itself is returned."""


class DataWarning(MetaAnalysisWarning):
    """Input data were usable but something was set aside or assumed; the message says what."""
