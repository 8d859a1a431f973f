-- Subscriptions: a user's board or cockpit place sent on a schedule or after each import.
-- key = user:board:CODE or user:cockpit:ORG (a user has one subscription per thing).
CREATE TABLE subscription (
    key VARCHAR PRIMARY KEY,
    user_name VARCHAR NOT NULL,
    definition VARCHAR NOT NULL,      -- the Subscription as JSON
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_sent_at TIMESTAMPTZ,         -- NULL: never sent
    last_batch BIGINT                 -- after_import: the newest loaded batch when it last went
);
