"""The case form: the API's case JSON as inputs, with metastases and treatments as rows.

Inputs are named after the JSON (`primary_site`, `metastases-0-site`) and read off
the API's serializer, so the form offers what the API accepts (choices, bounds,
lengths) and an error's path (`metastases[0].site`) names its input. A row left
blank is not sent; the rows sent are shown again in order, so paths keep matching.
"""

import re
from dataclasses import dataclass, field

from django.http import QueryDict
from rest_framework import serializers

from api.serializers.base import SubtypeCodeField
from api.serializers.cases import CaseSerializer
from registry.models import Subtype
from registry.models.case import MAX_METASTASES_PER_CASE, MAX_TREATMENTS_PER_CASE
from registry.payload import CASE_FIELDS, METASTASIS_FIELDS, TREATMENT_FIELDS

ROWS = {"metastases": METASTASIS_FIELDS, "treatments": TREATMENT_FIELDS}
ROW_NAMES = {"metastases": "Metastasis", "treatments": "Treatment"}
ROW_LIMITS = {"metastases": MAX_METASTASES_PER_CASE, "treatments": MAX_TREATMENTS_PER_CASE}
# Hospital records are hospital cases; literature reports come through the atlas.
NOT_ON_THE_FORM = {"source", "doi", "pmid"}


@dataclass
class Input:
    """One input of the form: its name, what it is, its value and the API's errors for it."""

    name: str
    label: str
    kind: str  # text, number, select, checkboxes
    help: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: object = ""
    errors: list[str] = field(default_factory=list)
    bounds: dict = field(default_factory=dict)

    def selected(self) -> set[str]:
        values = self.value if isinstance(self.value, list | tuple) else [self.value]
        return {"" if v is None else str(v) for v in values}


@dataclass
class Row:
    number: int  # from 1, as a person counts
    inputs: list[Input]


@dataclass
class CaseForm:
    """What the template draws: the case's inputs, its rows, and errors no input owns."""

    case_inputs: list[Input]
    rows: dict[str, list[Row]]
    general_errors: list[str]

    def row_labels(self):
        return ROW_NAMES


def _serializer_fields(part: str | None):
    fields = CaseSerializer().fields
    return fields if part is None else fields[part].child.fields


# Labels a person reads; the rest are the field's name in words.
LABELS = {
    "er_percent": "ER %",
    "pr_percent": "PR %",
    "her2_ihc": "HER2 IHC",
    "her2_ish": "HER2 ISH",
    "ki67_percent": "Ki-67 %",
    "size_mm": "Size (mm)",
    "site": "Site (ICD-O-3)",
    "morphology": "Morphology (ICD-O-3, /6)",
    "metastasis": "Metastasis row",
}
HELP = {
    "metastasis": "The number of the metastasis treated (1 for the first), if the target is one."
}


def _input(name: str, api_field: serializers.Field, value, errors, *, field_name=None) -> Input:
    field_name = field_name or name
    label = LABELS.get(field_name, field_name.replace("_", " ").capitalize())
    help_text = HELP.get(field_name, str(api_field.help_text or ""))
    if isinstance(api_field, SubtypeCodeField):
        choices = [("", "Derive from the receptors, or unknown")] + [
            (s.code, f"{s.title} ({s.family})") for s in Subtype.objects.order_by("family", "title")
        ]
        return Input(name, label, "select", help_text, choices, value, errors)
    if isinstance(api_field, serializers.ListField):
        choices = list(api_field.child.choices.items())
        return Input(name, label, "checkboxes", help_text, choices, value or [], errors)
    if isinstance(api_field, serializers.ChoiceField):
        choices = [("", "—")] + [(str(k), str(v)) for k, v in api_field.choices.items()]
        return Input(name, label, "select", help_text, choices, value, errors)
    if isinstance(api_field, serializers.IntegerField):
        bounds = {"min": api_field.min_value, "max": api_field.max_value}
        bounds = {k: v for k, v in bounds.items() if v is not None}
        return Input(name, label, "number", help_text, value=value, errors=errors, bounds=bounds)
    bounds = {"maxlength": api_field.max_length} if getattr(api_field, "max_length", None) else {}
    return Input(name, label, "text", help_text, value=value, errors=errors, bounds=bounds)


def case_form(case_json: dict, errors: list[dict], extra_rows: dict[str, int]) -> CaseForm:
    """The form for a case as JSON (the API's answer, or what was sent), with its errors."""
    by_path: dict[str | None, list[str]] = {}
    for error in errors:
        by_path.setdefault(error["field"], []).append(error["message"])
    api_fields = _serializer_fields(None)
    case_inputs = [
        _input(name, api_fields[name], case_json.get(name, ""), by_path.pop(name, []))
        for name in CASE_FIELDS
        if name not in NOT_ON_THE_FORM
    ]
    rows = {}
    for part, names in ROWS.items():
        child_fields = _serializer_fields(part)
        items = list(case_json.get(part) or []) + [{}] * extra_rows.get(part, 0)
        rows[part] = []
        for index, item in enumerate(items):
            inputs = []
            for name in names:
                value = item.get(name, "")
                if part == "treatments" and name == "metastasis" and isinstance(value, int):
                    value += 1  # the form counts rows from 1
                path = f"{part}[{index}].{name}"
                errors_here = by_path.pop(path, [])
                input_name = f"{part}-{index}-{name}"
                inputs.append(
                    _input(input_name, child_fields[name], value, errors_here, field_name=name)
                )
            rows[part].append(Row(index + 1, inputs))
            # An error about the whole row (e.g. a treatment's target) stays with the row.
            row_errors = by_path.pop(f"{part}[{index}]", [])
            if row_errors:
                inputs[0].errors += row_errors
    general = [
        f"{path}: {message}" if path else message
        for path, messages in by_path.items()
        for message in messages
    ]
    return CaseForm(case_inputs, rows, general)


def typed(part: str | None, name: str, value: str):
    """A typed-in value as JSON: a whole number for an integer field, else the text as typed,
    for the API to judge (it names what is wrong: "Expected an integer, got a string.")."""
    api_field = _serializer_fields(part).get(name)
    if isinstance(api_field, serializers.IntegerField) and re.fullmatch(r"-?[0-9]{1,9}", value):
        return int(value)
    return value


def case_json_from(post: QueryDict, *, removed: str = "") -> dict:
    """The API's case JSON from the posted form: blank inputs and blank rows left out, and
    the row `removed` names (`metastases-1`) too."""
    data: dict = {}
    local_id = post.get("local_id", "").strip()
    if local_id:
        data["local_id"] = local_id
    for name in CASE_FIELDS:
        value = post.get(name, "").strip()
        if name not in NOT_ON_THE_FORM and value:
            data[name] = typed(None, name, value)
    for part, names in ROWS.items():
        items = []
        for index in range(_count(post, part)):
            if removed == f"{part}-{index}":
                continue
            item = {}
            for name in names:
                if name == "confirmed_by":
                    values = [v for v in post.getlist(f"{part}-{index}-{name}") if v]
                    if values:
                        item[name] = values
                    continue
                value = post.get(f"{part}-{index}-{name}", "").strip()
                if value.isdigit() and part == "treatments" and name == "metastasis":
                    value = str(int(value) - 1)  # row 1 is index 0; "0" becomes -1: no row
                if value != "":
                    item[name] = typed(part, name, value)
            if item:
                items.append(item)
        if items or part == "metastases":
            data[part] = items
    return data


def _count(post: QueryDict, part: str) -> int:
    value = post.get(f"{part}-rows", "0")
    # One past the API's limit at most: enough for its message, never a loop without end.
    return min(int(value), ROW_LIMITS[part] + 1) if value.isdigit() else 0
