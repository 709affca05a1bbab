-- name: datastore_backfill
-- description: Backfill DataStore's conflict-detection fields on items written without them (by scripts or imports): _version = 1 where missing, and _lastChangedAt = the item's updatedAt in epoch milliseconds (now when updatedAt is missing or unreadable).
-- param: table = Contact
-- param: key = id
SELECT '${table}' AS _table,
       "${key}",
       CASE WHEN ddb_missing("_version") OR ddb_type("_version") = 'NULL' THEN 1 END AS "_version",
       CASE WHEN ddb_missing("_lastChangedAt") OR ddb_type("_lastChangedAt") = 'NULL'
            THEN COALESCE(
                CASE WHEN ddb_type("updatedAt") = 'S' THEN CAST(to_timestamp_millis(try_cast("updatedAt" AS TIMESTAMP)) AS BIGINT) END,
                CAST(to_timestamp_millis(now()) AS BIGINT))
       END AS "_lastChangedAt"
FROM "${table}"
WHERE ddb_missing("_version") OR ddb_type("_version") = 'NULL'
   OR ddb_missing("_lastChangedAt") OR ddb_type("_lastChangedAt") = 'NULL'
