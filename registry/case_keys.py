"""A case's key (`local_id`): what a submitter may send, and when two keys are one.

A key is the submitter's handle on a case, so it must not be an identifier
(it passes the same screen as free text) and it must be reachable as one URL
path segment (no "/"). Characters that are invisible or reorder text (control,
format and bidi characters: Unicode categories Cc, Cf, Cs, Co, Cn, Zl, Zp) are
refused, not stripped, so what a curator sees is what was stored.

Keys are screened as `find_identifiers(key=True)` reads them: sequence numbers
such as "2021-000123" are keys, "MRN 12345678" and "2019-03-05" are not.

Two keys that look the same are the same key. The stored `local_id` keeps the
sender's spelling (NFC, surrounding whitespace stripped, inner runs of spaces
as one space); `local_id_key` is the form keys are compared in and unique on:
NFKC (fullwidth "ＡＢＣ" is "ABC"), case-folded ("ABC-1" is "abc-1"), dashes as
"-", and the Cyrillic and Greek letters that look like Latin ones as those
Latin letters (a confusables skeleton in the spirit of Unicode TS #39, limited
to the scripts hospital keys mix up). Keys are case-insensitive.

A key is parsed once, into a `CaseKey`, wherever it comes in (the JSON API's
serializer, a batch item, a FHIR Bundle's identifier, a URL): the serializer,
the services and FHIR share that one object, and its length limit is checked
once, on the stored (NFC) form, so a key of 40 decomposed "é" (80 code points
as sent) is 40 characters everywhere.
"""

import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from registry.deidentification import find_identifiers, identifier_message

LOCAL_ID_MAX = 64
LOCAL_ID_KEY_MAX = 256  # NFKC and case folding can lengthen a key ("ß" → "ss")
# As sent, before NFC: decomposed letters take two or three code points each.
LOCAL_ID_RAW_MAX = 4 * LOCAL_ID_MAX
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting or bidi character",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}

# Letters of Cyrillic and Greek (after case folding) drawn like a Latin letter.
_LOOK_ALIKES = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ѐ": "è",
        "ё": "ë",
        "һ": "h",
        "н": "h",
        "і": "i",
        "ї": "ï",
        "ј": "j",
        "к": "k",
        "м": "m",
        "о": "o",
        "р": "p",
        "с": "c",
        "ѕ": "s",
        "т": "t",
        "у": "y",
        "х": "x",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "ζ": "z",
        "η": "h",
        "ι": "i",
        "κ": "k",
        "μ": "m",
        "ν": "n",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "y",
        "χ": "x",
    }
)


@dataclass(frozen=True)
class CaseKey:
    """A parsed case key: `local_id` as stored, `key` as keys are compared (and unique)."""

    local_id: str
    key: str

    @classmethod
    def parse(cls, raw: "CaseKey | object") -> "CaseKey":
        """The key of `raw` (a CaseKey is already parsed); ValidationError({"local_id": [...]})."""
        if isinstance(raw, CaseKey):
            return raw
        local_id = clean_local_id(raw)
        return cls(local_id, local_id_key(local_id))

    def same_as(self, other: "CaseKey | str") -> bool:
        """Whether `other` names the same case ("ABC-1" and "abc‐1" do)."""
        other_key = (
            other.key if isinstance(other, CaseKey) else local_id_key(normalise_local_id(other))
        )
        return self.key == other_key

    def __str__(self) -> str:
        return self.local_id


def clean_local_id(raw: object) -> str:
    """The key as stored; ValidationError({"local_id": [...]}) naming every problem."""
    if isinstance(raw, CaseKey):
        return raw.local_id
    if not isinstance(raw, str):
        raise ValidationError({"local_id": ["A case key is a string."]})
    if len(raw) > LOCAL_ID_RAW_MAX:
        # Read no further than any key could be before normalising (NFC at most halves it).
        raise ValidationError({"local_id": [f"A case key has at most {LOCAL_ID_MAX} characters."]})
    problems = [
        f"A case key cannot contain {name} (U+{ord(char):04X})."
        for char, name in _refused_characters(raw)
    ]
    if "/" in raw:
        problems.append("A case key cannot contain '/': it is one segment of a URL.")
    local_id = normalise_local_id(raw) if not problems else raw
    if not local_id:
        problems.append("A case key cannot be blank.")
    elif len(local_id) > LOCAL_ID_MAX:
        problems.append(f"A case key has at most {LOCAL_ID_MAX} characters.")
    elif not problems:
        kinds = find_identifiers(local_id, key=True)
        if kinds:
            problems.append(
                identifier_message(kinds).replace("This text", "This key")
                + " Use a key that means nothing outside your institution."
            )
    if problems:
        raise ValidationError({"local_id": problems})
    return local_id


def normalise_local_id(raw: str) -> str:
    """NFC, surrounding whitespace stripped, inner whitespace runs as one space."""
    return " ".join(unicodedata.normalize("NFC", raw).split())


def local_id_key(local_id: str) -> str:
    """The form two keys are compared in: equal for keys that look the same."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", local_id).casefold())
    dashed = "".join("-" if unicodedata.category(char) == "Pd" else char for char in folded)
    return " ".join(dashed.translate(_LOOK_ALIKES).split())


def _refused_characters(raw: str) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for char in raw:
        name = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if name is not None and char not in seen:
            seen[char] = name
    return list(seen.items())
