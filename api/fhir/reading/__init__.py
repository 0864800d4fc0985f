"""Reading an mCODE Bundle as a registry case payload, with where each value came from.

The mapping reads the resources the registry understands (Patient,
PrimaryCancerCondition, SecondaryCancerCondition, TumorMarkerTest, TumorSize,
cancer-related procedures and medications) and reports every other entry as a
note, never silently. It keeps, for each payload field, the FHIRPath of the
element it came from, so the registry's validation edits (which speak of
``metastases[0].site``) can be reported against the Bundle the sender wrote.

Safe Harbor: names, identifiers, contact data and dates never reach the payload.
Dates are read only to derive the year of diagnosis, the age at diagnosis and
intervals in months.

The package holds one reader per resource (`patient`, `primary`, `secondary`,
`observations`, `treatments`) over the shared element readers (`elements`);
`bundle` assigns each entry its role and reads the case's key.
"""

from api.fhir.reading.bundle import bundle_to_case
from api.fhir.reading.mapped import MappedCase

__all__ = ["MappedCase", "bundle_to_case"]
