(SELECT ancestor, descendant FROM (SELECT CAST(NULL AS Nullable(String)) AS ancestor, CAST(NULL AS Nullable(String)) AS descendant) AS c WHERE FALSE) AS c
