-- name: rename_remove
-- description: Step 2 of renaming a field: remove the old name from items whose new name holds the same value. Items where the new name is missing or differs (a client changed one of them since step 1) are skipped and reported, never removed.
-- param: table = Contact
-- param: key = id
-- param: from = phone
-- param: to = phoneNumber
SELECT '${table}' AS _table,
       "${key}",
       '${from}' AS _remove,
       CASE WHEN ddb_missing("${to}") THEN '${to} is missing: run rename_copy first'
            WHEN get_field(ddb_attr("${from}"), 'ddb') <> get_field(ddb_attr("${to}"), 'ddb')
            THEN '${to} differs from ${from}: a client changed one of them since the copy'
       END AS _skip
FROM "${table}"
WHERE NOT ddb_missing("${from}")
