-- name: seed_from_file
-- description: Seed a sandbox table from a CSV (with a header row) or Parquet file given as --input NAME=FILE: each row becomes one item (PUT), its columns the attributes (text as S, numbers as N, true/false as BOOL; empty cells are left out).
-- param: table = Contact
-- param: input = seed
SELECT '${table}' AS _table,
       'PUT' AS _op,
       *
FROM "${input}"
