-- Review cycles (SPEC §10): a period and an org subtree, moved through
-- open → self → manager → calibration → closed. The cycle keeps the settings it was opened with
-- (competencies, rating scale, weights), so a later change of the settings does not change a
-- running cycle's results.
CREATE TABLE review_cycle (
    name VARCHAR PRIMARY KEY,
    period VARCHAR NOT NULL,          -- a month, quarter or year label (the scorecards judged)
    org VARCHAR NOT NULL,             -- the top of the reviewed subtree
    state VARCHAR NOT NULL,           -- open | self | manager | calibration | closed
    config JSON NOT NULL,             -- model.review.Config as opened
    opened_by VARCHAR NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL,
    closed_by VARCHAR,
    closed_at TIMESTAMPTZ
);

-- Who rates whom besides the person and their manager: peers and direct reports, chosen by the
-- manager. Never shown with their ratings (see review_rating).
CREATE TABLE review_rater (
    cycle VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,         -- the person's unit
    rater VARCHAR NOT NULL,           -- a user name
    kind VARCHAR NOT NULL,            -- peer | report
    chosen_by VARCHAR NOT NULL,
    chosen_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cycle, subject, rater)
);

-- One rater's score (and comment) of one competency of one person. Peer and report rows are read
-- only as averages of at least the cycle's minimum number of raters (services/reviews.py).
CREATE TABLE review_rating (
    cycle VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    rater VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- self | manager | peer | report
    competency VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    comment VARCHAR,
    rated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cycle, subject, rater, kind, competency)
);

-- A calibrated grade (and 9-box potential) of a unit or person, with the reason; every change is
-- also in the audit log.
CREATE TABLE review_calibration (
    cycle VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    grade VARCHAR,                    -- NULL: the computed grade stands
    potential VARCHAR,                -- low | medium | high (the 9-box's other axis)
    reason VARCHAR NOT NULL,
    changed_by VARCHAR NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cycle, subject)
);

-- What closing froze: each reviewed unit's and person's scorecard, line by line, with the import
-- batches its numbers came from. Never updated; a restatement shows beside it.
CREATE TABLE review_snapshot (
    cycle VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    score DOUBLE,
    grade VARCHAR,                    -- the KPI grade as computed at closing
    ratings DOUBLE,                   -- the ratings' part on the score scale (NULL: none)
    overall DOUBLE,                   -- KPI score and ratings combined with the cycle's weights
    overall_grade VARCHAR,            -- its grade before calibration
    final_grade VARCHAR,              -- after calibration
    items JSON NOT NULL,              -- [{metric, weight, actual, target, attainment, score, status}]
    batches JSON NOT NULL,            -- [batch id, ...] the live batches its figures were read from
    frozen_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cycle, subject)
);

-- A review meeting's notes on a person or unit (feedback), in the order written. The improvement
-- plan's items are action items (action_item, origin 'review:CYCLE:SUBJECT') with their follow-up dates.
CREATE SEQUENCE review_note_id_seq;
CREATE TABLE review_note (
    id BIGINT PRIMARY KEY DEFAULT nextval('review_note_id_seq'),
    cycle VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    note VARCHAR NOT NULL,
    written_by VARCHAR NOT NULL,
    written_at TIMESTAMPTZ NOT NULL
);
