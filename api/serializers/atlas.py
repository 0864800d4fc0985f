"""The atlas's documents: published cases with their citation, and similar-case answers."""

from rest_framework import serializers

from api.serializers.base import StrictFieldsMixin
from api.serializers.clinical_stats import SiteProfileSerializer
from registry.access import PUBLISHED_AGE_BANDS
from registry.models import Her2Ihc, Her2Ish, Misdiagnosis, Presentation, Sex


class CitationSerializer(serializers.Serializer):
    title = serializers.CharField()
    journal = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    authors = serializers.ListField(child=serializers.CharField())
    doi = serializers.CharField(help_text="Empty when the report has none")
    pmid = serializers.CharField(help_text="Empty when the report has none")
    url = serializers.CharField(help_text="https://doi.org/... or the PubMed page")


class AtlasMetastasisSerializer(serializers.Serializer):
    site = serializers.CharField(source="site_id")
    site_title = serializers.CharField(source="site.title")
    site_group = serializers.CharField(source="site.site_group")
    months_from_primary = serializers.IntegerField(allow_null=True)
    presentation = serializers.CharField()
    size_mm = serializers.IntegerField(allow_null=True)
    misdiagnosis = serializers.CharField()
    misdiagnosis_text = serializers.CharField()
    confirmed_by = serializers.ListField(child=serializers.CharField())


class AtlasTreatmentSerializer(serializers.Serializer):
    modality = serializers.CharField()
    target = serializers.CharField()
    months_from_primary = serializers.IntegerField(allow_null=True)
    response = serializers.CharField()


class AtlasCaseSerializer(serializers.Serializer):
    """A published case: its coded facts and the report it comes from."""

    uuid = serializers.UUIDField()
    doi = serializers.CharField()
    pmid = serializers.CharField()
    status = serializers.CharField(help_text="Always verified for everyone but curators")
    sex = serializers.CharField()
    age_at_diagnosis = serializers.IntegerField(allow_null=True)
    year_of_diagnosis = serializers.IntegerField(allow_null=True)
    primary_site = serializers.CharField(source="primary_site_id")
    primary_site_title = serializers.CharField(source="primary_site.title")
    primary_morphology = serializers.CharField(source="primary_morphology_id")
    primary_morphology_title = serializers.CharField(source="primary_morphology.title")
    subtype = serializers.CharField(source="subtype_id", allow_null=True)
    er_percent = serializers.IntegerField(allow_null=True)
    pr_percent = serializers.IntegerField(allow_null=True)
    her2_ihc = serializers.CharField()
    her2_ish = serializers.CharField()
    vital_status = serializers.CharField()
    follow_up_months = serializers.IntegerField(allow_null=True)
    metastases = AtlasMetastasisSerializer(many=True)
    treatments = AtlasTreatmentSerializer(many=True)
    citation = serializers.SerializerMethodField()

    def get_citation(self, case) -> CitationSerializer(allow_null=True):  # type: ignore[valid-type]
        citation = self.context.get("citations", {}).get(case.pk)
        return None if citation is None else CitationSerializer(citation).data


class SimilarQuerySerializer(StrictFieldsMixin, serializers.Serializer):
    """A partial case: every field optional, at least one given."""

    primary = serializers.RegexField(
        r"^C[0-9]{2}(\.[0-9])?$", required=False, help_text="C50.9, or a category: C50"
    )
    morphology = serializers.RegexField(r"^[0-9]{4}/[0-9]$", required=False)
    subtype = serializers.RegexField(r"^[a-z0-9_]{1,40}$", required=False)
    site = serializers.RegexField(
        r"^C[0-9]{2}(\.[0-9])?$", required=False, help_text="Metastatic site: C44.4 or C44"
    )
    presentation = serializers.ChoiceField(Presentation.choices, required=False)
    misdiagnosis = serializers.ChoiceField(Misdiagnosis.choices, required=False)
    months = serializers.IntegerField(min_value=0, max_value=1200, required=False)
    sex = serializers.ChoiceField(Sex.choices, required=False)
    age_band = serializers.ChoiceField(sorted(PUBLISHED_AGE_BANDS), required=False)
    er_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    pr_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    her2_ihc = serializers.ChoiceField(Her2Ihc.choices, required=False)
    her2_ish = serializers.ChoiceField(Her2Ish.choices, required=False)
    text = serializers.CharField(
        max_length=200,
        required=False,
        help_text="Words in the reports' free text (PostgreSQL full-text, websearch syntax)",
    )
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)

    def validate(self, attrs):
        if not set(attrs) - {"limit"}:
            raise serializers.ValidationError("Give at least one fact of the case.")
        return attrs


class SimilarMatchSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="Points earned over the points the query could earn")
    reasons = serializers.ListField(child=serializers.CharField())
    case = AtlasCaseSerializer()


class SimilarAnswerSerializer(serializers.Serializer):
    scoring = serializers.CharField(help_text="How the score is made (docs/atlas.md)")
    literature = SimilarMatchSerializer(many=True, help_text="Published cases, best first")
    registry = SimilarMatchSerializer(
        many=True,
        allow_null=True,
        help_text="Registry cases, best first: curators only (null for everyone else)",
    )
    profile = SiteProfileSerializer(
        allow_null=True,
        help_text="The protected profile of the primary and site given (null without both)",
    )
