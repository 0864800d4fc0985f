"""The case as JSON: codes as strings, titles alongside, children nested.

Serializers check the shape of the JSON (types, choices, lengths); the
registry's rules (codes exist, behaviour, sites, subtypes, identifiers) are the
domain's validation edits, run by the services for every way in.
"""

from rest_framework import serializers

from api.serializers.base import (
    CodeField,
    LengthFirstListField,
    StrictFieldsMixin,
    SubtypeCodeField,
)
from registry.models import (
    Case,
    CaseFlag,
    Confirmation,
    FlagCode,
    Metastasis,
    RedactedField,
    ReviewStatus,
    Treatment,
)
from registry.models.case import (
    FIRST_YEAR,
    MAX_AGE,
    MAX_METASTASES_PER_CASE,
    MAX_REPORTED_AGE,
    MAX_TREATMENTS_PER_CASE,
)
from registry.payload import CASE_FIELDS, METASTASIS_FIELDS, TREATMENT_FIELDS
from registry.services.case_store import CaseDetails


class MetastasisSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """One metastatic site of the case."""

    site = CodeField(max_length=5, help_text="ICD-O-3 topography code, e.g. C44.4")
    site_title = serializers.CharField(source="site.title", read_only=True)
    site_group = serializers.CharField(source="site.site_group", read_only=True)
    morphology = CodeField(
        max_length=6, required=False, allow_null=True, help_text="ICD-O-3 code with /6, e.g. 8500/6"
    )
    morphology_title = serializers.CharField(
        source="morphology.title", read_only=True, allow_null=True
    )
    confirmed_by = LengthFirstListField(
        child=serializers.ChoiceField(choices=Confirmation.choices),
        required=False,
        max_length=8,
        help_text="histology, ihc, cytology, ct, mri, pet_ct, us, clinical",
    )

    class Meta:
        model = Metastasis
        fields = [*METASTASIS_FIELDS, "site_title", "site_group", "morphology_title"]
        # The schema states the domain's bounds (registry.edits), so clients see them.
        extra_kwargs = {"size_mm": {"min_value": 1}}


class MetastasisIndexField(serializers.IntegerField):
    """A treatment's target as its position in the case's `metastases` list."""

    def get_attribute(self, treatment):
        # Set by CaseSerializer, which knows the order of the case's metastases.
        return getattr(treatment, "metastasis_index", None)


class TreatmentSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """One treatment; `metastasis` is the index of its target in `metastases`."""

    metastasis = MetastasisIndexField(
        min_value=0,
        max_value=MAX_METASTASES_PER_CASE - 1,
        required=False,
        allow_null=True,
        help_text="Index in this case's metastases list when target is 'metastasis'.",
    )

    class Meta:
        model = Treatment
        fields = TREATMENT_FIELDS


class CaseFlagSerializer(serializers.ModelSerializer):
    """A soft edit: unusual but possible; the case counts once a curator confirms it."""

    code = serializers.ChoiceField(choices=FlagCode.choices, read_only=True)
    open = serializers.BooleanField(
        source="is_open", read_only=True, help_text="True until a curator confirms the flag."
    )
    confirmed_by = serializers.CharField(
        source="confirmed_by.username",
        read_only=True,
        allow_null=True,
        help_text="The curator who confirmed it; null while open.",
    )

    class Meta:
        model = CaseFlag
        fields = [
            "code",
            "field",
            "message",
            "open",
            "confirmed_by",
            "confirmed_at",
            "confirmation_reason",
        ]
        read_only_fields = fields


class CaseSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A de-identified case with its metastases and treatments."""

    institution = serializers.CharField(
        source="institution.code",
        required=False,
        help_text="Institution code; set by the token for submitters, given by curators.",
    )
    primary_site = CodeField(max_length=5, help_text="ICD-O-3 topography, e.g. C50.9")
    primary_site_title = serializers.CharField(source="primary_site.title", read_only=True)
    primary_morphology = CodeField(max_length=6, help_text="ICD-O-3 morphology, e.g. 8500/3")
    primary_morphology_title = serializers.CharField(
        source="primary_morphology.title", read_only=True
    )
    subtype = SubtypeCodeField(
        max_length=40,
        required=False,
        allow_null=True,
        help_text="Subtype code; derived from the receptors when left out. Null means unknown.",
    )
    subtype_title = serializers.CharField(source="subtype.title", read_only=True, allow_null=True)
    age_at_diagnosis = serializers.IntegerField(
        min_value=0,
        max_value=MAX_REPORTED_AGE,
        required=False,
        allow_null=True,
        help_text=f"Years; ages over {MAX_AGE - 1} are stored as {MAX_AGE}.",
    )
    metastases = MetastasisSerializer(many=True, min_length=1, max_length=MAX_METASTASES_PER_CASE)
    treatments = TreatmentSerializer(many=True, required=False, max_length=MAX_TREATMENTS_PER_CASE)
    flags = CaseFlagSerializer(
        many=True,
        read_only=True,
        help_text=(
            "Soft edits the case raises: stored, but counted in statistics only once a "
            "curator confirms every flag."
        ),
    )

    class Meta:
        model = Case
        fields = [
            "uuid",
            "local_id",
            "institution",
            "status",
            "rejection_reason",
            "version",
            *CASE_FIELDS,
            "primary_site_title",
            "primary_morphology_title",
            "subtype_title",
            "metastases",
            "treatments",
            "flags",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "uuid",
            "status",
            "rejection_reason",
            "version",
            "created_at",
            "updated_at",
        ]
        # The (institution, local_id) uniqueness is the service's to report, per institution.
        validators = []
        # The schema states the domain's bounds (registry.edits), so clients see them.
        extra_kwargs = {
            "er_percent": {"min_value": 0, "max_value": 100},
            "pr_percent": {"min_value": 0, "max_value": 100},
            "ki67_percent": {"min_value": 0, "max_value": 100},
            "year_of_diagnosis": {"min_value": FIRST_YEAR},
        }

    def get_fields(self):
        fields = super().get_fields()
        # An update addresses the case by URL; its local_id may be left out.
        fields["local_id"].required = self.instance is None
        return fields

    def to_representation(self, case):
        # `case` is a Case with its children prefetched, or the CaseDetails a write
        # handed back (registry.services.case_store), which holds them as tuples.
        metastases, treatments = case.metastases, case.treatments
        if not isinstance(case, CaseDetails):
            metastases, treatments = metastases.all(), treatments.all()
        position = {m.pk: index for index, m in enumerate(metastases)}
        for treatment in treatments:
            treatment.metastasis_index = position.get(treatment.metastasis_id)
        return super().to_representation(case)

    def payload(self) -> dict:
        """The validated JSON as a registry case payload (codes as strings)."""
        return case_payload_of(self.validated_data)


class CaseReplaceSerializer(CaseSerializer):
    """The body of a PUT: the URL names the case, so `local_id` may be left out."""

    def get_fields(self):
        fields = super().get_fields()
        fields["local_id"].required = False
        return fields


def case_payload_of(validated) -> dict:
    """Validated case JSON (one request or one batch item) as a registry case payload."""
    data = dict(validated)
    data.pop("institution", None)
    data.pop("local_id", None)
    if "metastases" in data:
        data["metastases"] = [dict(item) for item in data["metastases"]]
    if "treatments" in data:
        data["treatments"] = [dict(item) for item in data["treatments"]]
    return data


class CaseReviewSerializer(StrictFieldsMixin, serializers.Serializer):
    """A curator's review decision."""

    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def _codes(choices, help_text: str, **kwargs) -> serializers.ListField:
    """One or more of a closed set of codes (at most as many as there are)."""
    return LengthFirstListField(
        child=serializers.ChoiceField(choices=choices.choices),
        min_length=1,
        max_length=len(choices.choices),
        help_text=help_text,
        **kwargs,
    )


class CaseOverrideSerializer(StrictFieldsMixin, serializers.Serializer):
    """A curator's confirmation of open flags (an over-ride), with the reason."""

    flags = _codes(
        FlagCode,
        "Codes of the open flags to confirm, e.g. ['age_site_morphology'].",
        source="codes",  # case_confirm_flags(codes=...)
    )
    reason = serializers.CharField(
        max_length=2000,
        help_text="Why the unusual combination is right (no identifiers); kept with the flag.",
    )


class CaseRedactionSerializer(StrictFieldsMixin, serializers.Serializer):
    """Stored text to redact from the case and every history row of it."""

    fields = _codes(
        RedactedField, "local_id, rejection_reason and/or misdiagnosis_text (all metastases)."
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Why (no identifiers; never the removed value).",
    )
