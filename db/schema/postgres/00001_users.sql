-- +goose Up
-- Accounts. Emails are stored trimmed and lower-cased and are unique
-- regardless of case; accounts created by email-only login have no password.
CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) <= 254),
    password_hash text,
    is_admin      boolean NOT NULL DEFAULT false,
    daily_quota   integer CHECK (daily_quota >= 0),
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- +goose Down
DROP TABLE users;
