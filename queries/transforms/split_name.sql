-- name: split_name
-- description: Split a full name into a first and a last name and set schemaVersion: the additive step of a rename-and-split (the old field stays; remove it with rename_remove-style cleanup once every client reads the new fields).
-- description: The first word becomes the first name and the rest the last name (left unset when there is none). Items whose name is missing, NULL, blank or not a string are left alone: the new model's checks then report them.
-- param: table = Contact
-- param: key = id
-- param: source = name
-- param: first = firstName
-- param: last = lastName
-- expression: version = 2
SELECT '${table}' AS _table,
       "${key}",
       split_part(trim("${source}"), ' ', 1) AS "${first}",
       CASE WHEN strpos(trim("${source}"), ' ') > 0
            THEN trim(substr(trim("${source}"), strpos(trim("${source}"), ' ') + 1))
       END AS "${last}",
       ${version} AS "schemaVersion"
FROM "${table}"
WHERE ddb_type("${source}") = 'S' AND trim("${source}") <> ''
