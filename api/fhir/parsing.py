"""Reading a request body as a FHIR R4 Bundle, validated by fhir.resources.

fhir.resources ships R4B models (FHIR 4.3), which read R4 (4.0.1) JSON for every
resource the exchange uses. Anything that is not JSON, not a Bundle or not valid
FHIR is refused here (HTTP 400), with one issue per problem.
"""

import json
from decimal import Decimal

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from api.fhir.outcome import (
    CODE_INVALID,
    INVALID,
    NOT_SUPPORTED,
    REQUIRED,
    STRUCTURE,
    TOO_COSTLY,
    FhirProblem,
    Issue,
)
from api.parsers import json_loads

ACCEPTED_TYPES = ("collection", "transaction")
BUNDLE_TYPES = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    }
)
# Entries read from one Bundle. One patient's export with years of laboratory results runs
# to a few thousand; more is refused before any entry is validated (that costs ~0.3 ms each).
MAX_BUNDLE_ENTRIES = 5_000


def json_from_text(text: str):
    """The JSON document; FhirProblem(400) naming the line and column of a syntax error.

    Read by the API's one JSON reader (api.parsers.json_loads), so numbers are capped
    in length here as everywhere; decimals keep FHIR's exact values (12.5 % stays
    12.5, not a float near it).
    """
    try:
        return json_loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        message = (
            f"The body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        )
        raise FhirProblem(400, [Issue(STRUCTURE, message)]) from error
    except ValueError as error:  # a number too long, NaN or Infinity
        message = f"The body is not valid JSON: {error}."
        raise FhirProblem(400, [Issue(STRUCTURE, message)]) from error


def read_bundle(document) -> Bundle:
    """A validated Bundle of a type the exchange takes; FhirProblem otherwise."""
    if not isinstance(document, dict):
        raise FhirProblem(400, [Issue(INVALID, "The body must be a JSON object: a FHIR Bundle.")])
    resource_type = document.get("resourceType")
    if resource_type != "Bundle":
        got = f"a {resource_type}" if isinstance(resource_type, str) else "no resourceType"
        raise FhirProblem(400, [Issue(INVALID, f"Expected a FHIR Bundle, got {got}.")])
    entries = document.get("entry")
    if isinstance(entries, list) and len(entries) > MAX_BUNDLE_ENTRIES:
        message = (
            f"The Bundle has {len(entries)} entries; the registry reads at most "
            f"{MAX_BUNDLE_ENTRIES} in one request. Send the patient's cancer resources only."
        )
        raise FhirProblem(413, [Issue(TOO_COSTLY, message, "Bundle.entry")])
    _check_entry_types(document)
    try:
        bundle = Bundle.model_validate(document)
    except ValidationError as invalid:
        raise FhirProblem(400, _validation_issues(invalid)) from invalid
    except Exception as broken:
        # Client input never becomes a 500: fhir.resources raises KeyError and the like
        # for some shapes it cannot read at all, e.g. a contained resource of unknown type.
        reason = f"{type(broken).__name__}: {broken}"
        message = f"Not a FHIR R4 Bundle that fhir.resources can read ({reason})."
        raise FhirProblem(400, [Issue(INVALID, message)]) from broken
    _check_bundle_type(bundle.type)
    return bundle


def _check_entry_types(document: dict) -> None:
    """Every entry's resource names a FHIR resource type (fhir.resources cannot say so itself)."""
    entries = document.get("entry")
    if not isinstance(entries, list):
        return  # the model reports a wrong shape
    issues = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        path = f"Bundle.entry[{index}].resource.resourceType"
        name = resource.get("resourceType")
        if not isinstance(name, str) or not name:
            issues.append(Issue(REQUIRED, "Every resource names its resourceType.", path))
        elif not _is_resource_type(name):
            issues.append(Issue(INVALID, f"'{name}' is not a FHIR R4 resource type.", path))
    if issues:
        raise FhirProblem(400, issues)  # the answer lists 100 (api.fhir.outcome.capped)


def _is_resource_type(name: str) -> bool:
    try:
        model = get_fhir_model_class(name)
    except ValueError:
        return False
    return issubclass(model, Resource)


def _check_bundle_type(kind: str | None) -> None:
    if kind in ACCEPTED_TYPES:
        return
    path = "Bundle.type"
    if kind in BUNDLE_TYPES:
        message = f"A '{kind}' Bundle is not taken; send a collection or transaction Bundle."
        raise FhirProblem(422, [Issue(NOT_SUPPORTED, message, path)])
    raise FhirProblem(400, [Issue(CODE_INVALID, f"'{kind}' is not a Bundle type.", path)])


# ---------------------------------------------------------------- pydantic errors as FHIRPath


def _validation_issues(invalid: ValidationError) -> list[Issue]:
    issues = []
    for error in invalid.errors():
        path = fhir_path(error["loc"])
        code = REQUIRED if error["type"].endswith("missing") else INVALID
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "FHIR R4 has no such element."
        issues.append(Issue(code, message, path))
    return issues


def fhir_path(location: tuple) -> str:
    """A pydantic error location as FHIRPath: ('entry', 2, 'resource', 'birthDate__ext')."""
    path = "Bundle"
    for part in location:
        if part == "root":
            continue  # pydantic's name for a wrapped value, no FHIR element
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{element_name(str(part))}"
    return path


def element_name(field: str) -> str:
    """fhir.resources field names back to FHIR JSON names."""
    if field == "resource_type":
        return "resourceType"
    if field.endswith("__ext"):
        return "_" + field.removesuffix("__ext")
    return field.removesuffix("_fhir")  # class_fhir → class: Python keywords
