"""Which staging system fits a primary: AJCC 8th edition, or FIGO for gynaecological sites.

FIGO stages cancers of the vulva, vagina, cervix, corpus uteri, ovary and
fallopian tube (ICD-O-3 C51-C58); AJCC stages those too (its gynaecological
chapters follow FIGO), and every other site.
"""

GYNAECOLOGICAL_CATEGORIES = frozenset({"C51", "C52", "C53", "C54", "C55", "C56", "C57", "C58"})


def is_gynaecological(topography: str) -> bool:
    """True for a gynaecological primary site, e.g. C53.9 (cervix uteri)."""
    return topography[:3] in GYNAECOLOGICAL_CATEGORIES
