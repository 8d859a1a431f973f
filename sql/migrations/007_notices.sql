-- Notifications: the in-app inbox (one row per user and message) and the outbox (one row per
-- message to deliver through a channel: an e-mail to one address, or a webhook call). A message
-- is written in the same transaction as what caused it (an alert's state change, an action's
-- reminder), then delivered outside any transaction, so a slow mail server never holds the file.
CREATE SEQUENCE notice_id_seq;
CREATE TABLE inbox (
    id BIGINT PRIMARY KEY DEFAULT nextval('notice_id_seq'),
    user_name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- alert | subscription | action | system
    ref VARCHAR,                      -- what it is about (e.g. alert:RULE:METRIC:ORG:PERIOD, action:ID)
    subject VARCHAR NOT NULL,         -- rendered for this user, in their language, within their access
    body VARCHAR NOT NULL,
    link VARCHAR,                     -- an app-relative link, e.g. ?org=D1&period=2026-10
    created_at TIMESTAMPTZ NOT NULL,
    read_at TIMESTAMPTZ               -- NULL: unread
);
CREATE INDEX inbox_user ON inbox (user_name, read_at);
CREATE TABLE outbox (
    id BIGINT PRIMARY KEY DEFAULT nextval('notice_id_seq'),
    channel VARCHAR NOT NULL,         -- the channel's name (see channels)
    address VARCHAR,                  -- e-mail: the recipient's address; webhooks: NULL
    user_name VARCHAR,                -- for whom it was rendered; NULL: rendered for the rule's scope
    kind VARCHAR NOT NULL,
    ref VARCHAR,
    subject VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    link VARCHAR,
    rows_json VARCHAR,                -- a small table that goes with it (JSON list of objects)
    status VARCHAR NOT NULL,          -- pending | sent | dead
    attempts INTEGER NOT NULL,
    next_at TIMESTAMPTZ NOT NULL,     -- when to try (again)
    last_error VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE TABLE outbox_attachment (
    outbox_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    mime VARCHAR NOT NULL,
    content BLOB NOT NULL
);
