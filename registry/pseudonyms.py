"""Case keys derived from outside identifiers: keyed pseudonyms, never the identifier.

A FHIR Bundle names its patient (Patient.id, Bundle.identifier), often with the
patient's name or record number in it. The registry keeps none of that: the key
of an imported case is HMAC-SHA256 of the identifier under the registry's secret
`REGISTRY_PSEUDONYM_KEY`, scoped to the submitting institution, so

- the same Bundle sent again finds its case (the pseudonym is stable),
- two institutions' identical identifiers make two keys,
- nothing readable is stored, and without the secret the key cannot be
  recomputed from a guessed identifier.

The pseudonym is letters only ("fhir-" and 24 letters, about 112 bits), so it
never looks like a number, a date or a phone number to the identifier screen.
Changing the secret changes every derived key: set it once per registry.
"""

import hashlib
import hmac

from django.conf import settings

PSEUDONYM_PREFIX = "fhir-"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_LENGTH = 24


def case_key_pseudonym(*, institution_code: str, kind: str, identifier: str) -> str:
    """The case key for an outside identifier of `kind` (e.g. "Patient.id")."""
    secret = settings.REGISTRY_PSEUDONYM_KEY.encode("utf-8")
    # Unit separators keep ("a", "b|c") and ("a|b", "c") apart.
    message = "\x1f".join((institution_code, kind, identifier)).encode("utf-8")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return PSEUDONYM_PREFIX + "".join(_LETTERS[byte % 26] for byte in digest[:_LENGTH])
