-- name: seed_from_file
-- description: Seed a sandbox table from a CSV (with a header row) or Parquet file given as --input NAME=FILE: each row becomes one item (PUT), its columns the attributes, with CSV types guessed per column (text as S, numbers as N, true/false as BOOL; empty cells are left out), so 007 becomes N 7. To type CSV rows by the Amplify model instead, use `ddbsnap load --csv MODEL=FILE`.
-- param: table = Contact
-- param: input = seed
SELECT '${table}' AS _table,
       'PUT' AS _op,
       *
FROM "${input}"
