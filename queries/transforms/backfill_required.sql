-- name: backfill_required
-- description: Give a field that is becoming required a value on every item that lacks it (missing or NULL), before the schema makes it required.
-- description: `value` is any SQL expression over the item: a constant such as 'ACTIVE' (the default) or 0, or computed, such as lower("email").
-- param: table = Contact
-- param: key = id
-- param: field = status
-- expression: value = 'ACTIVE'
SELECT '${table}' AS _table,
       "${key}",
       ${value} AS "${field}"
FROM "${table}"
WHERE ddb_missing("${field}") OR ddb_type("${field}") = 'NULL'
