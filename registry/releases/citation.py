"""How to cite a release: CITATION.cff (YAML) and BibTeX, from the release's own record.

Both name the registry, the release, its date, its URL and its checksum, so a
reader of a paper can fetch the same release and check it is the same data.
"""

from registry.models import Release

REGISTRY_TITLE = "Rare-metastasis registry"


def citation_text(release: Release, url: str) -> str:
    """One line, for a reference list."""
    return (
        f"{REGISTRY_TITLE}. Release {release.name} ({release.created_at:%Y-%m-%d}). "
        f"{url} ({release.checksum})"
    )


def _yaml(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def citation_cff(release: Release, url: str) -> str:
    """CITATION.cff 1.2.0 for the release, as a dataset."""
    lines = [
        "cff-version: 1.2.0",
        f"message: {_yaml('If you use figures from this release, please cite it as below.')}",
        "type: dataset",
        f"title: {_yaml(f'{REGISTRY_TITLE}, release {release.name}')}",
        "authors:",
        f"  - name: {_yaml(REGISTRY_TITLE)}",
        f"version: {_yaml(release.name)}",
        f"date-released: {release.created_at:%Y-%m-%d}",
        f"url: {_yaml(url)}",
        "identifiers:",
        "  - type: other",
        f"    value: {_yaml(release.checksum)}",
        f"    description: {_yaml('Checksum of the release rows (sha256)')}",
        f"notes: {_yaml(f'Made by registry software {release.software_version}.')}",
    ]
    return "\n".join(lines) + "\n"


def _bibtex(text: str) -> str:
    """A BibTeX field value: braces and backslashes cannot break out of it."""
    return "".join(ch for ch in text if ch not in "{}\\")


def citation_bibtex(release: Release, url: str) -> str:
    key = "rmr_" + "".join(ch if ch.isalnum() else "_" for ch in release.name)
    fields = [
        ("title", f"{REGISTRY_TITLE}, release {release.name}"),
        ("author", f"{{{REGISTRY_TITLE}}}"),
        ("year", f"{release.created_at:%Y}"),
        ("month", f"{release.created_at:%m}"),
        ("version", release.name),
        ("url", url),
        (
            "note",
            f"Release checksum {release.checksum}; registry software {release.software_version}",
        ),
    ]
    body = ",\n".join(
        f"  {name} = {{{value if name == 'author' else _bibtex(value)}}}" for name, value in fields
    )
    return f"@misc{{{key},\n{body}\n}}\n"
