-- Per-user preferences (the UI language, …): not data, so writing them does not bump the
-- data version.
CREATE TABLE user_pref (
    user_name VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    PRIMARY KEY (user_name, key)
);
