"""Soft edits: combinations that are unusual but possible, flagged instead of refused.

The hard edits (`registry.edits`) refuse what cannot be true. These flag what a
registrar would look at twice before counting: the case is stored, the
submitter sees the flags in the answer, the case waits in the curation queue,
and it counts in statistics once a curator confirms each flag (who, when, why).
They follow NAACCR's over-ride flags: Over-ride Site/Type (`site_morphology`),
Over-ride Age/Site/Morph (`age_site_morphology`), Over-ride Histology
(`metastasis_histology`) and the sex/site check (`sex_site`); `skin_same_site`
is the registry's own (a skin metastasis at a skin primary's code).

Deliberately not flagged: a breast primary in a man (about 1 % of breast
cancers, common enough to be ordinary), a rare metastatic site (the registry's
very purpose), a metastasis coded with a NOS histology.
"""

from dataclasses import dataclass

from registry.models import Case, FlagCode, Metastasis, Sex
from registry.vocabularies import VocabularySnapshot


@dataclass(frozen=True)
class Flag:
    """One soft edit raised on a case: a machine code, the field path and what is unusual."""

    code: str
    field: str
    message: str


# ---------------------------------------------------------------- tables

# Primary categories of one sex's anatomy. Recorded sex may not be the anatomy
# (transgender and intersex patients), so the other sex is unusual, not impossible.
FEMALE_SITES = frozenset({"C51", "C52", "C53", "C54", "C55", "C56", "C57", "C58"})
MALE_SITES = frozenset({"C60", "C61", "C62", "C63"})

# Histologies specific to an organ (ICD-O-3 histology -> primary categories where
# they arise). Elsewhere they are rare but documented (struma ovarii, extragonadal
# seminoma, extraskeletal osteosarcoma), which is what a curator confirms.
ORGAN_HISTOLOGIES: dict[str, frozenset[str]] = {
    "8170": frozenset({"C22"}),  # hepatocellular carcinoma
    "8180": frozenset({"C22"}),  # combined hepatocellular-cholangiocarcinoma
    "8160": frozenset({"C22", "C23", "C24"}),  # cholangiocarcinoma
    "8312": frozenset({"C64"}),  # renal cell carcinoma
    "8317": frozenset({"C64"}),  # chromophobe renal cell carcinoma
    "8318": frozenset({"C64"}),  # sarcomatoid renal cell carcinoma
    "8319": frozenset({"C64"}),  # collecting duct carcinoma
    "8370": frozenset({"C74"}),  # adrenal cortical carcinoma
    "8700": frozenset({"C74"}),  # phaeochromocytoma (extra-adrenal: paraganglioma 8680)
    "8330": frozenset({"C73"}),  # follicular carcinoma
    "8340": frozenset({"C73"}),  # papillary carcinoma, follicular variant
    "8345": frozenset({"C73"}),  # medullary thyroid carcinoma
    "8520": frozenset({"C50"}),  # lobular carcinoma
    "8522": frozenset({"C50"}),  # ductal and lobular carcinoma
    "8524": frozenset({"C50"}),  # lobular mixed with other types
    "8530": frozenset({"C50"}),  # inflammatory carcinoma
    "8540": frozenset({"C50"}),  # mammary Paget disease
    "8090": frozenset({"C44", "C51", "C60", "C63"}),  # basal cell carcinoma (skin)
    "8247": frozenset({"C44"}),  # Merkel cell carcinoma
    "9700": frozenset({"C44"}),  # mycosis fungoides
    "9050": frozenset({"C38", "C48", "C63"}),  # mesothelioma: pleura, peritoneum, tunica
    "9051": frozenset({"C38", "C48", "C63"}),
    "9052": frozenset({"C38", "C48", "C63"}),
    "9053": frozenset({"C38", "C48", "C63"}),
    "9061": frozenset({"C62"}),  # seminoma
    "8960": frozenset({"C64"}),  # nephroblastoma
    "9510": frozenset({"C69"}),  # retinoblastoma
    "9180": frozenset({"C40", "C41"}),  # osteosarcoma
    "9181": frozenset({"C40", "C41"}),
    "9220": frozenset({"C40", "C41"}),  # chondrosarcoma
    "9370": frozenset({"C41"}),  # chordoma (skull base, spine, sacrum)
    "8936": frozenset({"C15", "C16", "C17", "C18", "C19", "C20", "C21", "C26", "C48"}),  # GIST
}
SKIN_CATEGORY = "C44"
# Sides that tell two lesions at one skin code apart.
_SIDES = frozenset({"left", "right", "midline"})


def is_skin(topography: str) -> bool:
    """A skin site (C44.x): broad codes where a metastasis may share the primary's code."""
    return topography[:3] == SKIN_CATEGORY


# Sites too vague to call a histology out of place.
UNSPECIFIED_SITES = frozenset({"C76", "C80"})

# Tumours of early childhood, unusual from this age on (years).
CHILDHOOD_HISTOLOGIES = {
    "8960": ("nephroblastoma (Wilms tumour)", 15),
    "8970": ("hepatoblastoma", 15),
    "9500": ("neuroblastoma", 15),
    "9510": ("retinoblastoma", 6),
}
# Carcinomas of adult organs, unusual before this age (years).
ADULT_CARCINOMA_SITES = frozenset(
    {"C15", "C16", "C18", "C19", "C20", "C25", "C34", "C50", "C53", "C54", "C61", "C67"}
)
ADULT_CARCINOMA_AGE = 15
CARCINOMA = range(8010, 8590)  # ICD-O-3 histologies 801-858: epithelial neoplasms

# Histology families (ICD-O-3 ranges). A metastasis of another family than its
# primary is more often a second primary than a metastasis, but transformation
# happens (adenocarcinoma of the lung relapsing as small cell carcinoma).
_FAMILIES = (
    (range(8010, 8036), "carcinoma"),
    (range(8046, 8047), "carcinoma"),
    (range(8041, 8046), "neuroendocrine carcinoma"),
    (range(8013, 8014), "neuroendocrine carcinoma"),
    (range(8240, 8250), "neuroendocrine carcinoma"),
    (range(8050, 8090), "squamous cell carcinoma"),
    (range(8090, 8120), "basal cell carcinoma"),
    (range(8120, 8140), "transitional cell carcinoma"),
    (range(8140, 8590), "adenocarcinoma"),
    (range(8680, 8720), "paraganglioma"),
    (range(8720, 8800), "melanoma"),
    (range(8800, 8940), "sarcoma"),
    (range(9040, 9050), "sarcoma"),
    (range(9120, 9380), "sarcoma"),
    (range(9540, 9590), "sarcoma"),
    (range(9050, 9060), "mesothelioma"),
    (range(9060, 9110), "germ cell tumour"),
    (range(9380, 9540), "neural tumour"),
    (range(9590, 9990), "haematolymphoid neoplasm"),
)
# The narrowest range first, so that neuroendocrine 8240-8249 wins over adenocarcinoma.
_FAMILIES_NARROWEST_FIRST = tuple(sorted(_FAMILIES, key=lambda entry: len(entry[0])))
ADENOSQUAMOUS = "8560"


def histology_family(histology: str) -> str | None:
    """The ICD-O-3 family of a 4-digit histology; None for NOS and mixed codes (8000, 8980)."""
    number = int(histology)
    for codes, family in _FAMILIES_NARROWEST_FIRST:
        if number in codes:
            return family
    return None


def histologies_compatible(primary: str, metastasis: str) -> bool:
    """Whether a metastasis of one histology fits a primary of the other (either way round)."""
    if primary == metastasis:
        return True
    families = {histology_family(primary), histology_family(metastasis)}
    if None in families or len(families) == 1:
        return True
    if "carcinoma" in families:  # carcinoma, NOS fits any carcinoma
        return all(family.endswith("carcinoma") for family in families)
    if ADENOSQUAMOUS in (primary, metastasis):
        return families <= {"adenocarcinoma", "squamous cell carcinoma"}
    return False


# ---------------------------------------------------------------- the soft edits


def flag_case(case: Case, metastases: list[Metastasis], vocab: VocabularySnapshot) -> list[Flag]:
    """The soft edits a valid case raises, in a stable order (call after `check_case`)."""
    primary = vocab.topography[case.primary_site_id]
    morphology = vocab.morphology[case.primary_morphology_id]
    flags = []
    flags += _sex_site(case, primary)
    flags += _age_site_morphology(case, primary, morphology)
    flags += _site_morphology(primary, morphology)
    for index, metastasis in enumerate(metastases):
        flags += _metastasis_histology(morphology, metastasis, index, vocab)
        flags += _skin_same_site(case, metastasis, index)
    return flags


def _skin_same_site(case: Case, metastasis: Metastasis, index: int) -> list[Flag]:
    """A skin metastasis at the skin primary's code whose side does not tell it apart."""
    if metastasis.site_id != case.primary_site_id or not is_skin(metastasis.site_id):
        return []
    sides = {case.primary_laterality, metastasis.laterality}
    if sides <= _SIDES and len(sides) == 2:
        return []  # left and right (or midline): two lesions, told apart by side
    return [
        Flag(
            FlagCode.SKIN_SAME_SITE,
            f"metastases[{index}].site",
            f"A skin metastasis at {metastasis.site_id}, the primary's own code, with no "
            "different side to tell it from the primary (e.g. a melanoma of the back with a "
            "metastasis on the abdomen, both C44.5). A curator confirms it is a separate "
            "metastasis, not the primary itself, before the case counts.",
        )
    ]


def _sex_site(case: Case, primary) -> list[Flag]:
    other_sex = {Sex.MALE: FEMALE_SITES, Sex.FEMALE: MALE_SITES}.get(case.sex, frozenset())
    if primary.category not in other_sex:
        return []
    return [
        Flag(
            FlagCode.SEX_SITE,
            "sex",
            f"Primary site {primary.code} ({primary.title}) in a patient recorded as "
            f"{case.sex}: possible (recorded sex may differ from anatomy), so a curator "
            "confirms it before the case counts.",
        )
    ]


def _age_site_morphology(case: Case, primary, morphology) -> list[Flag]:
    age = case.age_at_diagnosis
    if age is None:
        return []
    histology = morphology.histology
    if histology in CHILDHOOD_HISTOLOGIES:
        name, from_age = CHILDHOOD_HISTOLOGIES[histology]
        if age >= from_age:
            return [
                Flag(
                    FlagCode.AGE_SITE_MORPHOLOGY,
                    "age_at_diagnosis",
                    f"A {name} ({morphology.code}) diagnosed at {age}: a tumour of early "
                    f"childhood, rare from {from_age} on; a curator confirms it before the "
                    "case counts.",
                )
            ]
    if (
        age < ADULT_CARCINOMA_AGE
        and int(histology) in CARCINOMA
        and primary.category in ADULT_CARCINOMA_SITES
    ):
        return [
            Flag(
                FlagCode.AGE_SITE_MORPHOLOGY,
                "age_at_diagnosis",
                f"A carcinoma ({morphology.code}) of {primary.code} ({primary.title}) "
                f"diagnosed at {age}: rare before {ADULT_CARCINOMA_AGE}; a curator confirms "
                "it before the case counts.",
            )
        ]
    return []


def _site_morphology(primary, morphology) -> list[Flag]:
    sites = ORGAN_HISTOLOGIES.get(morphology.histology)
    if sites is None or primary.category in sites | UNSPECIFIED_SITES:
        return []
    return [
        Flag(
            FlagCode.SITE_MORPHOLOGY,
            "primary_morphology",
            f"{morphology.code} ({morphology.title}) arises in {', '.join(sorted(sites))}; "
            f"as a primary of {primary.code} ({primary.title}) it is rare. Check the primary "
            "site and histology; a curator confirms the combination before the case counts.",
        )
    ]


def _metastasis_histology(
    primary_morphology, metastasis: Metastasis, index: int, vocab: VocabularySnapshot
) -> list[Flag]:
    if metastasis.morphology_id is None:
        return []
    morphology = vocab.morphology[metastasis.morphology_id]
    if histologies_compatible(primary_morphology.histology, morphology.histology):
        return []
    return [
        Flag(
            FlagCode.METASTASIS_HISTOLOGY,
            f"metastases[{index}].morphology",
            f"The metastasis is {morphology.code} ({histology_family(morphology.histology)}), "
            f"the primary {primary_morphology.code} "
            f"({histology_family(primary_morphology.histology)}): a metastasis of another "
            "family than its primary is more often a second primary. A curator confirms it "
            "(e.g. histologic transformation) before the case counts.",
        )
    ]
