-- What a write changed, so caches keep what it did not (query.cache's scoped keys).
-- base_version: the data version of the last write that may have changed anything (the org tree,
-- the dictionary, settings, ...). subject_version: the data version of the last narrow write to a
-- subject (the facts of one metric, the rows of one dataset) since; a subject not listed, or listed
-- with an older version, is as of base_version.
INSERT INTO setting SELECT 'base_version', value FROM setting WHERE key = 'data_version';

CREATE TABLE subject_version (
    subject VARCHAR PRIMARY KEY,
    version BIGINT NOT NULL
);
