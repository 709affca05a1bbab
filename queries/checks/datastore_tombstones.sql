-- name: datastore_tombstones
-- table: *
-- requires: id, _deleted
-- keys: id
-- severity: warn
-- threshold: warn above 0
-- description: DataStore tombstones (_deleted = true) kept in the table; purge them once clients have synced
SELECT id FROM {table} WHERE CAST("_deleted" AS VARCHAR) = 'true'
