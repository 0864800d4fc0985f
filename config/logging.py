"""Log records that say what failed, never the values a client sent.

A database error's message quotes values (`Key (local_id)=(...) already exists`,
the text of a failed statement), and a redaction cannot reach a log file. So
exceptions are logged as their type and traceback frames only, and SQL with its
parameters is never logged (django.db.backends stays above DEBUG).
"""

import logging
import traceback


class ValueFreeFormatter(logging.Formatter):
    """Formats an exception as its traceback frames and type, without its message."""

    def formatException(self, ei):
        exc_type, _, tb = ei
        frames = "".join(traceback.format_tb(tb))
        name = f"{exc_type.__module__}.{exc_type.__qualname__}"
        return f"Traceback (most recent call last):\n{frames}{name}"
