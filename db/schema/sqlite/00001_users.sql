-- +goose Up
-- The SQLite schema mirrors db/schema/postgres version for version, with
-- these encodings (the adapter in adapters/sqlite maps them):
--   - ids are UUIDs in canonical lower-case text (36 characters), generated
--     by the adapter; SQLite has no uuid type or generator.
--   - instants are INTEGER microseconds since the Unix epoch, UTC: the
--     precision PostgreSQL's timestamptz keeps, and integers order and
--     compare correctly in indexes and range conditions whatever the year.
--   - calendar days are TEXT 'YYYY-MM-DD' (UTC), fixed width, so they
--     compare as dates.
--   - booleans are 0 or 1.
--   - JSON is TEXT checked with json_valid.

-- Accounts. Emails are stored trimmed and lower-cased and are unique
-- regardless of case; accounts created by email-only login have no password.
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    email         TEXT    NOT NULL CHECK (email = lower(trim(email)) AND length(email) <= 254),
    password_hash TEXT,
    is_admin      BOOLEAN NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    daily_quota   INTEGER CHECK (daily_quota >= 0),
    disabled      BOOLEAN NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER
);

-- SQLite's lower() folds ASCII only; emails arrive normalised by the
-- application, so the index still makes them unique regardless of case.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- +goose Down
DROP TABLE users;
