(SELECT ancestor, descendant FROM (VALUES (CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR))) AS c(ancestor, descendant) WHERE FALSE) AS c
