-- When the guided setup (/welcome) was offered to the account: a new account is sent
-- there by its first sign-in with a password, once. Accounts made before the setup
-- existed are past their first week.
ALTER TABLE users ADD COLUMN welcomed_at BIGINT;
UPDATE users SET welcomed_at = created_at;
