"""`/` and `/api/v1/`: where a newcomer (or the admin's "View site" link) lands.

The landing page says what the registry is and links to everything a person or
a program can open; the API root lists the resources. Neither holds data, so
both answer without signing in.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.csrf import csrf_exempt

from api.problems import problem_response
from api.views.stats import ENDPOINTS
from registry.error_codes import ErrorCode

# (name in the index, URL name, what it is); the order is the reading order.
API_RESOURCES = [
    ("cases", "case-list", "De-identified cases: list, submit, read, update"),
    ("cases/batch", "case-batch", "Up to 1,000 cases in one request, a result per case"),
    ("vocabularies/topography", "topography-list", "ICD-O-3 topography codes"),
    ("vocabularies/morphology", "morphology-list", "ICD-O-3 morphology codes"),
    ("vocabularies/subtypes", "subtype-list", "Molecular subtypes"),
    # Every statistics table and its CSV twin, from the list the URLs are made from.
    *(
        entry
        for endpoint in ENDPOINTS
        for entry in [
            (
                f"stats/{endpoint.route}".rstrip("/"),
                f"stats-{endpoint.name}",
                endpoint.view.summary,
            ),
            *(
                [
                    (
                        f"stats/{endpoint.name}.csv",
                        f"stats-{endpoint.name}-csv",
                        f"The same table as CSV ({endpoint.view.summary[0].lower()}"
                        f"{endpoint.view.summary[1:]})",
                    )
                ]
                if endpoint.csv_view is not None
                else []
            ),
        ]
    ),
    ("fhir/Bundle", "fhir-bundle-list", "FHIR R4 mCODE Bundles in and out"),
    ("atlas", "atlas-list", "Published case reports, row by row, with their citations"),
    ("similar", "similar-cases", "Published cases most like a partial case (POST)"),
]
API_DOCUMENTS = [
    ("schema", "schema", "OpenAPI 3 description of every operation"),
    ("docs", "swagger-ui", "Swagger UI"),
    ("redoc", "redoc", "ReDoc"),
]


def home(request):
    """The landing page: what this is, and links to the API docs, admin, dashboard and probes."""
    return render(request, "home.html", {"resources": _index(request, API_RESOURCES)})


@csrf_exempt  # reads nothing from a session; a CSRF failure page would be HTML
def api_root(request):
    """`/api/v1/`: the resources of version 1 and the documents that describe them."""
    return JsonResponse(
        {
            "name": "Rare-metastasis registry API",
            "version": "1",
            "authentication": "Authorization: Bearer <token> (manage.py issue_token)",
            "resources": _index(request, API_RESOURCES),
            "documentation": _index(request, API_DOCUMENTS),
        }
    )


@csrf_exempt  # any method: the answer is a 404 problem, never Django's HTML CSRF page
def api_not_found(request, unknown=""):
    """Any other URL under /api/: a problem document in every mode, DEBUG included."""
    detail = "No such API resource; GET /api/v1/ lists them."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            detail = f"No such API resource; did you mean {request.path}/ ?"
    return problem_response(404, detail, ErrorCode.NOT_FOUND)


def _index(request, entries) -> list[dict]:
    return [
        {"name": name, "url": request.build_absolute_uri(reverse(url_name)), "description": text}
        for name, url_name, text in entries
    ]
