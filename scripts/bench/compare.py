"""Checks that results from several tools agree with a reference.

    python3 scripts/bench/compare.py REF.csv NAME=OTHER.csv ...
    python3 scripts/bench/compare.py --rows REF.csv NAME=OTHER.csv ...

Each file is CSV with a header; the first column is the group key, the
others are aggregates. Columns are matched by aggregate name after
normalising the spellings tools use (value_mean, mean(value), avg,
value_stddev, count_star(), ...), by position when the names do not match.
Rows are sorted by key and numbers rounded to 6 significant digits (values
within 1e-9 relative of each other also agree, for rounding boundaries);
empty, nan and null agree with each other. Prints one line per NAME,
"agree" or "DISAGREE: why", and exits 1 if any disagrees.

--rows is for large row sets (a filter's output: every column, maybe
millions of rows), which are not held in memory: each file is read once as
a stream and reduced to its row count and an order-independent checksum of
its rows (a sum of row hashes), so the rows may come in any order and the
quoting may differ. When the checksums of the cells as written differ, the
files are read again with every cell as a value: numbers as doubles, equal
only when exactly equal (20.1 = 20.10 = 2.01e1; no rounding, since a filter
copies values), empty, nan and null as null, other text as is; if those
checksums differ too, a checksum per column (each cell with its row's first
cell) names the columns that differ. Reports whether the rows are in the
reference's order too. Columns are matched by name; which columns hold
numbers is judged on the reference's first 65536 rows.
"""
import csv
import gc
import itertools
import math
import re
import sys
from operator import itemgetter

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


# ---------------------------------------------------------------- --rows

MASK = (1 << 64) - 1
BATCH = 65536


def raw_digest(path):
    """(header, rows, checksum, order) of the cells as written. checksum is
    the sum of the rows' hashes (order-independent), order a hash chained
    over them (order-dependent). A row's hash is Python's str hash (SipHash)
    of its cells joined by US; not the hash of a tuple, whose sums cancel
    when cells trade places between rows. Python's str hash is salted per
    process: the digests compare only within one run of this script."""
    total = order = n = 0
    with open(path, newline="") as f:
        rd = csv.reader(f)
        header = next(rd, None)
        if header is None:
            return None, 0, 0, 0
        for r in rd:
            if r:
                h = hash(SEP.join(r))
                total += h
                order = hash((order, h))
                n += 1
    return [h.strip() for h in header], n, total & MASK, order


NULL = "\x00"  # a null cell, as a value


def numbers(col):
    """A column's cells as canonical text of their values: the shortest repr
    of the float for numbers, NULL for nulls, other text as is."""
    try:
        return [repr(float(c)) if c else NULL for c in col]
    except ValueError:
        out = []
        for c in col:
            if c.strip().lower() in NULLS:
                out.append(NULL)
                continue
            try:
                out.append(repr(float(c)))
            except ValueError:
                out.append(c)
        return out


def texts(col):
    """A column's cells as text, NULL for nulls (no null is over 4 chars)."""
    return [c if len(c) > 4 or c.strip().lower() not in NULLS else NULL for c in col]


def numeric_columns(path):
    """Which columns of the file hold only numbers and nulls, judged on its
    first BATCH rows."""
    with open(path, newline="") as f:
        rd = csv.reader(f)
        header = next(rd, None) or []
        kinds = [True] * len(header)
        for r in itertools.islice(rd, BATCH):
            for i, c in enumerate(r[:len(kinds)]):
                if kinds[i] and c.strip().lower() not in NULLS:
                    try:
                        float(c)
                    except ValueError:
                        kinds[i] = False
    return kinds


def value_digest(path, names, numeric, per_column):
    """(rows, checksum, order, per-column checksums or None) of the file's
    cells as values, its columns taken in the order of names. Each column's
    checksum sums the hashes of its cells joined to their row's first cell;
    order chains the first column's values."""
    n = total = order = 0
    cols_sum = [0] * len(names)
    join = SEP.join
    with open(path, newline="") as f:
        rd = csv.reader(f)
        header = [h.strip() for h in next(rd, [])]
        pick = [header.index(name) for name in names]
        width = len(header)
        while True:
            batch = [r if len(r) >= width else r + [""] * (width - len(r))
                     for r in itertools.islice(rd, BATCH) if r]
            if not batch:
                break
            n += len(batch)
            cols = []
            for i, num in zip(pick, numeric):
                col = list(map(itemgetter(i), batch))
                cols.append(numbers(col) if num else texts(col))
            total += sum(map(hash, map(join, zip(*cols))))
            order = hash((order, hash(join(cols[0]))))
            if per_column:
                for j, col in enumerate(cols):
                    cols_sum[j] += sum(map(hash, map(join, zip(cols[0], col))))
    return n, total & MASK, order, [s & MASK for s in cols_sum] if per_column else None


class Reference:
    """The reference file: its digest as written, and as values when asked."""

    def __init__(self, path):
        self.path = path
        self.header, self.rows, self.sum, self.order = raw_digest(path)
        self.numeric = None
        self.values = {}

    def value_digest(self, per_column):
        if per_column not in self.values:
            if self.numeric is None:
                self.numeric = numeric_columns(self.path)
            self.values[per_column] = value_digest(self.path, self.header, self.numeric, per_column)
        return self.values[per_column]


def compare_rows(ref, path):
    """(agrees, text) of the file at path against the reference."""
    rh, rn = ref.header, ref.rows
    oh, on, osum, oorder = raw_digest(path)
    if oh is None:
        return False, "empty output"
    if sorted(oh) != sorted(rh):
        return False, f"columns {','.join(oh)}, reference has {','.join(rh)}"
    if on != rn:
        return False, f"{on} rows, reference has {rn}"
    if oh == rh and osum == ref.sum:
        order = "same order" if oorder == ref.order else "in another order"
        return True, f"{rn} rows, cells equal as written, {order}"
    # formatting or quoting differs: compare values; name the columns that
    # differ only when they do (a second pass)
    rv = ref.value_digest(False)
    ov = value_digest(path, rh, ref.numeric, False)
    if rv[1] == ov[1]:
        order = "same order" if ov[2] == rv[2] else "in another order"
        return True, f"{rn} rows, cells equal as values (numbers compared as numbers), {order}"
    rv = ref.value_digest(True)
    ov = value_digest(path, rh, ref.numeric, True)
    bad = [name for name, a, b in zip(rh, rv[3], ov[3]) if a != b]
    if not bad:  # every column agrees, the rows do not: cells paired differently
        return False, f"{rn} rows each, every column agrees but the rows do not"
    what = f"column {bad[0]} differs" if len(bad) == 1 else f"columns {', '.join(bad)} differ"
    return False, f"{rn} rows each, but {what} (as values)"


def main_rows(argv):
    gc.disable()  # millions of short-lived tuples, no cycles
    ref = Reference(argv[0])
    if ref.header is None:
        print("  reference output is empty")
        return 1
    ok = True
    for arg in argv[1:]:
        name, path = arg.split("=", 1)
        agree, text = compare_rows(ref, path)
        ok = ok and agree
        print(f"  {name}: {'agree' if agree else 'DISAGREE'}: {text}")
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 2 and argv[1] == "--rows":
        argv = argv[1:]
        rows = True
    else:
        rows = False
    if len(argv) < 3 or any("=" not in a for a in argv[2:]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if rows:
        return main_rows(argv[1:])
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
