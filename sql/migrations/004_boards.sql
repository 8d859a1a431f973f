-- Boards: every save is a version (who, when, why); a deletion is a version marked deleted.
-- Boards are not data the numbers depend on, so saving one does not bump the data version.
CREATE TABLE board_version (
    code VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    definition JSON NOT NULL,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    reason VARCHAR,
    deleted BOOLEAN NOT NULL,
    PRIMARY KEY (code, version)
);
