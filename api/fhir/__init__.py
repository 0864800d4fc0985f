"""HL7 FHIR R4 mCODE exchange: a Bundle in, a case out, and back.

FHIR is an outside format, so it lives here in `api/`: this package parses and
validates Bundles with fhir.resources, maps them to the registry's case payload
(`registry.payload`), and hands that to the same service as the
JSON API. Outside code systems (SNOMED CT, LOINC, RxNorm) are mapped through
`seeds/fhir_concept_map.csv`, not through code.
"""
