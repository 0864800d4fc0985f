"""The benchmark's measures, in the order they run: each takes a Session, returns Figures."""

from bench.measures import atlas, clinical, ingest, list_pages, single_post, slowest, stats

# (progress label, measure)
MEASURES = (
    ("stats", stats.curator_counts),
    ("analyst stats", stats.analyst_counts),
    ("clinical", clinical.clinical_counts),
    ("similar cases", atlas.similar_cases),
    ("ingest", ingest.batch_ingest),
    ("single post", single_post.single_post),
    ("list pages", list_pages.list_pages),
    ("slowest valid", slowest.slowest_valid),
)
