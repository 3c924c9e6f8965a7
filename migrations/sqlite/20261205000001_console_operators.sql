-- The operator console (#17): operator accounts and their signed-in sessions.
--
-- An operator signs in with a name and password (argon2id hash); the
-- browser holds a random session token and the database only its SHA-256,
-- so a leaked table signs nobody in. A session carries its CSRF token
-- (every form posts it back) and ends at expires_at or at sign-out.
CREATE TABLE operators (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE console_sessions (
    token_hash  TEXT PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX console_sessions_operator ON console_sessions (operator_id);
