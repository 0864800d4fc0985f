"""Domain models, one module per concept; import them from here."""

from registry.models.case import Case, Metastasis, Treatment
from registry.models.choices import (
    Behaviour,
    CitationFormat,
    Confirmation,
    FlagCode,
    Grade,
    Her2Ihc,
    Her2Ish,
    Intent,
    Laterality,
    LinkStatus,
    MenopausalStatus,
    Misdiagnosis,
    Modality,
    Presentation,
    RedactedField,
    Response,
    ReviewStatus,
    Role,
    Sex,
    Source,
    StageGroup,
    TreatmentTarget,
    VitalStatus,
)
from registry.models.counted import COUNTED_CASE_FIELDS, CountedMetastasis
from registry.models.flags import CaseFlag
from registry.models.idempotency import IdempotencyRecord, IdempotencyState
from registry.models.institution import Institution, User
from registry.models.linkage import LinkCandidate
from registry.models.literature import Citation
from registry.models.redaction import Redaction
from registry.models.token import ApiToken
from registry.models.vocabulary import (
    Morphology,
    Subtype,
    Topography,
    VocabularyRelease,
)
from registry.models.withdrawal import CaseWithdrawal

__all__ = [
    "COUNTED_CASE_FIELDS",
    "ApiToken",
    "Behaviour",
    "Case",
    "CaseFlag",
    "CaseWithdrawal",
    "Citation",
    "CitationFormat",
    "Confirmation",
    "CountedMetastasis",
    "FlagCode",
    "Grade",
    "Her2Ihc",
    "Her2Ish",
    "IdempotencyRecord",
    "IdempotencyState",
    "Institution",
    "Intent",
    "Laterality",
    "LinkCandidate",
    "LinkStatus",
    "MenopausalStatus",
    "Metastasis",
    "Misdiagnosis",
    "Modality",
    "Morphology",
    "Presentation",
    "RedactedField",
    "Redaction",
    "Response",
    "ReviewStatus",
    "Role",
    "Sex",
    "Source",
    "StageGroup",
    "Subtype",
    "Topography",
    "Treatment",
    "TreatmentTarget",
    "User",
    "VitalStatus",
    "VocabularyRelease",
]
