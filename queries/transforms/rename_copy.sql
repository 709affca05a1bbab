-- name: rename_copy
-- description: Step 1 of renaming a field: copy each item's value, exactly as it is (any type), to the new name, where the new name is still missing. Deploy the schema with both fields, run this, move clients over, then run rename_remove.
-- param: table = Contact
-- param: key = id
-- param: from = phone
-- param: to = phoneNumber
SELECT '${table}' AS _table,
       "${key}",
       ddb_attr("${from}") AS "${to}"
FROM "${table}"
WHERE NOT ddb_missing("${from}") AND ddb_missing("${to}")
