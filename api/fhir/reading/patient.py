"""The Patient: sex, vital status, follow-up, menopausal status; nothing that identifies."""

from api.fhir import codes
from api.fhir.outcome import (
    CODE_INVALID,
    Issue,
    note,
)
from api.fhir.parsing import element_name
from api.fhir.reading.elements import ElementReader, Entry
from registry.models import Sex, VitalStatus

# Patient elements that identify a person; the import reads none of them.
_PATIENT_ELEMENTS_READ = frozenset(
    {"resource_type", "id", "meta", "extension", "gender", "birthDate", "birthDate__ext"}
    | {"deceasedBoolean", "deceasedDateTime", "implicitRules", "language"}
)


class PatientReader(ElementReader):
    """Reads the Patient into the case payload."""

    def _read_patient(self, entry: Entry) -> None:
        patient, path = entry.resource, entry.path
        self.sources.update(
            {
                "sex": f"{path}.gender",
                "age_at_diagnosis": f"{path}.birthDate",
                "menopausal_status": path,
                "vital_status": path,
                "follow_up_months": path,
            }
        )
        if patient.gender is not None:
            if patient.gender in Sex.values:
                self.payload["sex"] = patient.gender
            else:
                self.errors.append(
                    Issue(
                        CODE_INVALID,
                        f"'{patient.gender}' is no administrative gender.",
                        f"{path}.gender",
                    )
                )
        if patient.deceasedBoolean is not None:
            status = VitalStatus.DEAD if patient.deceasedBoolean else VitalStatus.ALIVE
            self._put(self.payload, "", "vital_status", status, f"{path}.deceasedBoolean")
        elif patient.deceasedDateTime is not None:
            self._put(
                self.payload, "", "vital_status", VitalStatus.DEAD, f"{path}.deceasedDateTime"
            )
        menopause = self._extension_value(patient, codes.EXT_MENOPAUSAL_STATUS, path, "valueCode")
        if menopause:
            self._put(self.payload, "", "menopausal_status", *menopause)
        follow_up = self._extension_value(patient, codes.EXT_FOLLOW_UP, path, "valueDuration")
        months = self._duration_months(follow_up) if follow_up else None
        if months:
            self._put(self.payload, "", "follow_up_months", *months)
        for name in sorted(patient.model_fields_set - _PATIENT_ELEMENTS_READ):
            self.notes.append(
                note(
                    "Not stored: the registry keeps no names, identifiers, contact data "
                    "or other personal details.",
                    f"{path}.{element_name(name)}",
                )
            )
        if patient.birthDate is not None:
            self.notes.append(
                note("Used only to derive the age at diagnosis; not stored.", f"{path}.birthDate")
            )
