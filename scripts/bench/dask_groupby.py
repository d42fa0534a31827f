"""Runs one of scripts/bench.sh's groupby queries with Dask DataFrame and
prints the result as CSV with a header on stdout.

    python3 scripts/bench/dask_groupby.py q1|q2|q3 FILE
    python3 scripts/bench/dask_groupby.py --version

Dask runs on its threaded scheduler with DASK_WORKERS threads (default 2), no
distributed cluster, and read_csv's default blocksize. Output columns match
the other tools: category, then count, value_sum, value_min, value_max,
value_mean, value_std as the query asks (std is the sample std, ddof=1).
"""
import os
import sys

import dask
import dask.dataframe as dd
import pandas as pd

AGGS = {
    # query: aggregations of value, in output order
    "q2": ["count", "sum"],
    "q3": ["count", "sum", "min", "max", "mean", "std"],
}


def main(argv):
    if len(argv) == 2 and argv[1] == "--version":
        print(f"dask {dask.__version__} (pandas {pd.__version__})")
        return 0
    if len(argv) != 3 or argv[1] not in ("q1", "q2", "q3"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    query, path = argv[1], argv[2]
    workers = int(os.environ.get("DASK_WORKERS", "2"))
    with dask.config.set(scheduler="threads", num_workers=workers):
        df = dd.read_csv(path)
        if query == "q1":
            mean = df.groupby("category")["value"].mean()
            out = mean[mean > 500].compute().rename("value_mean").to_frame()
        else:
            out = df.groupby("category")["value"].agg(AGGS[query]).compute()
            out.columns = ["count" if a == "count" else "value_" + a for a in AGGS[query]]
    out.sort_index().to_csv(sys.stdout, index_label="category")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
