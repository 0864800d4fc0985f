"""Rebuild seeds/morphology.csv from the registry's curated rows and SEER's site/type list.

    python scripts/build_morphology_seed.py seeds/sources/seer_sitetype.icdo3.d20150918.csv

The SEER ICD-O-3 Site/Type validation list (NCI, a U.S. government work) names
every histology/behaviour code a registry may report with /2 or /3 (and the /0
and /1 codes reportable for brain and other sites). The registry's curated rows
keep their titles (SEER abbreviates: "Sq. cell carcinoma"); a code only in SEER
gets SEER's title. Every malignant code also gets its metastatic form /6: ICD-O-3's
behaviour matrix (rule F) lets any histology take any behaviour digit, and a
metastasis here is always coded /6.
"""

import csv
import io
import sys
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seer_codes(path: Path) -> dict[str, str]:
    # The list ships with old Mac line ends (CR only).
    text = path.read_text(encoding="latin-1").replace("\r\n", "\n").replace("\r", "\n")
    codes: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code, title = row["Histology/Behavior"].strip(), row["Histology/Behavior Description"]
        if len(code) == 6 and code[4] == "/":
            codes.setdefault(code, title.strip())
    return codes


def main(seer_file: str) -> None:
    target = SEEDS / "morphology.csv"
    with target.open(encoding="utf-8") as handle:
        curated = {row["code"]: row["title"] for row in csv.DictReader(handle)}
    merged = dict(seer_codes(Path(seer_file)))
    merged.update(curated)
    for code, title in list(merged.items()):
        if code.endswith("/3"):
            merged.setdefault(code[:4] + "/6", f"{title}, metastatic")
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "title"])
        writer.writerows(sorted(merged.items()))
    print(f"{target}: {len(merged)} codes ({len(curated)} curated)")


if __name__ == "__main__":
    main(*sys.argv[1:])
