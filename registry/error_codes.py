"""The machine codes of the registry's refusals: one home for each.

A problem document's `code`, and each field error in it or in a batch item,
carries one of these; clients branch on them, so a published value never
changes. The table of what each means and what to do is in
docs/limits-and-errors.md. Codes that DRF names itself (`throttled`,
`not_authenticated`, `parse_error`, `max_value`, …) pass through as DRF names them.
"""

import enum


class ErrorCode(enum.StrEnum):
    # 400: what was sent cannot be used as it is
    INVALID = "invalid"
    BAD_REQUEST = "bad_request"
    TOO_DEEP = "too_deep"
    REPEATED_IN_BATCH = "repeated_in_batch"
    FILTER_REMOVES_TOO_FEW = "filter_removes_too_few"  # analysts: registry.complements
    # 403, 404, 409, 412: the request meets the registry's state
    PERMISSION_DENIED = "permission_denied"
    CSRF_FAILED = "csrf_failed"
    NOT_FOUND = "not_found"
    IDEMPOTENCY_KEY_IN_FLIGHT = "idempotency_key_in_flight"
    REVIEW_TRANSITION_REFUSED = "review_transition_refused"
    STALE_VERSION = "stale_version"
    # 410: a release retired by a curator (the problem names its successor)
    RELEASE_RETIRED = "release_retired"
    # 413, 414, 415, 422, 429: sizes, formats and limits
    TOO_LARGE = "too_large"
    BATCH_TOO_LARGE = "batch_too_large"
    URI_TOO_LONG = "uri_too_long"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    TOO_MANY_LOGIN_FAILURES = "too_many_login_failures"
    TOO_MANY_TOKEN_FAILURES = "too_many_token_failures"
    # 500, 503: the registry's side
    SERVER_ERROR = "server_error"
    DATABASE_UNAVAILABLE = "database_unavailable"
    STATEMENT_TIMEOUT = "statement_timeout"
    REQUEST_BUDGET_EXCEEDED = "request_budget_exceeded"
    STATISTICS_BUSY = "statistics_busy"
    DATABASE_READ_ONLY = "database_read_only"
    CACHE_UNAVAILABLE = "cache_unavailable"
