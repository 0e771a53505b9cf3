-- +goose Up
-- Email identity; see db/schema/postgres/00009_email_identity.sql.
-- email_verified_at is INTEGER microseconds since the Unix epoch, UTC.
-- SQLite cannot add a NOT NULL column without a default, so email_key has
-- the empty default (never used: the adapter always sets it) and the
-- backfill below replaces it in every existing row.
ALTER TABLE users ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;

UPDATE users SET email_key = email;
UPDATE users
SET email_key = substr(email, 1, instr(email, '+') - 1) || substr(email, instr(email, '@'))
WHERE instr(substr(email, 1, instr(email, '@') - 1), '+') > 1
  AND NOT EXISTS (
      SELECT 1 FROM users o
      WHERE o.id <> users.id
        AND (o.email = substr(users.email, 1, instr(users.email, '+') - 1) || substr(users.email, instr(users.email, '@'))
             OR (instr(substr(o.email, 1, instr(o.email, '@') - 1), '+') > 1
                 AND substr(o.email, 1, instr(o.email, '+') - 1) || substr(o.email, instr(o.email, '@'))
                     = substr(users.email, 1, instr(users.email, '+') - 1) || substr(users.email, instr(users.email, '@'))
                 AND (o.created_at < users.created_at OR (o.created_at = users.created_at AND o.id < users.id)))));

CREATE UNIQUE INDEX users_email_key ON users (email_key);

-- +goose Down
DROP INDEX users_email_key;
ALTER TABLE users DROP COLUMN email_verified_at;
ALTER TABLE users DROP COLUMN email_key;
