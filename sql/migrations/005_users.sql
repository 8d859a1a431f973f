-- Users, their roles and the org units they belong to; closed periods.
-- A user is never deleted (the audit log names them): disabling keeps the row.
CREATE TABLE app_user (
    name VARCHAR PRIMARY KEY,
    display_name VARCHAR,
    role VARCHAR NOT NULL,            -- admin | executive | manager | team_lead | employee
    password_hash VARCHAR,            -- argon2id; NULL: cannot sign in with a password
    email VARCHAR,                    -- an OIDC identity (st.login) maps to the user by email
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
-- The units a user belongs to (a team lead may lead several teams).
CREATE TABLE user_org (
    user_name VARCHAR NOT NULL,
    org VARCHAR NOT NULL,
    PRIMARY KEY (user_name, org)
);
-- Failed sign-ins, kept apart from app_user so counting them never rewrites the user row.
CREATE TABLE login_failure (
    user_name VARCHAR NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL
);
-- A closed period: changing its actuals or targets afterwards needs the admin role and a reason.
CREATE TABLE closed_period (
    period VARCHAR PRIMARY KEY,       -- a month, quarter or year label; closing a year closes its months
    closed_by VARCHAR NOT NULL,
    closed_at TIMESTAMPTZ NOT NULL,
    reason VARCHAR
);
-- Signed-in browser sessions: the cookie holds a random token; only its sha256 is stored, so a
-- copy of the warehouse file signs nobody in. Signing out or disabling the user ends them.
CREATE TABLE user_session (
    token_sha256 VARCHAR PRIMARY KEY,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
