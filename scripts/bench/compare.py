"""Checks that groupby results from several tools agree with a reference.

    python3 scripts/bench/compare.py REF.csv NAME=OTHER.csv ...

Each file is CSV with a header; the first column is the group key, the
others are aggregates. Columns are matched by aggregate name after
normalising the spellings tools use (value_mean, mean(value), avg,
value_stddev, count_star(), ...), by position when the names do not match.
Rows are sorted by key and numbers rounded to 6 significant digits (values
within 1e-9 relative of each other also agree, for rounding boundaries);
empty, nan and null agree with each other. Prints one line per NAME,
"agree" or "DISAGREE: why", and exits 1 if any disagrees.
"""
import csv
import math
import re
import sys

SYNONYMS = {
    "avg": "mean", "average": "mean",
    "stddev": "std", "stddev_samp": "std", "stdev": "std", "sd": "std",
    "count_star": "count", "size": "count", "n": "count", "len": "count",
}
NULLS = {"", "nan", "-nan", "null", "none", "na", "<na>"}
SEP = "\x1f"


def canon(name):
    """Aggregate name of a header cell: 'value_mean' -> 'mean'."""
    words = [w for w in re.split(r"[^a-z0-9*]+", name.strip().lower()) if w]
    words = [w for w in words if w not in ("value", "*")]
    word = "_".join(words) or "value"
    return SYNONYMS.get(word, word)


def norm(cell):
    c = cell.strip()
    if c.lower() in NULLS:
        return "null"
    try:
        x = float(c)
    except ValueError:
        return c
    if x == 0:
        return "0"
    return "%.6g" % x


def load(path):
    """Header (canonical names) and the sorted normalised rows of a CSV."""
    with open(path, newline="") as f:
        rd = csv.reader(f)
        header = next(rd, None)
        if header is None:
            return None, []
        rows = [SEP.join([r[0]] + [norm(c) for c in r[1:]]) for r in rd if r]
    rows.sort()
    return [canon(h) for h in header], rows


def close(a, b):
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


def compare(ref, other):
    """None when other agrees with ref, else the reason it does not."""
    rh, rrows = ref
    oh, orows = other
    if oh is None:
        return "empty output"
    if len(rh) != len(oh):
        return f"{len(oh)} columns, reference has {len(rh)}"
    if sorted(rh[1:]) == sorted(oh[1:]) and len(set(rh[1:])) == len(rh) - 1:
        order = [0] + [oh.index(name) for name in rh[1:]]
    else:
        order = list(range(len(rh)))  # names differ: match by position
    if len(rrows) != len(orows):
        return f"{len(orows)} groups, reference has {len(rrows)}"
    for rline, oline in zip(rrows, orows):
        r, o = rline.split(SEP), oline.split(SEP)
        o = [o[i] for i in order]
        for i, (a, b) in enumerate(zip(r, o)):
            if a != b and not close(a, b):
                return f"group {r[0]!r}: {rh[i]} reference {a}, this {b}" if i else \
                    f"groups differ: reference has {a!r} where this has {b!r}"
    return None


def main(argv):
    if len(argv) < 3 or any("=" not in a for a in argv[2:]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ref = load(argv[1])
    ok = True
    for arg in argv[2:]:
        name, path = arg.split("=", 1)
        why = compare(ref, load(path))
        if why is None:
            print(f"  {name}: agree ({len(ref[1])} groups)")
        else:
            ok = False
            print(f"  {name}: DISAGREE: {why}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
