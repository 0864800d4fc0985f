"""Screens free text for obvious identifiers (HIPAA Safe Harbor).

This is a net for slips, not a de-identification engine: it rejects text that
looks like an e-mail address, a phone number, a full date or a long number
(record, insurance or national identity numbers), and says which it saw without
echoing the value back.
"""

import re

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

IDENTIFIER_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("an e-mail address", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("a full date", re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b")),
    (
        "a full date",
        re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\.?,?\s+\d{{2,4}}\b", re.I),
    ),
    (
        "a full date",
        re.compile(rf"\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}}\b", re.I),
    ),
    ("a long number (record or ID number?)", re.compile(r"\d{6,}")),
]

# Digits broken up by spaces, dots, dashes or brackets; a phone number has at
# least eight digits, which keeps ranges such as "Ki-67 20-30 %" out.
_PHONE_CANDIDATE = re.compile(r"\+?\(?\d[\d\s().-]{6,}\d")
_PHONE_MIN_DIGITS = 8


def find_identifier(text: str) -> str | None:
    """Which kind of identifier the text seems to hold, or None."""
    for kind, pattern in IDENTIFIER_PATTERNS:
        if pattern.search(text):
            return kind
    for candidate in _PHONE_CANDIDATE.findall(text):
        if sum(ch.isdigit() for ch in candidate) >= _PHONE_MIN_DIGITS:
            return "a phone number"
    return None
