"""The identifier screen's cost per character, worst cases first (issue 23/24).

    python bench/identifier_screen.py [--repeat 200]

A batch of 285 cases with 20 metastases each, every text 200 characters of short
digit groups, once held a worker 54 s: libphonenumber's matcher over a whole text
cost 10-30 ms. The screen now asks libphonenumber only about short phone-shaped
candidates. For each adversarial shape this prints the screen's time per
character at 200, 2,000 and 10,000 characters (flat = linear), as a ratio to
NFKC normalisation of the same text (the one pass any screen must make), beside
the old whole-text matcher on the 200-character text, and what the 54 s batch
costs now. No database is needed.
"""

import argparse
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import phonenumbers

from registry.deidentification import PHONE_REGIONS, find_identifiers

SHAPES = {
    "short digit groups": "12 34 56 78 90 ",
    "dashed digit groups": "1-23-4-56-7-",
    "bracketed groups": "(12) 345 ",
    "codes as a registrar writes": "C50.2 8490/3; ",
    "markers with values": "CA 19-9 1200 U/mL, AFP 124500; ",
    "clinical sentence": "Rapidly growing scalp nodule, ER 95 %, HER2 1+. ",
    "almost an address": "12 Main ",
}
LENGTHS = (200, 2_000, 10_000)
BATCH_TEXTS = 285 * 20


def seconds_per_call(function, text: str, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        function(text)
    return (time.perf_counter() - started) / repeat


def old_whole_text_matcher(text: str) -> bool:
    """What the screen did before: libphonenumber's matcher over the whole text."""
    first, *others = PHONE_REGIONS
    leniencies = [(first, phonenumbers.Leniency.POSSIBLE)]
    leniencies += [(region, phonenumbers.Leniency.VALID) for region in others]
    return any(
        phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency).has_next()
        for region, leniency in leniencies
    )


def screen(text: str) -> list:
    return find_identifiers(text, limit=None)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    repeat = parser.parse_args().repeat
    header = "shape".ljust(30) + "".join(f"{n:>9} ch µs/ch" for n in LENGTHS)
    print(header + "   ÷NFKC@200   old@200 µs   batch now s")
    worst_batch = 0.0
    for name, unit in SHAPES.items():
        row, ratio = [], 0.0
        for length in LENGTHS:
            text = (unit * (length // len(unit) + 1))[:length]
            calls = max(1, repeat * 200 // length)
            cost = seconds_per_call(screen, text, calls)
            row.append(f"{cost / length * 1e6:>15.3f}")
            if length == 200:
                per_text, short = cost, text
                ratio = cost / seconds_per_call(normalise, text, calls)
        old = seconds_per_call(old_whole_text_matcher, short, max(1, repeat // 10))
        batch = per_text * BATCH_TEXTS
        worst_batch = max(worst_batch, batch)
        print(f"{name:<30}{''.join(row)}{ratio:>12.0f}{old * 1e6:>13.0f}{batch:>14.2f}")
    print(f"\nworst 285 x 20 batch of 200-character texts: {worst_batch:.2f} s of screening")


if __name__ == "__main__":
    main()
