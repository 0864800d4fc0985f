"""Batch submission as JSON: up to 1,000 cases in, one result per case out, in order."""

from rest_framework import serializers

from api.serializers.base import ProblemFieldErrorSerializer, StrictFieldsMixin
from api.serializers.cases import CaseSerializer
from registry.models import FlagCode
from registry.services.batch import MAX_BATCH_SIZE

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
