-- name: datastore_purge_tombstones
-- description: Delete DataStore tombstones: items marked _deleted = true that synced clients have long since seen (DataStore normally expires them through _ttl; this removes those left behind).
-- param: table = Contact
-- param: key = id
SELECT '${table}' AS _table,
       'DELETE' AS _op,
       "${key}"
FROM "${table}"
WHERE ddb_text("_deleted") = 'true' AND ddb_type("_deleted") = 'BOOL'
