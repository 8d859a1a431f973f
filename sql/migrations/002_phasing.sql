-- Named phasing profiles: how a yearly (or quarterly) target is spread over its months.
-- position is the month's place in the fiscal year (1 = its first month).
CREATE TABLE phasing_profile (
    name VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    weight DOUBLE NOT NULL,
    PRIMARY KEY (name, position)
);
