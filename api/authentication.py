"""Bearer-token authentication against the hashed tokens of `registry`."""

from rest_framework import authentication, exceptions

from api.throttling import FailedTokenThrottle
from registry.services.tokens import token_authenticate, token_mark_used


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`; unknown, expired and revoked tokens get 401.

    Failed tokens are counted per client address (FailedTokenThrottle): past
    API_FAILED_TOKENS_PER_CLIENT, the client's failing bearer requests get 429
    instead of 401. A valid token is looked up first and always let in, so junk
    sent from the same address (every client behind one proxy shares it, unless
    NUM_PROXIES names the proxies) never locks a hospital out.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw = raw.strip()
        token = token_authenticate(raw) if raw and " " not in raw else None
        if token is None:
            # Guessing tokens: a budget of failures per client address, spent only by failures.
            FailedTokenThrottle().fail(request)
            if not raw or " " in raw:
                raise exceptions.AuthenticationFailed("Malformed bearer token.")
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        token_mark_used(token)
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="registry"'
