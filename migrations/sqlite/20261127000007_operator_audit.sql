-- Operator controls: credential rotation and the audit log.
--
-- After a charger accepts a new password or security profile, the old pair
-- stays valid until the charger reconnects with the new one or
-- previous_credentials_until passes. A rotation asked for while the charger
-- is offline waits in pending_credentials (sealed with CREDENTIAL_KEY: the
-- charger must be told the password itself) until its next connection.
ALTER TABLE chargers ADD COLUMN previous_security_profile INTEGER;
ALTER TABLE chargers ADD COLUMN previous_password_hash TEXT;
ALTER TABLE chargers ADD COLUMN previous_credentials_until TEXT;
ALTER TABLE chargers ADD COLUMN pending_credentials TEXT;

-- Who did what to which thing, when, and how it ended.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    details  TEXT NOT NULL,
    outcome  TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target, id);
