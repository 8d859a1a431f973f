(SELECT ancestor, descendant FROM (SELECT CAST(NULL AS VARCHAR) AS ancestor, CAST(NULL AS VARCHAR) AS descendant) AS c WHERE FALSE) AS c
