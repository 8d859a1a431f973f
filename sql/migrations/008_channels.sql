-- Delivery channels (SPEC §9): an SMTP server or a webhook, defined as code (`channels apply`) or on
-- the Admin page. The definition holds no secret: it names an environment variable, or the secret
-- an admin typed is kept in channel_secret, a table of its own that no export, list, message or
-- audit entry ever reads back (only whether a secret is set).
CREATE TABLE channel (
    name VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- webhook | wecom | dingtalk | feishu | lark | slack | email
    definition VARCHAR NOT NULL,      -- JSON of kpi_core.model.channel.Channel
    updated_by VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE channel_secret (
    channel VARCHAR PRIMARY KEY,      -- webhooks: the signing secret; e-mail: the SMTP password
    secret VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
