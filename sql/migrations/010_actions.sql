-- Action items (SPEC §9): what someone will do about a KPI that is off track, opened from an
-- alert or a red cell. The KPI as it stood when the action was opened (the baseline) is kept, so
-- the action shows how the KPI moved since. Closing needs a note: root cause and what was done.
CREATE SEQUENCE action_id_seq;
CREATE TABLE action_item (
    id BIGINT PRIMARY KEY DEFAULT nextval('action_id_seq'),
    metric VARCHAR NOT NULL,
    org VARCHAR NOT NULL,             -- the unit the action is about
    period VARCHAR NOT NULL,          -- the period it was opened on (a month, quarter or year label)
    owner VARCHAR NOT NULL,           -- the user who carries it out
    due DATE NOT NULL,
    title VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- open | closed
    origin VARCHAR NOT NULL,          -- cell (a red cell) | alert:RULE:METRIC:ORG:PERIOD
    base_actual DOUBLE,               -- the KPI at `period` when the action was opened
    base_target DOUBLE,
    base_attainment DOUBLE,
    base_status VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    closed_by VARCHAR,
    closed_at TIMESTAMPTZ,
    note VARCHAR,                     -- the closing note
    last_reminded_at TIMESTAMPTZ      -- the last overdue reminder sent to the owner
);
CREATE INDEX action_item_org ON action_item (org, status);
CREATE INDEX action_item_owner ON action_item (owner, status);
