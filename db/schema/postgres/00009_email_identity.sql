-- +goose Up
-- Email identity. email_key is the uniqueness key of an address: its
-- normalised form with the local part's "+tag" dropped, so that
-- carol+1@example.com and carol@example.com are one account (the
-- application computes it: domain.EmailKey). email keeps the address as
-- typed (normalised). email_verified_at is when the owner followed a
-- mailed verification link; NULL while unproven.
ALTER TABLE users ADD COLUMN email_key text;
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Backfill: an existing account keeps its own address as key unless it is
-- the oldest claimant of its untagged form, so that accounts created before
-- this migration that already collide (carol@ and carol+1@) both survive;
-- only new registrations are refused.
UPDATE users SET email_key = email;
UPDATE users u
SET email_key = substr(u.email, 1, strpos(u.email, '+') - 1) || substr(u.email, strpos(u.email, '@'))
WHERE strpos(substr(u.email, 1, strpos(u.email, '@') - 1), '+') > 1
  AND NOT EXISTS (
      SELECT 1 FROM users o
      WHERE o.id <> u.id
        AND (o.email = substr(u.email, 1, strpos(u.email, '+') - 1) || substr(u.email, strpos(u.email, '@'))
             OR (strpos(substr(o.email, 1, strpos(o.email, '@') - 1), '+') > 1
                 AND substr(o.email, 1, strpos(o.email, '+') - 1) || substr(o.email, strpos(o.email, '@'))
                     = substr(u.email, 1, strpos(u.email, '+') - 1) || substr(u.email, strpos(u.email, '@'))
                 AND (o.created_at, o.id) < (u.created_at, u.id))));

ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;
CREATE UNIQUE INDEX users_email_key ON users (email_key);

-- +goose Down
DROP INDEX users_email_key;
ALTER TABLE users DROP COLUMN email_verified_at;
ALTER TABLE users DROP COLUMN email_key;
