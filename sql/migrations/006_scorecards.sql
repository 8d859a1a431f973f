-- Scorecards per unit (SPEC §3): every change is a version with who, when and why. A removal is
-- a version marked removed: the unit inherits its nearest ancestor's scorecard again.
CREATE TABLE scorecard_version (
    org VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    definition JSON NOT NULL,          -- {org, metrics: [{metric, weight}], perspective_weights}
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    reason VARCHAR NOT NULL,
    removed BOOLEAN NOT NULL,
    PRIMARY KEY (org, version)
);
