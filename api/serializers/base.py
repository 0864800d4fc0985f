"""Serializer building blocks shared by the case, vocabulary and stats APIs."""

from rest_framework import serializers


class StrictFieldsMixin:
    """Rejects fields the API does not know, or will not write, instead of dropping them.

    A misspelt field ("metastasis" for "metastases") would otherwise be lost
    data that the integrator believes was stored; a read-only one (`status`,
    `version`) a change the integrator believes was made.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            fields = self.fields
            refused = {
                name: ["Read-only field." if name in fields else "Unknown field."]
                for name in sorted(set(data) - {n for n, f in fields.items() if not f.read_only})
            }
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


class CodeField(serializers.CharField):
    """A coded relation given and returned as its code ("C44.4"), read from `<name>_id`."""

    def get_attribute(self, instance):
        return getattr(instance, f"{self.source}_id")


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Path such as metastases[0].site")
    message = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, the body of every error response."""

    type = serializers.CharField(default="about:blank")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Machine-readable reason, e.g. invalid, not_found")
    errors = ProblemFieldErrorSerializer(many=True, required=False)
