-- Core schema. History is kept by batch: the current value of a fact, a target or an
-- org unit is the row of its latest batch that has not been reverted.

CREATE TABLE setting (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
INSERT INTO setting VALUES ('data_version', '0'), ('fiscal_year_start', '1');

CREATE SEQUENCE batch_id_seq START 1;
CREATE TABLE batch (
    id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- org | actuals | targets | dataset
    dataset VARCHAR,                  -- dataset name, for kind = dataset
    mode VARCHAR,                     -- replace | append, for datasets
    source VARCHAR NOT NULL,          -- file name or database url (password hidden)
    sha256 VARCHAR,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    rows_in BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    status VARCHAR NOT NULL,          -- loaded | reverted
    reverted_at TIMESTAMPTZ,
    reverted_by VARCHAR,
    note VARCHAR
);

CREATE TABLE org_unit_version (
    code VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    parent VARCHAR,
    ord INTEGER NOT NULL,             -- position in its file, to keep the author's order
    batch_id BIGINT NOT NULL
);

CREATE TABLE metric_version (
    code VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    definition JSON NOT NULL,         -- as written (defaults not filled in)
    reason VARCHAR,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (code, version)
);

CREATE TABLE actual_fact (
    metric VARCHAR NOT NULL,
    org VARCHAR NOT NULL,
    period VARCHAR NOT NULL,          -- 2025-03 | 2025-Q1 | 2025
    value DOUBLE NOT NULL,
    batch_id BIGINT NOT NULL,
    source_row INTEGER                -- spreadsheet row, for drill-through
);

CREATE TABLE target_fact (
    metric VARCHAR NOT NULL,
    org VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    batch_id BIGINT NOT NULL,
    source_row INTEGER
);

-- One physical table per dataset batch (ds_<slug>__b<batch>); the dataset's view unions
-- the live ones, so replace and revert never move rows. The live set is the replay of
-- the dataset's loaded batches in order: replace starts it anew, append adds to it.
CREATE TABLE dataset (
    name VARCHAR PRIMARY KEY,
    slug VARCHAR NOT NULL,
    columns JSON NOT NULL,            -- [{"name": ..., "type": ...}] of the live view
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE dataset_batch (
    batch_id BIGINT PRIMARY KEY,
    dataset VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL
);

CREATE SEQUENCE audit_id_seq START 1;
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    happened_at TIMESTAMPTZ NOT NULL,
    user_name VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    object_type VARCHAR NOT NULL,
    object_key VARCHAR,
    before JSON,
    after JSON,
    reason VARCHAR
);

CREATE VIEW live_batch AS SELECT id FROM batch WHERE status = 'loaded';

CREATE VIEW org_unit AS
SELECT code, arg_max(name, batch_id) AS name, arg_max(parent, batch_id) AS parent,
       arg_max(ord, batch_id) AS ord, max(batch_id) AS batch_id
FROM org_unit_version WHERE batch_id IN (SELECT id FROM live_batch)
GROUP BY code;

CREATE VIEW actual AS
SELECT metric, org, period, arg_max(value, batch_id) AS value, max(batch_id) AS batch_id,
       arg_max(source_row, batch_id) AS source_row
FROM actual_fact WHERE batch_id IN (SELECT id FROM live_batch)
GROUP BY metric, org, period;

CREATE VIEW target AS
SELECT metric, org, period, arg_max(value, batch_id) AS value, max(batch_id) AS batch_id,
       arg_max(source_row, batch_id) AS source_row
FROM target_fact WHERE batch_id IN (SELECT id FROM live_batch)
GROUP BY metric, org, period;

CREATE VIEW metric AS
SELECT code, arg_max(definition, version) AS definition, max(version) AS version
FROM metric_version GROUP BY code;
