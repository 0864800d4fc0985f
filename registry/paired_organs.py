"""Paired organs: sites where a metastasis may carry the primary's own site code.

A cancer of the left breast that spreads to the right breast, or from one lung
to the other, is a metastasis at the same ICD-O-3 code as its primary, told
apart only by laterality. The list is the SEER Program Coding and Staging
Manual's table of paired organ sites (Laterality), restricted to topography
codes; a code not listed is unpaired and a metastasis cannot share it.
"""

from registry.models import Laterality

PAIRED_SITES = frozenset(
    {
        "C07.9",  # parotid gland
        "C08.0",  # submandibular gland
        "C08.1",  # sublingual gland
        "C09.0",  # tonsillar fossa
        "C09.1",  # tonsillar pillar
        "C09.8",  # overlapping lesion of tonsil
        "C09.9",  # tonsil, NOS
        "C30.0",  # nasal cavity (not septum or cartilage)
        "C30.1",  # middle ear
        "C31.0",  # maxillary sinus
        "C31.2",  # frontal sinus
        *(f"C34.{digit}" for digit in "012389"),  # main bronchus and lung
        "C38.4",  # pleura
        *(f"C40.{digit}" for digit in "0123"),  # long and short bones of the limbs
        "C41.3",  # rib and clavicle
        "C41.4",  # pelvic bones
        *(f"C44.{digit}" for digit in "123567"),  # skin of eyelid, ear, face, trunk, limbs
        "C47.1",  # peripheral nerves of upper limb
        "C47.2",  # peripheral nerves of lower limb
        "C49.1",  # soft tissues of upper limb
        "C49.2",  # soft tissues of lower limb
        *(f"C50.{digit}" for digit in "012345689"),  # breast
        "C56.9",  # ovary
        "C57.0",  # fallopian tube
        *(f"C62.{digit}" for digit in "019"),  # testis
        "C63.0",  # epididymis
        "C63.1",  # spermatic cord
        "C64.9",  # kidney
        "C65.9",  # renal pelvis
        "C66.9",  # ureter
        *(f"C69.{digit}" for digit in "012345689"),  # eye and adnexa
        "C70.0",  # cerebral meninges
        *(f"C71.{digit}" for digit in "01234"),  # cerebrum and its lobes
        *(f"C72.{digit}" for digit in "2345"),  # olfactory, optic, acoustic, cranial nerves
        *(f"C74.{digit}" for digit in "019"),  # adrenal gland
        "C75.4",  # carotid body
    }
)

SIDES = frozenset({Laterality.LEFT, Laterality.RIGHT})


def is_contralateral(site: str, primary_laterality: str, metastasis_laterality: str) -> bool:
    """Whether a metastasis at its primary's site code is in the other organ of a pair."""
    return (
        site in PAIRED_SITES
        and primary_laterality in SIDES
        and metastasis_laterality in SIDES
        and primary_laterality != metastasis_laterality
    )
