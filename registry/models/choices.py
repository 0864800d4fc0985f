"""Closed value sets of the case record.

These are fixed by the registry's data dictionary, not by coding systems that
change between releases; the coded vocabularies (ICD-O-3, subtypes) are tables.
"""

from django.db import models


class Role(models.TextChoices):
    SUBMITTER = "submitter", "Submitter (hospital system)"
    ANALYST = "analyst", "Analyst"
    CURATOR = "curator", "Curator"


class Source(models.TextChoices):
    HOSPITAL = "hospital", "Hospital record"
    LITERATURE = "literature", "Published case report"


class CitationFormat(models.TextChoices):
    PUBMED_XML = "pubmed_xml", "PubMed XML"
    MEDLINE = "medline", "MEDLINE text"
    CROSSREF = "crossref", "Crossref JSON"


class LinkStatus(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    CONFIRMED = "confirmed", "Same patient"
    REJECTED = "rejected", "Different patients"


class ReviewStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class MenopausalStatus(models.TextChoices):
    PREMENOPAUSAL = "premenopausal", "Premenopausal"
    PERIMENOPAUSAL = "perimenopausal", "Perimenopausal"
    POSTMENOPAUSAL = "postmenopausal", "Postmenopausal"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    UNKNOWN = "unknown", "Unknown"


class Laterality(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BILATERAL = "bilateral", "Bilateral"
    MIDLINE = "midline", "Midline"
    NOT_APPLICABLE = "not_applicable", "Not applicable (unpaired site)"
    UNKNOWN = "unknown", "Unknown"


class Grade(models.TextChoices):
    G1 = "G1", "G1 well differentiated"
    G2 = "G2", "G2 moderately differentiated"
    G3 = "G3", "G3 poorly differentiated"
    G4 = "G4", "G4 undifferentiated"
    GX = "GX", "GX grade cannot be assessed"


class StageGroup(models.TextChoices):
    """AJCC anatomic stage groups at primary diagnosis."""

    STAGE_0 = "0", "0"
    I = "I", "I"  # noqa: E741 - the stage is called I
    IA = "IA", "IA"
    IB = "IB", "IB"
    II = "II", "II"
    IIA = "IIA", "IIA"
    IIB = "IIB", "IIB"
    III = "III", "III"
    IIIA = "IIIA", "IIIA"
    IIIB = "IIIB", "IIIB"
    IIIC = "IIIC", "IIIC"
    IV = "IV", "IV"
    UNKNOWN = "unknown", "Unknown"


class Her2Ihc(models.TextChoices):
    SCORE_0 = "0", "0"
    SCORE_1 = "1+", "1+"
    SCORE_2 = "2+", "2+ (equivocal)"
    SCORE_3 = "3+", "3+"


class Her2Ish(models.TextChoices):
    AMPLIFIED = "amplified", "Amplified"
    NOT_AMPLIFIED = "not_amplified", "Not amplified"
    EQUIVOCAL = "equivocal", "Equivocal"


class VitalStatus(models.TextChoices):
    ALIVE = "alive", "Alive"
    DEAD = "dead", "Dead"
    UNKNOWN = "unknown", "Unknown"


class Presentation(models.TextChoices):
    NODULE = "nodule", "Nodule"
    PLAQUE = "plaque", "Plaque"
    ULCER = "ulcer", "Ulcer"
    ALOPECIA_NEOPLASTICA = "alopecia_neoplastica", "Alopecia neoplastica"
    ERYTHEMA = "erythema", "Erythematous / inflammatory patch"
    MASS = "mass", "Mass"
    PAIN = "pain", "Pain or fracture"
    INCIDENTAL = "incidental", "Incidental (imaging)"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Misdiagnosis(models.TextChoices):
    NONE = "none", "None (correct at first diagnosis)"
    BENIGN_LESION = "benign_lesion", "Benign lesion"
    INFECTION = "infection", "Infection"
    INFLAMMATORY = "inflammatory", "Inflammatory disease"
    OTHER_PRIMARY = "other_primary", "Another primary tumour"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Confirmation(models.TextChoices):
    HISTOLOGY = "histology", "Histology"
    IHC = "ihc", "Immunohistochemistry"
    CYTOLOGY = "cytology", "Cytology"
    CT = "ct", "Imaging: CT"
    MRI = "mri", "Imaging: MRI"
    PET_CT = "pet_ct", "Imaging: PET-CT"
    US = "us", "Imaging: ultrasound"
    CLINICAL = "clinical", "Clinical only"


class Modality(models.TextChoices):
    SURGERY = "surgery", "Surgery"
    RADIOTHERAPY = "radiotherapy", "Radiotherapy"
    CHEMOTHERAPY = "chemotherapy", "Chemotherapy"
    ENDOCRINE = "endocrine", "Endocrine therapy"
    HER2_TARGETED = "her2_targeted", "HER2-targeted therapy"
    IMMUNOTHERAPY = "immunotherapy", "Immunotherapy"
    CDK46_INHIBITOR = "cdk46_inhibitor", "CDK4/6 inhibitor"
    SYSTEMIC_NOS = "systemic_nos", "Systemic therapy, not specified"
    OTHER = "other", "Other"


class TreatmentTarget(models.TextChoices):
    PRIMARY = "primary", "Primary tumour"
    METASTASIS = "metastasis", "A metastasis"
    SYSTEMIC = "systemic", "Whole disease (systemic)"


class Intent(models.TextChoices):
    CURATIVE = "curative", "Curative"
    ADJUVANT = "adjuvant", "Adjuvant"
    NEOADJUVANT = "neoadjuvant", "Neoadjuvant"
    PALLIATIVE = "palliative", "Palliative"
    UNKNOWN = "unknown", "Unknown"


class Response(models.TextChoices):
    CR = "CR", "Complete response"
    PR = "PR", "Partial response"
    SD = "SD", "Stable disease"
    PD = "PD", "Progressive disease"
    UNKNOWN = "unknown", "Unknown"


class Behaviour(models.IntegerChoices):
    """ICD-O-3 behaviour digit, the part of a morphology code after the slash."""

    BENIGN = 0, "Benign"
    UNCERTAIN = 1, "Uncertain whether benign or malignant"
    IN_SITU = 2, "In situ"
    MALIGNANT = 3, "Malignant, primary site"
    METASTATIC = 6, "Malignant, metastatic site"
    UNCERTAIN_PRIMARY_OR_METASTATIC = (
        9,
        "Malignant, uncertain whether primary or metastatic",
    )


class FlagCode(models.TextChoices):
    """Soft edits: combinations that are unusual but possible (NAACCR's over-ride flags).

    A flagged case is stored, and counts in statistics once a curator confirms it.
    """

    SEX_SITE = "sex_site", "Sex-specific primary site in a patient recorded as the other sex"
    AGE_SITE_MORPHOLOGY = "age_site_morphology", "Age unusual for the primary's site and histology"
    SITE_MORPHOLOGY = "site_morphology", "Histology unusual for the primary site"
    METASTASIS_HISTOLOGY = (
        "metastasis_histology",
        "Metastasis histology of another family than the primary's",
    )


class RedactedField(models.TextChoices):
    """Stored text a curator can redact from a case and every history row of it."""

    LOCAL_ID = "local_id", "The submitter's key (local_id)"
    REJECTION_REASON = "rejection_reason", "The rejection reason"
    MISDIAGNOSIS_TEXT = "misdiagnosis_text", "The metastases' misdiagnosis text"
