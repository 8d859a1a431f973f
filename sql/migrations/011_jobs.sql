-- The jobs that run on their own (alert checks, deliveries, reminders, subscriptions): what each
-- last did, so the Admin page and `jobs list` can say whether the scheduler is alive. `marker`
-- is a job's own bookmark (e.g. the last import batch it reacted to).
CREATE TABLE job_state (
    name VARCHAR PRIMARY KEY,
    last_started TIMESTAMPTZ,
    last_finished TIMESTAMPTZ,
    last_ok BOOLEAN,
    last_error VARCHAR,
    last_summary VARCHAR,
    runs BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    marker VARCHAR,
    ran_by VARCHAR                   -- host:pid of the process that ran it
);
