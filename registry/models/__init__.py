"""Domain models, one module per concept; import them from here."""

from registry.models.case import Case, Metastasis, Treatment
from registry.models.choices import (
    Behaviour,
    Confirmation,
    DiagnosticSequence,
    FlagCode,
    Grade,
    Her2Ihc,
    Her2Ish,
    Intent,
    Laterality,
    MenopausalStatus,
    Misdiagnosis,
    Modality,
    Presentation,
    ReceptorStatus,
    RedactedField,
    Response,
    ReviewStatus,
    Role,
    Sex,
    Source,
    StageGroup,
    StageSystem,
    TreatmentTarget,
    VitalStatus,
)
from registry.models.counted import COUNTED_CASE_FIELDS, CountedMetastasis
from registry.models.flags import CaseFlag
from registry.models.idempotency import IdempotencyRecord, IdempotencyState
from registry.models.institution import Institution, User
from registry.models.redaction import Redaction
from registry.models.token import ApiToken
from registry.models.vocabulary import (
    Morphology,
    Subtype,
    Topography,
    VocabularyRelease,
)

__all__ = [
    "COUNTED_CASE_FIELDS",
    "ApiToken",
    "Behaviour",
    "Case",
    "CaseFlag",
    "Confirmation",
    "CountedMetastasis",
    "DiagnosticSequence",
    "FlagCode",
    "Grade",
    "Her2Ihc",
    "Her2Ish",
    "IdempotencyRecord",
    "IdempotencyState",
    "Institution",
    "Intent",
    "Laterality",
    "MenopausalStatus",
    "Metastasis",
    "Misdiagnosis",
    "Modality",
    "Morphology",
    "Presentation",
    "ReceptorStatus",
    "RedactedField",
    "Redaction",
    "Response",
    "ReviewStatus",
    "Role",
    "Sex",
    "Source",
    "StageGroup",
    "StageSystem",
    "Subtype",
    "Topography",
    "Treatment",
    "TreatmentTarget",
    "User",
    "VitalStatus",
    "VocabularyRelease",
]
