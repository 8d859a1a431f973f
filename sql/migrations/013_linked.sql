-- Linked datasets (SPEC §8): the rows stay in the source engine; only aggregates come back.
-- A refresh is an import batch (kind 'linked', dataset = the name, mode replace | append) whose
-- partials go into the metrics' agg_<metric>_v<version> tables like an embedded dataset's.
CREATE TABLE linked_dataset (
    name VARCHAR PRIMARY KEY,
    url VARCHAR NOT NULL,             -- holds the password: read only to connect; never listed, logged or audited
    shown_url VARCHAR NOT NULL,       -- the password hidden
    dialect VARCHAR NOT NULL,         -- sqlglot dialect of the source engine
    source_table VARCHAR,             -- a table (or Spark table expression) ...
    source_query VARCHAR,             -- ... or a single SELECT, in the source's dialect
    time_column VARCHAR NOT NULL,
    org_column VARCHAR NOT NULL,
    watermark VARCHAR,                -- a column that only grows as rows are added: refreshes are incremental
    last_watermark JSON,              -- {"value": ...} the largest watermark the partials hold
    as_of DATE,                       -- the time column's last day at the last refresh
    linked_by VARCHAR NOT NULL,
    linked_at TIMESTAMPTZ NOT NULL,
    refreshed_at TIMESTAMPTZ,
    last_rows BIGINT,                 -- source rows the last refresh aggregated
    last_partials BIGINT,             -- partial rows it brought back
    last_bytes BIGINT,                -- their size in Arrow
    last_seconds DOUBLE
);

-- Rows per org key × month of each refresh (n): a linked dataset's as-of month and its rows on no
-- unit, without asking the source again.
CREATE TABLE linked_rows (
    dataset VARCHAR NOT NULL,
    batch_id BIGINT NOT NULL,
    org VARCHAR,
    month DATE,
    n BIGINT NOT NULL
);

-- The watermark each refresh reached: the newest live refresh's is where the next incremental one
-- starts and what the source's rows are read up to (a reverted refresh is then read again).
CREATE TABLE linked_batch (
    batch_id BIGINT PRIMARY KEY,
    dataset VARCHAR NOT NULL,
    watermark JSON
);
