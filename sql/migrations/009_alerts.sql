-- Alert rules (SPEC §9): the rules as code (versioned; a removal is a version too), the state of
-- each rule × metric × org unit, the log of its transitions, and the rules whose evaluation fails.
CREATE TABLE alert_rule_version (
    code VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    definition VARCHAR NOT NULL,      -- JSON of kpi_core.model.alert.AlertRule (as written)
    removed BOOLEAN NOT NULL,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    reason VARCHAR,
    PRIMARY KEY (code, version)
);
CREATE SEQUENCE alert_state_id_seq;
-- One row per rule × metric × unit once the rule has judged it (rule, metric, org are unique;
-- kept by the code, as DuckDB checks a unique index too eagerly on updates in one transaction).
CREATE TABLE alert_state (
    id BIGINT PRIMARY KEY DEFAULT nextval('alert_state_id_seq'),
    rule VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    org VARCHAR NOT NULL,
    state VARCHAR NOT NULL,           -- ok | firing | acknowledged | resolved (snoozed: snoozed_until ahead)
    period VARCHAR,                   -- the period it was judged on
    since TIMESTAMPTZ NOT NULL,       -- when it entered this state
    value DOUBLE,                     -- the value judged (actual, change, z-score …)
    reason VARCHAR,                   -- JSON {code, params}: why, rendered in each reader's language
    last_notified_at TIMESTAMPTZ,     -- NULL: not told since it fired
    snoozed_until DATE,               -- no notices up to and including this day
    acked_by VARCHAR,
    acked_at TIMESTAMPTZ,
    checked_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_state_key ON alert_state (rule, metric, org);
CREATE SEQUENCE alert_event_id_seq;
CREATE TABLE alert_event (
    id BIGINT PRIMARY KEY DEFAULT nextval('alert_event_id_seq'),
    state_id BIGINT NOT NULL,
    rule VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    org VARCHAR NOT NULL,
    period VARCHAR,
    state VARCHAR NOT NULL,           -- firing | resolved
    value DOUBLE,
    reason VARCHAR,                   -- JSON {code, params}
    happened_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_event_rule ON alert_event (rule, happened_at);
-- A rule whose evaluation failed: kept while it keeps failing, so the admins are told once.
CREATE TABLE alert_failure (
    rule VARCHAR PRIMARY KEY,
    error VARCHAR NOT NULL,
    since TIMESTAMPTZ NOT NULL,
    last_checked_at TIMESTAMPTZ NOT NULL
);
