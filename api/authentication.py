"""Bearer-token authentication against the hashed tokens of `registry`."""

import datetime

from django.utils import timezone
from rest_framework import authentication, exceptions

from api.throttling import FailedTokenThrottle
from registry.services.tokens import token_authenticate

# Recording every use would turn each read into a write; a coarse mark is enough.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=5)


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
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            type(token).objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="registry"'
