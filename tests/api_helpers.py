"""Helpers for API tests: a client carrying a persona's bearer token."""

from rest_framework.test import APIClient

from registry.services.tokens import token_issue


def client_for(user) -> APIClient:
    """An API client authenticated as `user` with a fresh bearer token (None: anonymous)."""
    client = APIClient()
    if user is not None:
        _, raw = token_issue(user=user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client
