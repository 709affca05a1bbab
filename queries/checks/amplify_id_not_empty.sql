-- name: id_not_empty
-- table: *
-- requires: id
-- keys: id
-- severity: error
-- description: the id is a non-empty string
SELECT id, ddb_type(id) AS found FROM {table} WHERE (ddb_type(id) IS DISTINCT FROM 'S') OR (CAST(id AS VARCHAR) = '')
