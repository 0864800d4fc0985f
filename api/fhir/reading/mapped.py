"""What reading a Bundle gives: the case payload, its key, and where each value came from."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError as DjangoValidationError

from api.fhir.outcome import BUSINESS_RULE, Issue
from registry.payload import CasePayload


@dataclass
class MappedCase:
    """The payload for `case_upsert`, its key, and the FHIRPath behind each field."""

    local_id: str
    payload: CasePayload
    sources: dict[str, str]
    notes: list[Issue] = field(default_factory=list)

    def expression_for(self, registry_path: str) -> str:
        """The Bundle element a registry field path came from, or its nearest owner."""
        path = "" if registry_path in ("__all__", "non_field_errors") else registry_path
        while path not in self.sources and path:
            path = path.rpartition(".")[0]
        return self.sources.get(path, "Bundle")

    def issues_for(self, invalid: DjangoValidationError) -> list[Issue]:
        """The registry's validation errors as issues located in the Bundle."""
        by_path = invalid.message_dict if hasattr(invalid, "error_dict") else {"": invalid.messages}
        return [
            Issue(
                BUSINESS_RULE,
                f"{message} (registry field {path})" if path else message,
                self.expression_for(path),
            )
            for path, messages in by_path.items()
            for message in messages
        ]
