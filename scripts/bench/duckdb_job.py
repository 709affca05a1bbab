"""The competitor's whole job, as one process: DuckDB loads a DynamoDB JSON
export (gzip), flattens it with the type wrappers removed into a table, and
answers the same question ddbsnap is asked.

Usage: python duckdb_job.py EXPORT_DATA_GLOB [--threads 2] [--parquet OUT]
"""
import argparse
import time

import duckdb

p = argparse.ArgumentParser()
p.add_argument("glob")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--parquet")
a = p.parse_args()

t0 = time.perf_counter()
con = duckdb.connect()
con.execute(f"SET threads={a.threads}")
con.execute(f"""
CREATE TABLE t AS
SELECT Item.id.S AS id, Item.__typename.S AS __typename, Item.name.S AS name,
       Item.email.S AS email, Item.phone.S AS phone,
       TRY_CAST(Item.age.N AS BIGINT) AS age, Item.age.S AS age_s,
       TRY_CAST(Item.score.N AS DECIMAL(38,3)) AS score, Item.isActive.BOOL AS isActive,
       Item.createdAt.S AS createdAt, Item.updatedAt.S AS updatedAt, Item.owner.S AS owner,
       Item.address.M AS address, Item.tags.SS AS tags
FROM read_json_auto('{a.glob}')
""")
t1 = time.perf_counter()
n = con.execute("SELECT count(*) FROM t WHERE name IS NULL").fetchone()[0]
t2 = time.perf_counter()
if a.parquet:
    con.execute(f"COPY t TO '{a.parquet}' (FORMAT parquet)")
t3 = time.perf_counter()
print(f"duckdb null_names={n} load_flatten_s={t1 - t0:.3f} query_s={t2 - t1:.3f} parquet_s={t3 - t2:.3f}")
