"""Releases: immutable snapshots of what analysts count (`registry.models.release`).

- `snapshot`: copying the counted cases into a release's own tables, reading a
  statistic from them, their checksum and size, and dropping them on retirement;
- `notes`: what changed since the previous release, per site group;
- `citation`: how to cite a release (CITATION.cff and BibTeX).

Writes go through `registry.services.releases`; which release a user counts is
the access policy's (`registry.access.counted_release`).
"""
