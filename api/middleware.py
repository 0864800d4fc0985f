"""Request guards that hold for every endpoint, before any view runs."""

from api.problems import problem_response


class RejectNulInQueryMiddleware:
    """A NUL character in the query string is a 400, not a database error.

    PostgreSQL text cannot hold NUL, so a filter containing one would fail deep in
    the query; refusing it up front keeps "never a 500 for client input".
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in value for values in request.GET.lists() for value in values[1]) or any(
            "\x00" in key for key in request.GET
        ):
            return problem_response(400, "The query string contains a NUL character.", "invalid")
        return self.get_response(request)
