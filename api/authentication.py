"""Bearer-token authentication against the hashed tokens of `registry`."""

from rest_framework import authentication, exceptions

from api.throttling import FailedTokenThrottle
from registry.services.tokens import token_authenticate, token_mark_used


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`; unknown, expired and revoked tokens get 401.

    Failed tokens are counted per client address (FailedTokenThrottle): past
    API_FAILED_TOKENS_PER_CLIENT, the client's bearer requests get 429.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        failures = FailedTokenThrottle()
        failures.check(request)  # guessing tokens: a budget of failures per client address
        raw = raw.strip()
        if not raw or " " in raw:
            failures.record_failure()
            raise exceptions.AuthenticationFailed("Malformed bearer token.")
        token = token_authenticate(raw)
        if token is None:
            failures.record_failure()
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        token_mark_used(token)
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="registry"'
