(SELECT ancestor, descendant FROM UNNEST([STRUCT(CAST(NULL AS STRING) AS ancestor, CAST(NULL AS STRING) AS descendant)]) AS c WHERE FALSE) AS c
