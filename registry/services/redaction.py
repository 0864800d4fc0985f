"""Redaction: removing identifying text that slipped through, from a case and all its copies.

The identifier screen refuses what it recognises; what it misses (a name in a
misdiagnosis note, a record number used as `local_id`) is removed here by a
curator. The value goes from every place the registry wrote it: the case and its
metastases, every history row of them, the stored replies of idempotent requests
and the admin's log entries. What remains is a mark (`[redacted]`, or
`redacted-<uuid>` for a key, which must stay unique) and a `Redaction` record:
who, when, which fields, never the old value.

Deleting a case redacts the same fields of its history, so a deleted case leaves
its coded record and who deleted it, but none of its free text or its key.
"""

import json
import uuid

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q

from registry.case_keys import local_id_key
from registry.deidentification import find_identifier
from registry.models import (
    Case,
    IdempotencyRecord,
    Metastasis,
    RedactedField,
    Redaction,
    Role,
    User,
)

REDACTED_TEXT = "[redacted]"
DELETED_CASE_REASON = "case deleted"

# Where each redactable field is stored: (model, the column holding the case id).
_STORED_IN = {
    RedactedField.LOCAL_ID: ((Case, "pk"), (Case.history.model, "id")),
    RedactedField.REJECTION_REASON: ((Case, "pk"), (Case.history.model, "id")),
    RedactedField.MISDIAGNOSIS_TEXT: (
        (Metastasis, "case_id"),
        (Metastasis.history.model, "case_id"),
    ),
}


def redacted_local_id(case_uuid: uuid.UUID) -> str:
    """The key a redacted case keeps: unique, and derived from nothing but its public UUID."""
    return f"redacted-{case_uuid.hex}"


@transaction.atomic
def case_redact(*, case: Case, fields: list[str], reason: str = "", actor: User) -> Case:
    """Redact `fields` from the case and every copy of them; record who, when and which."""
    if actor is None or not actor.is_curator:
        raise PermissionDenied("Only curators redact cases.")
    fields = _checked_fields(fields)
    reason = _checked_reason(reason)
    stored = Case.objects.select_for_update().get(pk=case.pk)
    rewritten = redact_stored_text(case_id=stored.pk, case_uuid=stored.uuid, fields=fields)
    stored.refresh_from_db()
    stored.version += 1
    stored._history_user = actor
    stored._change_reason = f"Redacted: {', '.join(fields)}"
    stored.save(update_fields=["version", "updated_at"])
    Redaction.objects.create(
        case=stored,
        case_uuid=stored.uuid,
        fields=fields,
        reason=reason,
        redacted_by=actor,
        rows_rewritten=rewritten,
    )
    return stored


def redact_deleted_case(*, case_id: int, case_uuid: uuid.UUID, actor: User | None) -> None:
    """After a case is deleted: its history keeps the coded record, not its text or key."""
    fields = list(RedactedField.values)
    rewritten = redact_stored_text(case_id=case_id, case_uuid=case_uuid, fields=fields)
    Redaction.objects.create(
        case=None,
        case_uuid=case_uuid,
        fields=fields,
        reason=DELETED_CASE_REASON,
        redacted_by=actor,
        rows_rewritten=rewritten,
    )


def redact_stored_text(*, case_id: int, case_uuid: uuid.UUID, fields: list[str]) -> int:
    """Overwrite the fields wherever the case's values are stored; the number of rows changed.

    Whole values are replaced in the case, its metastases and their history rows;
    the old values are then looked for in the copies that embed them (stored
    idempotent replies, admin log entries) and replaced there too.
    """
    replacements: dict[str, str] = {}
    rewritten = 0
    for name in fields:
        new_value = redacted_local_id(case_uuid) if name == RedactedField.LOCAL_ID else None
        for model, case_column in _STORED_IN[name]:
            rows = model._base_manager.filter(**{case_column: case_id}).exclude(**{name: ""})
            if new_value is None:
                rows = rows.exclude(**{name: REDACTED_TEXT})
            else:
                rows = rows.exclude(**{name: new_value})
            for old in rows.values_list(name, flat=True).distinct():
                replacements[old] = new_value or REDACTED_TEXT
            values = {name: new_value or REDACTED_TEXT}
            if name == RedactedField.LOCAL_ID:
                # The comparison key is derived from the key and would give it back.
                values["local_id_key"] = local_id_key(new_value)
            rewritten += rows.update(**values)
    if replacements:
        rewritten += _redact_idempotent_replies(case_id, case_uuid, replacements)
    if RedactedField.LOCAL_ID in fields:
        rewritten += _redact_admin_log(case_id, case_uuid)
    return rewritten


# ---------------------------------------------------------------- copies that embed the values


def _redact_idempotent_replies(
    case_id: int, case_uuid: uuid.UUID, replacements: dict[str, str]
) -> int:
    """Replies kept for idempotent replay, whatever they echo the old values in.

    A reply may quote a value anywhere: the case itself, a batch error item
    ("'KQZVW-4471' is repeated"), in another spelling the registry takes as the
    same key (case, width, dashes: registry.case_keys.local_id_key), or with
    JSON's escapes. So every reply that could hold one (those of the case's
    institution's accounts, of curators, and any naming the case) is read as
    JSON and each string compared in that folded form: a string that is an old
    value becomes its replacement, a quote of it is replaced, and any other
    string holding it becomes the redaction mark. Replays then answer that.
    """
    institution_id = (
        Case.history.filter(id=case_id).values_list("institution_id", flat=True).first()
    )
    needles = {local_id_key(old): new for old, new in replacements.items()}
    candidates = IdempotencyRecord.objects.select_for_update().filter(
        Q(user__institution_id=institution_id)
        | Q(user__role=Role.CURATOR)
        | Q(user__is_superuser=True)
        | Q(response_body__contains=str(case_uuid))
    )
    changed = 0
    for record in candidates.iterator():
        body = _replaced(json.loads(record.response_body), replacements, needles)
        text = json.dumps(body, cls=DjangoJSONEncoder)
        if text != record.response_body:
            record.response_body = text
            record.save(update_fields=["response_body"])
            changed += 1
    return changed


# Shorter folded values are only replaced as whole values or quotes, not found inside words.
_MIN_FOUND_INSIDE = 4


def _replaced(value, replacements: dict[str, str], needles: dict[str, str]):
    if isinstance(value, dict):
        return {
            _replaced(key, replacements, needles): _replaced(item, replacements, needles)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_replaced(item, replacements, needles) for item in value]
    if not isinstance(value, str):
        return value
    folded = local_id_key(value)
    if folded in needles:
        return needles[folded]
    for old, new in replacements.items():
        value = value.replace(f"'{old}'", f"'{new}'")
    folded = local_id_key(value)
    if any(len(needle) >= _MIN_FOUND_INSIDE and needle in folded for needle in needles):
        return REDACTED_TEXT
    return value


def _redact_admin_log(case_id: int, case_uuid: uuid.UUID) -> int:
    """The admin log names a case by `str(case)`, which holds its key."""
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Case), object_id=str(case_id)
    )
    changed = 0
    for entry in entries:
        institution, _, _ = entry.object_repr.partition("/")
        entry.object_repr = f"{institution}/{redacted_local_id(case_uuid)}"
        entry.save(update_fields=["object_repr"])
        changed += 1
    return changed


# ---------------------------------------------------------------- input


def _checked_fields(fields: list[str]) -> list[str]:
    fields = list(dict.fromkeys(fields))
    if not fields:
        raise ValidationError({"fields": ["Name the fields to redact."]})
    unknown = [name for name in fields if name not in RedactedField.values]
    if unknown:
        raise ValidationError(
            {
                "fields": [
                    f"Cannot redact {', '.join(map(repr, unknown))}; redactable fields: "
                    f"{', '.join(RedactedField.values)}."
                ]
            }
        )
    return fields


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    kind = find_identifier(reason)
    if kind:
        raise ValidationError(
            {"reason": [f"This text seems to contain {kind}; say why without the value."]}
        )
    return reason
