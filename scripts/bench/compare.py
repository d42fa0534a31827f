"""Checks that results from several tools agree with a reference.

    python3 scripts/bench/compare.py REF.csv NAME=OTHER.csv ...
    python3 scripts/bench/compare.py --rows REF.csv NAME=OTHER.csv ...
    python3 scripts/bench/compare.py --ordered REF.csv NAME=OTHER.csv ...
    python3 scripts/bench/compare.py --sequence COL,... REF.csv NAME=OTHER.csv ...
    python3 scripts/bench/compare.py --scalar REF.csv NAME=OTHER.csv ...
    python3 scripts/bench/compare.py --counts REF.csv NAME=OTHER.csv ...

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

--ordered is for a small answer whose rows have one right order (a top-k):
the rows must be the same, in the same order. Columns are matched by name,
by position when the names do not match; cells are compared as values:
integers (and floats with an integral value) exactly, other numbers
rounded to 6 significant digits, empty, nan and null alike, other text as
is.

--sequence COL,... is for a large sorted answer (a full sort): each file is
read once, as a stream, all in step, and the sequence of the named columns'
values (numbers as doubles, exactly; empty, nan and null alike; text as is)
must be the same row for row, as must the row count. Other columns are not
compared: rows whose sort keys tie may come in any order. Also reports
whether the reference's rows are in ascending order of those columns
(numbers by value, text by code point, nulls last).

--scalar is for a one-number answer, with a header or bare (`gdask ...
then count`): the last cell of each file, compared as a number, exactly.

--counts is for value counts (value,count rows sorted by count,
descending): the rows must be the same as a set of (value, count), the
value the first column, the count the column named count (else the last),
values compared as --ordered does; and the counts must come in the same
order, so rows of equal counts may come in any order among themselves.
"""
import csv
import gc
import itertools
import math
import operator
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


# ---------------------------------------------------------------- --ordered


def value(cell):
    """A cell as a value, as text: integral numbers exact, other numbers to
    6 significant digits, "null" for nulls, other text as is."""
    c = cell.strip()
    if c.lower() in NULLS:
        return "null"
    try:
        x = float(c)
    except ValueError:
        return c
    if x.is_integer() and abs(x) < 2**53:
        return str(int(x))
    return "%.6g" % x


def read_all(path):
    """Header (names stripped) and rows of a CSV, in file order."""
    with open(path, newline="") as f:
        rd = csv.reader(f)
        header = next(rd, None)
        return ([h.strip() for h in header] if header is not None else None), [r for r in rd if r]


def compare_ordered(ref, other):
    """None when other's rows are ref's, in ref's order, else the reason."""
    rh, rrows = ref
    oh, orows = other
    if oh is None:
        return "empty output"
    if len(rh) != len(oh):
        return f"{len(oh)} columns, reference has {len(rh)}"
    if sorted(rh) == sorted(oh) and len(set(rh)) == len(rh):
        order = [oh.index(name) for name in rh]
    else:
        order = list(range(len(rh)))  # names differ: match by position
    if len(rrows) != len(orows):
        return f"{len(orows)} rows, reference has {len(rrows)}"
    for n, (r, o) in enumerate(zip(rrows, orows), 1):
        r = r + [""] * (len(rh) - len(r))
        o = o + [""] * (len(oh) - len(o))
        for i, name in enumerate(rh):
            a, b = value(r[i]), value(o[order[i]])
            if a != b and not close(a, b):
                return f"row {n}: {name} reference {r[i]!r}, this {o[order[i]]!r}"
    return None


def main_ordered(argv):
    ref = read_all(argv[0])
    if ref[0] is None:
        print("  reference output is empty")
        return 1
    ok = True
    for arg in argv[1:]:
        name, path = arg.split("=", 1)
        why = compare_ordered(ref, read_all(path))
        ok = ok and why is None
        print(f"  {name}: agree ({len(ref[1])} rows, in the same order)" if why is None
              else f"  {name}: DISAGREE: {why}")
    return 0 if ok else 1


# ---------------------------------------------------------------- --sequence


def key_value(cell):
    """A sort key's cell as a comparable value: (0, number), (1, text) or
    (2, "") for a null, so numbers come before text and nulls last."""
    c = cell.strip()
    if c.lower() in NULLS:
        return (2, "")
    try:
        return (0, float(c))
    except ValueError:
        return (1, c)


class Ascending:
    """Checks that rows of sort-key cells come in ascending order: in the
    columns whose first cell is a number, numbers by value; text by code
    point; nulls last. While no cell is a null or text in a number column,
    a row's key is a tuple of floats and strings made in C; from the first
    row where one is, the slower key below, for good."""

    call = getattr(operator, "call", None)  # Python 3.11

    def __init__(self):
        self.n = 0
        self.prev = self.cells = self.bad = None
        self.numeric = self.convs = None

    def slow_key(self, cells):
        key = []
        for c, num in zip(cells, self.numeric):
            v = key_value(c)
            key.append(v if num or v[0] == 2 else (1, c))
        return tuple(key)

    def add(self, cells):
        self.n += 1
        if self.bad is not None:
            return
        k = None
        if self.numeric is None:
            self.numeric = [key_value(c)[0] == 0 for c in cells]
            if self.call and NULL_CELLS.isdisjoint(cells):
                self.convs = [float if num else str for num in self.numeric]
        if self.convs is not None:
            if NULL_CELLS.isdisjoint(cells):
                try:
                    k = tuple(map(self.call, self.convs, cells))
                except ValueError:
                    pass
            if k is None:  # off the fast path
                self.convs = None
                if self.cells is not None:
                    self.prev = self.slow_key(self.cells)
        if k is None:
            k = self.slow_key(cells)
        if self.prev is not None and k < self.prev:
            self.bad = f"row {self.n} {cells} comes after {self.cells}"
        self.prev, self.cells = k, cells


# the spellings of NULLS as they are written (key_value strips and lowers)
NULL_CELLS = NULLS | {c.upper() for c in NULLS} | {c.capitalize() for c in NULLS} | \
    {"NaN"}


def key_cells(path, cols):
    """The rows of a CSV as tuples of the named columns' cells, as written:
    a generator that raises ValueError at once when a column is missing."""
    f = open(path, newline="")
    rd = csv.reader(f)
    header = [h.strip() for h in next(rd, [])]
    missing = [c for c in cols if c not in header]
    if missing:
        f.close()
        raise ValueError(f"no column {missing[0]} (columns: {','.join(header) or 'none'})")
    idx = [header.index(c) for c in cols]
    get = itemgetter(*idx) if len(idx) > 1 else lambda r: (r[idx[0]],)
    width = max(idx) + 1

    def rows():
        with f:
            for r in rd:
                if r:
                    try:
                        yield get(r)
                    except IndexError:  # a short row: the missing cells empty
                        yield get(r + [""] * width)
    return rows()


def main_sequence(argv):
    cols = [c.strip() for c in argv[0].split(",") if c.strip()]
    if not cols or len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    what = "(" + ", ".join(cols) + ")"
    try:
        ref = key_cells(argv[1], cols)
    except ValueError as e:
        print(f"  reference: {e}")
        return 1
    names, its, why = [], [], []
    for arg in argv[2:]:
        name, path = arg.split("=", 1)
        names.append(name)
        try:
            its.append(key_cells(path, cols))
            why.append(None)
        except ValueError as e:
            its.append(iter(()))
            why.append(str(e))
    gc.disable()  # millions of short-lived tuples, no cycles
    counts = [0] * len(its)
    n = 0
    order = Ascending()
    for rows in itertools.zip_longest(ref, *its):
        r = rows[0]
        if r is not None:
            n += 1
            order.add(r)
        for j, o in enumerate(rows[1:]):
            if o is None:
                continue
            counts[j] += 1
            if why[j] is None and r is not None and o != r and \
                    tuple(map(key_value, o)) != tuple(map(key_value, r)):
                why[j] = f"row {counts[j]}: reference {what} = {r}, this {o}"
    ok = order.bad is None
    if order.bad:
        print(f"  reference: NOT in ascending order of {what}: {order.bad}")
    for name, c, w in zip(names, counts, why):
        if c != n and (w is None or w.startswith("row ")):
            w = f"{c} rows, reference has {n}" + (f"; first difference at {w}" if w else "")
        ok = ok and w is None
        print(f"  {name}: agree ({n} rows, the same sequence of {what})" if w is None
              else f"  {name}: DISAGREE: {w}")
    return 0 if ok else 1


# ---------------------------------------------------------------- --scalar


def scalar(path):
    """The last cell of a CSV's last row, or None when it has none."""
    with open(path, newline="") as f:  # a bare number is all header
        rows = [r for r in csv.reader(f) if r]
    return rows[-1][-1].strip() if rows else None


def main_scalar(argv):
    ref = scalar(argv[0])
    if ref is None:
        print("  reference output is empty")
        return 1
    ok = True
    for arg in argv[1:]:
        name, path = arg.split("=", 1)
        got = scalar(path)
        try:
            agree = got is not None and float(got) == float(ref)
        except ValueError:
            agree = got == ref
        ok = ok and agree
        print(f"  {name}: agree ({ref})" if agree
              else f"  {name}: DISAGREE: {got if got is not None else 'empty output'}, reference {ref}")
    return 0 if ok else 1


# ---------------------------------------------------------------- --counts


def value_counts(path):
    """(values, counts): the rows as (value, count) pairs in file order, or
    None for an empty file; count as an int (or text if it is none)."""
    header, rows = read_all(path)
    if header is None:
        return None
    names = [canon(h) for h in header]
    ci = names.index("count") if names.count("count") == 1 else len(header) - 1
    pairs = []
    for r in rows:
        c = r[ci].strip() if ci < len(r) else ""
        try:
            c = int(float(c))
        except ValueError:
            pass
        pairs.append((value(r[0]), c))
    return pairs


def compare_counts(ref, other):
    """(None or the reason other disagrees, whether the rows are in ref's
    order too)."""
    if other is None:
        return "empty output", False
    if len(other) != len(ref):
        return f"{len(other)} values, reference has {len(ref)}", False
    rd, od = dict(ref), dict(other)
    if len(od) != len(other):
        dup = next(v for v, _ in other if sum(1 for w, _ in other if w == v) > 1)
        return f"value {dup!r} twice", False
    for v, c in ref:
        if v not in od:
            return f"value {v!r} (count {c}) missing", False
        if od[v] != c:
            return f"value {v!r}: count {od[v]}, reference {c}", False
    extra = [v for v in od if v not in rd]
    if extra:
        return f"value {extra[0]!r} not in the reference", False
    for n, ((_, a), (_, b)) in enumerate(zip(ref, other), 1):
        if a != b:
            return f"the same counts in another order: row {n} has count {b}, reference {a}", False
    return None, [v for v, _ in ref] == [v for v, _ in other]


def main_counts(argv):
    ref = value_counts(argv[0])
    if ref is None:
        print("  reference output is empty")
        return 1
    ok = True
    for arg in argv[1:]:
        name, path = arg.split("=", 1)
        why, same = compare_counts(ref, value_counts(path))
        ok = ok and why is None
        if why is None:
            order = "same row order" if same else "equal counts' values in another order"
            print(f"  {name}: agree ({len(ref)} values, counts in the same order; {order})")
        else:
            print(f"  {name}: DISAGREE: {why}")
    return 0 if ok else 1


MODES = {"--rows": main_rows, "--ordered": main_ordered, "--scalar": main_scalar,
         "--counts": main_counts}


def main(argv):
    if len(argv) >= 2 and argv[1] == "--sequence":
        if len(argv) < 5 or any("=" not in a for a in argv[4:]):
            print(__doc__.strip(), file=sys.stderr)
            return 2
        return main_sequence(argv[2:])
    mode = MODES.get(argv[1]) if len(argv) >= 2 else None
    if mode:
        argv = argv[1:]
    if len(argv) < 3 or any("=" not in a for a in argv[2:]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if mode:
        return mode(argv[1:])
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
