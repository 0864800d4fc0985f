"""Request rates per API token, and failed bearer tokens per client address.

Both count in the default cache, which every worker shares (config.settings,
"shared cache"), so the limits are the configured ones whatever the number of
processes.
"""

from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from registry.error_codes import ErrorCode


class TokenRateThrottle(SimpleRateThrottle):
    """One budget per token, so one runaway integration cannot starve the others."""

    scope = "token"

    def get_cache_key(self, request, view):
        if request.auth is not None and hasattr(request.auth, "pk"):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            # Anonymous requests reach only the schema and its pages (the rest is 401);
            # failed tokens have their own budget (FailedTokenThrottle).
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class FailedTokenThrottle(SimpleRateThrottle):
    """Failed bearer tokens per client address (NUM_PROXIES says which one is the client's).

    Only failures count, and only failures are refused: once a client has spent
    its budget, each further failing token is answered 429 (not 401) until the
    oldest failure leaves the window, while a valid token from the same address
    is served as ever.
    """

    scope = "failed_token"

    def get_cache_key(self, request, view=None):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def fail(self, request) -> None:
        """Count a failed token; 429 (Throttled, with the true wait) once the budget is spent."""
        self.key = self.get_cache_key(request)
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            raise Throttled(
                wait=self.wait(),
                detail="Too many failed bearer tokens from your address; try again later.",
                code=ErrorCode.TOO_MANY_TOKEN_FAILURES,
            )
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
