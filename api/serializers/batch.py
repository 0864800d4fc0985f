"""Batch submission as JSON: up to 1,000 cases in, one result per case out, in order."""

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from api.problems import field_errors
from api.serializers.base import ProblemFieldErrorSerializer, StrictFieldsMixin
from api.serializers.cases import CaseSerializer, case_payload_of
from registry.models import FlagCode, Institution
from registry.services.batch import MAX_BATCH_SIZE, BatchItem, FieldError

BATCH_RESULTS = ["created", "updated", "unchanged", "error"]


class BatchCasesField(serializers.ListField):
    """The cases as sent; each is validated on its own, so one bad case is one error item."""

    def __init__(self, **kwargs):
        super().__init__(
            child=CaseSerializer(), allow_empty=False, max_length=MAX_BATCH_SIZE, **kwargs
        )

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("empty")
        return data


def batch_item_of(reader: CaseSerializer, raw, institution: Institution) -> BatchItem:
    """One case of a batch (JSON, or the rows of a CSV import), read on its own: its
    errors become its result, so one bad case never stops the others."""
    try:
        validated = reader.run_validation(raw)
    except ValidationError as invalid:
        local_id = raw.get("local_id") if isinstance(raw, dict) else None
        return BatchItem(
            local_id if isinstance(local_id, str) else None,
            {},
            tuple(FieldError(**error) for error in field_errors(invalid.detail)),
        )
    code = validated.get("institution", {}).get("code")
    if code is not None and code != institution.code:
        message = f"Every case of this batch belongs to institution '{institution.code}'."
        return BatchItem(validated["local_id"], {}, (FieldError("institution", message),))
    return BatchItem(validated["local_id"], case_payload_of(validated))


class CaseBatchSerializer(StrictFieldsMixin, serializers.Serializer):
    """Up to 1,000 cases keyed by their `local_id`; curators name the institution."""

    institution = serializers.CharField(
        required=False,
        max_length=32,
        help_text="Institution code of every case; submitters may leave it out, curators give it.",
    )
    cases = BatchCasesField(
        help_text=(
            "Cases as for POST /cases/, each with its local_id. A local_id may appear once; "
            "a later repeat is an error item. More than 1,000 cases, or more than 6,000 "
            "metastases and treatments together: 413."
        )
    )


class BatchItemFlagSerializer(serializers.Serializer):
    """A soft edit the stored case raises (see the case's `flags`)."""

    code = serializers.ChoiceField(choices=FlagCode.choices)
    field = serializers.CharField()
    message = serializers.CharField()
    open = serializers.BooleanField(source="is_open")


class BatchItemResultSerializer(serializers.Serializer):
    """What became of one case of the batch."""

    index = serializers.IntegerField(help_text="Position of the case in the request, from 0.")
    local_id = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(
        choices=BATCH_RESULTS,
        help_text="created, updated, unchanged (nothing written) or error (nothing written).",
    )
    uuid = serializers.UUIDField(
        source="case.uuid", allow_null=True, help_text="The stored case; null for an error."
    )
    version = serializers.IntegerField(
        source="case.version", allow_null=True, help_text="Its version (ETag v<version>)."
    )
    errors = ProblemFieldErrorSerializer(
        many=True, help_text="Why the case was refused, by field path; empty unless error."
    )
    flags = BatchItemFlagSerializer(
        many=True,
        help_text=(
            "Soft edits of the stored case: accepted, counted once a curator confirms them."
        ),
    )


class BatchSummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    error = serializers.IntegerField()


class CaseBatchResultSerializer(serializers.Serializer):
    """One result per case, in request order, and how many of each kind."""

    summary = BatchSummarySerializer()
    results = BatchItemResultSerializer(many=True)

    @classmethod
    def of(cls, results) -> dict:
        summary = dict.fromkeys(BATCH_RESULTS, 0)
        for item in results:
            summary[item.result] += 1
        return cls({"summary": summary, "results": results}).data
