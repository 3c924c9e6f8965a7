-- What chargers report about their security (SecurityEventNotification,
-- 1.6 security whitepaper and 2.0.1), newest first per charger.
CREATE TABLE security_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id   BLOB NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    tech_info    TEXT,
    received_at  TEXT NOT NULL
);
CREATE INDEX security_events_by_charger ON security_events (charger_id, occurred_at);

-- Charger certificates evgate's certificate authority signed (SignCertificate):
-- serial and validity only; never a key.
CREATE TABLE issued_certificates (
    charger_id   BLOB NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    serial       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    not_after    TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    CONSTRAINT issued_certificates_serial_unique UNIQUE (serial)
);
CREATE INDEX issued_certificates_by_charger ON issued_certificates (charger_id, issued_at);
