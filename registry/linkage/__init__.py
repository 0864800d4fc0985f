"""One patient, counted once: probabilistic record linkage and the persons it confirms.

- `records`: each case as the facts linkage compares (one row per case);
- `model`: the Fellegi-Sunter model, written for Splink (in-process DuckDB);
- `candidates`: scoring the registry and storing pairs for curators' review;
- `persons`: confirming and rejecting pairs, and which case of a person counts;
- `evaluation`: precision and recall on a synthetic registry with planted duplicates.
"""
