"""Screens free text and keys for identifiers (HIPAA Safe Harbor).

This is a net for slips, not a de-identification engine: it refuses text that
looks like a name with a title, a street address or postcode, an e-mail or web
address, a phone number, a date finer than a year, or a record, insurance or
national identity number, and says which kinds it saw without echoing a value.

Clinical and registrar text is read as such first: ICD-O-3 codes ("C50.2
8490/3"), tumour markers with their values ("CA 19-9 1200 U/mL", "AFP 124500"),
values with units, gene and protein names with digits ("OCT 3/4", "BRCA1",
"NM_007294.4"), trial registry numbers (NCT01234567, EudraCT) and citations (DOI,
PMID, PMCID: a published case report is public, and a curator's over-ride reason
may cite one) are blanked before the screen looks for numbers, dates and phones.

Linear time whatever the input: the text is NFKC-normalised (fullwidth "＠" is
"@"), every pattern is a fixed alternation with bounded repetition and no nested
unbounded quantifier, so each start position costs at most a constant, and the
digit runs are merged in one pass over the text. Phone numbers are judged by
Google's libphonenumber (`phonenumbers`), but only on short phone-shaped
candidates (at most `_PHONE_CANDIDATE_CHARS` characters each, found by one bounded
pattern), never on the whole text: its matcher costs 10-30 ms on a text of short
digit groups, a candidate costs microseconds (bench/identifier_screen.py).
Callers check a field's length first; `find_identifiers` also refuses to read
past `MAX_SCREENED_CHARS`.
"""

import enum
import functools
import re
import unicodedata

import phonenumbers

# Longer than any free-text field the registry keeps (2,000 characters).
MAX_SCREENED_CHARS = 10_000
# Numbers without a country prefix are read as these countries' numbers: as
# possible (by length) in the first, as valid (by numbering plan) in the others.
PHONE_REGIONS = ("US", "GB", "DE", "FR")


class IdentifierKind(enum.StrEnum):
    """What the screen found; the value completes "This text seems to contain …"."""

    NAME = "a name with a title"
    ADDRESS = "a street address or postcode"
    EMAIL = "an e-mail address"
    WEB = "a web or IP address"
    PHONE = "a phone number"
    DATE = "a date finer than a year"
    RECORD_NUMBER = "a record, social security or other ID number"
    LONG_NUMBER = "a long number (record, ID or phone number?)"
    TOO_LONG = "more text than the screen reads"


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_UNIT = r"(?:%|mm|cm|months?|years?|weeks?|days?)"  # "may 2 cm" is no date
# Not "Sister": the Sister Mary Joseph nodule is a metastasis this registry counts.
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Doctor|Sir|Dame|Madam)"
_STREET = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Court|Ct|Way"
    r"|Place|Pl|Terrace|Close|Crescent|Square|Sq|Highway|Hwy|Parkway|Pkwy|Gardens)"
)

# Each pattern: fixed alternatives, bounded repetition (no catastrophic backtracking).
_PATTERNS: list[tuple[IdentifierKind, re.Pattern[str]]] = [
    (IdentifierKind.EMAIL, re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}")),
    (
        IdentifierKind.WEB,
        re.compile(
            r"\bhttps?://|\bwww\.[\w-]{1,63}\.|\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", re.I
        ),
    ),
    # Title-case only: "MR imaging" and "MS lesion" are clinical.
    (
        IdentifierKind.NAME,
        re.compile(rf"\b{_TITLE}\.?[ \t]{{1,3}}(?P<name>[^\W\d_][\w'’-]{{1,40}})"),
    ),
    (
        IdentifierKind.ADDRESS,
        re.compile(
            rf"\b\d{{1,5}}[A-Za-z]?,?[ \t]{{1,3}}(?:[A-Z][A-Za-z'’-]{{1,30}}[ \t]{{1,3}}){{1,3}}"
            rf"{_STREET}\b"
            r"|\b(?:P\.?O\.?|Post Office)[ \t]{0,3}Box[ \t]{0,3}\d"
            # UK postcode (SW1A 1AA) and US ZIP+4 (12345-6789).
            r"|\b[A-Z]{1,2}\d[A-Z\d]?[ \t]{1,3}\d[A-Z]{2}\b"
            r"|\b\d{5}-\d{4}\b"
        ),
    ),
    (
        IdentifierKind.RECORD_NUMBER,
        re.compile(
            r"\b\d{3}-\d{2}-\d{4}\b"  # US social security number
            r"|\b(?:MRN|SSN|NHS|NIR|BSN|ID)[ \t]{0,3}(?:no|nr|number|num|#)?\.?[ \t]{0,3}[:#=]?"
            r"[ \t]{0,3}[A-Z]{0,3}\d{3}"
            r"|\b(?:record|patient|hospital|insurance|chart|account|member|policy)[ \t]{1,3}"
            r"(?:no|nr|number|num|#|id)\.?[ \t]{0,3}[:#=]?[ \t]{0,3}[A-Z]{0,3}\d{3}",
            re.I,
        ),
    ),
    (
        IdentifierKind.DATE,
        re.compile(
            # 5 March 2019, 5th of March, 05MAR2019, 5-Mar-19
            rf"\b\d{{1,2}}{_ORDINAL}(?:[ \t]{{1,3}}of)?[ \t./-]{{0,3}}{_MONTH}\b"
            rf"|\b\d{{1,2}}{_MONTH}\d{{2,4}}\b"
            # March 5, 2019 / March 5th
            rf"|\b{_MONTH}\.?[ \t/-]{{1,3}}\d{{1,2}}{_ORDINAL}\b(?![ \t]{{0,3}}{_UNIT})"
            # March 2021, Mar-2021
            rf"|\b{_MONTH}\.?,?[ \t/-]{{1,3}}'?{_YEAR}\b"
            # 2021-03, 03/2021
            rf"|\b{_YEAR}[/.-](?:0[1-9]|1[0-2])\b(?![/.-]?\d)"
            rf"|\b(?:0?[1-9]|1[0-2])[/.-]{_YEAR}\b",
            re.I,
        ),
    ),
]
# Clinical and registrar tokens that hold digits but identify no patient; blanked
# before the number, date and phone checks (never before names, e-mail or web).
_MARKER = (
    r"(?:CA[ \t-]?(?:19[ \t.-]?9|15[ \t.-]?3|125|72[ \t.-]?4|27[ \t.-]?29|242|50)"
    r"|AFP|CEA|PSA|[βb]-?hCG|hCG|LDH|NSE|CgA|chromogranin(?:[ \t]A)?|calcitonin"
    r"|thyroglobulin|Tg|SCC(?:-Ag)?|CYFRA[ \t]?21-1|HE4|ProGRP|S-?100B?|5-HIAA"
    r"|ALP|CRP|ferritin|PTHrP|IGF-?1|NT-proBNP|LD|Ki-?67)"
)
_UNITS = (
    r"(?:[µμu]?[kmnpµμu]?(?:mol|g|U|IU|L)(?:/(?:m[lL]|d[lL]|L|24[ \t]?h|h|day|kg|m2|g))?"
    r"|mg/m2|mg/kg|Gy|GBq|MBq|mCi|copies/m[lL]|cells/[µμu]L|/[µμu]L|/mm3|x[ \t]?10\^?\d{1,2}/L)"
)
# 124500, 124,500, 1,234.5; with a unit also 250 000 (spaced thousands). A marker's
# value without a unit is never spaced: "CEA 5 555 123 4567" holds a phone number.
_VALUE = r"\d{1,6}(?:[,.]\d{1,3}){0,3}"
_SPACED_VALUE = rf"{_VALUE}(?:[ \t]\d{{3}}){{0,2}}"
_CLINICAL = re.compile(
    r"\b(?:"  # every token starts at a word boundary: tested once per position
    # ICD-O-3 topography and ICD-10 codes (C50.2, D05.1), morphology (8490/3, M-8140/3)
    r"[CD]\d\d(?:\.\d{1,2})?\b|(?:M-?)?\d{4}/[0-369]\b"
    # trial registries: ClinicalTrials.gov, EudraCT, ISRCTN, ANZCTR, UMIN, ChiCTR, CTRI, JCOG
    r"|NCT\d{8}\b|(?:19|20)\d\d-\d{6}-\d{2}\b|ISRCTN\d{8}\b|ACTRN\d{14}\b"
    r"|UMIN\d{9}\b|ChiCTR-?[A-Z]{0,3}-?\d{8,10}\b|CTRI/\d{4}/\d{2,3}/\d{4,6}\b"
    r"|(?:JCOG|NRG|RTOG|EORTC|SWOG|GOG|CALGB|NSABP|ECOG-ACRIN|E)[ \t-]?\d{3,5}\b"
    # citations: DOI, PMID, PMCID
    r"|10\.\d{4,9}/[^\s\"<>]{1,200}|PMID:?[ \t]{0,3}\d{1,9}\b|PMC\d{1,9}\b"
    # terminology codes: SNOMED CT, LOINC, RxNorm, OMIM, HGNC
    r"|(?:SNOMED(?:[ \t]CT)?|SCTID|LOINC|RxNorm|RXCUI|OMIM|MIM|HGNC)[ \t:#]{0,3}\d{1,18}(?:-\d)?\b"
    # genes and variants: OCT 3/4, rs ids, RefSeq, chromosome positions, HGVS positions
    r"|OCT[ \t-]?3/4\b|rs\d{1,12}\b|[NX][MRPCG]_\d{6,9}(?:\.\d{1,3})?"
    r"|chr(?:\d{1,2}|X|Y):[ \t]?\d[\d,]{0,14}(?:-\d[\d,]{0,14})?"
    r"|[cgmnpr]\.[-*]?\d{1,10}(?:[_+-]\d{1,10}){0,2}"
    # a marker's value ("CA 19-9 1200", "AFP: 124,500") and any value with a unit
    rf"|{_MARKER}(?:[ \t]{{0,3}}(?:level|of|was|=|:|>|<|at)){{0,2}}[ \t]{{0,3}}{_VALUE}"
    rf"|{_SPACED_VALUE}[ \t]{{0,2}}{_UNITS}(?![A-Za-z])"
    r")",
    re.I,
)
# Day, month and year in digits; checked for a plausible calendar date after matching.
_NUMERIC_DATE = re.compile(r"\b(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})\b")
# "may" and "mar" are English words: a lower-case month with a day needs a year to count.
_AMBIGUOUS_MONTH = re.compile(r"\b\d{1,2}(?:[ \t]{1,3}of)?[ \t]{1,3}(?:may|mar)\b")
_READ_AS_WRITTEN = frozenset({IdentifierKind.NAME, IdentifierKind.EMAIL, IdentifierKind.WEB})
_DIGITS = re.compile(r"\d+")
_YEAR_ONLY = re.compile(_YEAR)
_DIGIT_SEPARATORS = frozenset(" -./()")
_LONG_NUMBER_DIGITS = 6  # in one unbroken run
_PHONE_MIN_DIGITS = 5
_PHONE_LOCAL_DIGITS = 7  # 555-0199; no plan the screen reads has shorter numbers
_PHONE_MAX_DIGITS = 15  # E.164
_PHONE_LOOKUPS = 2  # per text: libphonenumber costs ~0.1 ms a candidate and region
_PHONE_CANDIDATE_CHARS = 24
# Digits joined by the separators phone numbers are written with; a bare run of
# digits only after a "+" (otherwise it is a long number, or a short one).
_PHONE_CANDIDATE = re.compile(
    rf"\+?\(?\d[\d \t().-]{{3,{_PHONE_CANDIDATE_CHARS - 3}}}\d|\+\d{{5,{_PHONE_MAX_DIGITS}}}"
)
_SPACED_NUMBER_DIGITS = 8  # in groups joined by single separators (phone, account numbers)


def normalise_for_screen(text: str) -> str:
    """NFKC: fullwidth and other compatibility forms read as their plain letters."""
    return unicodedata.normalize("NFKC", text)


def find_identifiers(
    text: str, *, limit: int | None = MAX_SCREENED_CHARS, key: bool = False
) -> list[IdentifierKind]:
    """Every kind of identifier the text seems to hold, in a fixed order; [] if none.

    `key`: the text is a case key. Keys are commonly sequence numbers
    ("2021-000123"), which look like a long number or a possible phone number,
    so there only record-number cues ("MRN 1234") and international phone
    numbers valid in a numbering plan count; names, addresses, e-mail, web
    addresses and dates do.
    """
    if limit is not None and len(text) > limit:
        return [IdentifierKind.TOO_LONG]
    if not text:
        return []
    text = normalise_for_screen(text)
    found: set[IdentifierKind] = set()
    spans: list[tuple[int, int]] = []
    clinical = _masked(text, [match.span() for match in _CLINICAL.finditer(text)])
    for kind, pattern in _PATTERNS:
        # Names, e-mail and web addresses are looked for in the text as written.
        searched = text if kind in _READ_AS_WRITTEN else clinical
        for match in pattern.finditer(searched):
            if _counts(kind, match):
                found.add(kind)
                spans.append(match.span())
    for match in _NUMERIC_DATE.finditer(clinical):
        if _is_calendar_date(*match.group(1, 3, 4)):
            found.add(IdentifierKind.DATE)
            spans.append(match.span())
    # A date or SSN already named is not a second finding as a number.
    rest = _masked(clinical, spans)
    if not key:
        found |= _number_runs(rest)
    if _may_hold_phone_number(rest, key) and _has_phone_number(rest, strict=key):
        found.add(IdentifierKind.PHONE)
    return [kind for kind in IdentifierKind if kind in found]


def find_identifier(text: str) -> IdentifierKind | None:
    """The first kind of identifier the text seems to hold, or None."""
    kinds = find_identifiers(text)
    return kinds[0] if kinds else None


def identifier_message(kinds: list[IdentifierKind]) -> str:
    """One sentence naming what was found, never the value."""
    return f"This text seems to contain {_joined(kinds)}; cases must be de-identified."


def _joined(kinds: list[IdentifierKind]) -> str:
    names = [str(kind) for kind in kinds]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# ---------------------------------------------------------------- detectors


def _counts(kind: IdentifierKind, match: re.Match[str]) -> bool:
    if kind is IdentifierKind.NAME:
        return match.group("name")[0].isupper()  # "Prof Müller", not "Dr said"
    if kind is IdentifierKind.DATE:
        return not _AMBIGUOUS_MONTH.fullmatch(match.group(0))
    return True


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with the spans blanked by a character that joins no digits."""
    if not spans:
        return text
    parts, position = [], 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        start = max(start, position)
        parts += [text[position:start], "_" * (end - start)]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _is_calendar_date(first: str, middle: str, last: str) -> bool:
    """Y-M-D, D/M/Y or M/D/Y with a real month and day (123-45-6789 is none)."""
    a, b, c = int(first), int(middle), int(last)
    if len(first) == 4:
        return 1 <= b <= 12 and 1 <= c <= 31
    if len(last) not in (2, 4) or len(first) > 2:
        return False
    return (1 <= b <= 12 and 1 <= a <= 31) or (1 <= a <= 12 and 1 <= b <= 31)


def _number_runs(text: str) -> set[IdentifierKind]:
    """Long digit runs, and digit groups joined by single separators ("06 12 34 56 78").

    One pass over the digit groups; years alone ("2018-2019") are not a number.
    """
    found: set[IdentifierKind] = set()
    run_digits, run_all_years, previous_end = 0, True, None
    for match in _DIGITS.finditer(text):
        digits = match.group(0)
        if len(digits) >= _LONG_NUMBER_DIGITS:
            found.add(IdentifierKind.LONG_NUMBER)
        gap = text[previous_end : match.start()] if previous_end is not None else ""
        if not (gap and len(gap) <= 2 and set(gap) <= _DIGIT_SEPARATORS):
            run_digits, run_all_years = 0, True
        run_digits += len(digits)
        run_all_years = run_all_years and _YEAR_ONLY.fullmatch(digits) is not None
        if run_digits >= _SPACED_NUMBER_DIGITS and not run_all_years:
            found.add(IdentifierKind.LONG_NUMBER)
        previous_end = match.end()
    return found


def _may_hold_phone_number(text: str, key: bool) -> bool:
    """Worth asking libphonenumber: five digits or more, and in a key a "+".

    A key of digits is a sequence number far more often than a phone number, so
    in keys only international numbers ("+33 6 12 34 56 78") count.
    """
    if key and "+" not in text:
        return False
    return sum(map(str.isdigit, text)) >= _PHONE_MIN_DIGITS


def _has_phone_number(text: str, strict: bool) -> bool:
    """Any phone-shaped candidate that is a phone number.

    Candidates are digits joined by the separators numbers are written with (or
    after a "+"), at most `_PHONE_CANDIDATE_CHARS` long and not overlapping: one
    linear pass. Seven digits with a separator ("555-0199") is a local number in
    the first region's plan as written. Longer candidates are long numbers
    already (`_number_runs`), so libphonenumber is asked only to name the first
    `_PHONE_LOOKUPS` of them as phones, in free text; in a key (`strict`), where a
    "+" is required and keys are short, every candidate is asked, as valid.
    """
    lookups = 0
    for match in _PHONE_CANDIDATE.finditer(text):
        candidate = match.group(0)
        digits = sum(map(str.isdigit, candidate))
        if not _PHONE_LOCAL_DIGITS <= digits <= _PHONE_MAX_DIGITS:
            continue
        groups = _DIGITS.findall(candidate)
        # A bare run is a long number; years alone ("2018-2019") are a span of years.
        if len(groups) == 1 and not candidate.startswith("+"):
            continue
        if all(_YEAR_ONLY.fullmatch(group) for group in groups):
            continue
        if strict:
            if candidate.startswith("+") and _is_phone_number(candidate, strict=True):
                return True
            continue
        if digits == _PHONE_LOCAL_DIGITS:
            return True
        if lookups == _PHONE_LOOKUPS:
            break
        lookups += 1
        if _is_phone_number(candidate, strict=False):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def _is_phone_number(candidate: str, *, strict: bool) -> bool:
    """libphonenumber's parse: possible in the first region (valid if strict), valid in others."""
    first = PHONE_REGIONS[0]
    for region in PHONE_REGIONS:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            return False
        if region == first and not strict:
            if phonenumbers.is_possible_number(number):
                return True
        elif phonenumbers.is_valid_number(number):
            return True
        if number.country_code_source == phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN:
            return False  # "+33 …" reads the same in every region
    return False
