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
            mistyped = {
                name: [f"Expected {expected}, got {_json_type(value)}."]
                for name, value in data.items()
                if value is not None and (expected := json_type_mismatch(fields[name], value))
            }
            if mistyped:
                # Reported with every other field's errors, in place of DRF's own for it.
                try:
                    super().to_internal_value(data)
                except serializers.ValidationError as invalid:
                    others = invalid.detail if isinstance(invalid.detail, dict) else {}
                    raise serializers.ValidationError({**others, **mistyped}) from None
                raise serializers.ValidationError(mistyped)
        return super().to_internal_value(data)


def json_type_mismatch(field, value) -> str | None:
    """The JSON type `field` takes if `value` is not of it (DRF would coerce 0 to "0")."""
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "a boolean"
    if isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "an integer"
    if isinstance(field, serializers.ChoiceField):
        if all(isinstance(choice, str) for choice in field.choices):
            return None if isinstance(value, str) else "a string"
        return None
    if isinstance(field, serializers.CharField):
        return None if isinstance(value, str) else "a string"
    return None


def _json_type(value) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return names.get(type(value), "a list" if isinstance(value, list) else "an object")


class LengthFirstListField(serializers.ListField):
    """A list refused at its maximum length before any item is validated.

    DRF's ListField validates every item and checks max_length afterwards (a
    validator), so 300,000 invalid items cost 24 s and a 33 MB answer before
    "too long" was said.
    """

    def to_internal_value(self, data):
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            raise serializers.ValidationError(
                f"Give at most {self.max_length} items (got {len(data)}).", code="max_length"
            )
        return super().to_internal_value(data)


class CodeField(serializers.CharField):
    """A coded relation given and returned as its code ("C44.4"), read from `<name>_id`."""

    def get_attribute(self, instance):
        return getattr(instance, f"{self.source}_id")


class SubtypeCodeField(CodeField):
    """A subtype code; the schema lists the subtypes loaded in this registry as an enum."""


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
    errors = ProblemFieldErrorSerializer(
        many=True, required=False, help_text="At most 100 field errors (MAX_PROBLEM_ERRORS)"
    )
    errors_omitted = serializers.IntegerField(
        required=False, help_text="How many further field errors were left out of `errors`"
    )
