-- Vendor webhooks: vendors and their signing secrets, the connectors each
-- vendor reports for, and the inbox that makes acknowledgement fast and
-- processing durable.
--
-- Secrets are kept as issued: verifying an HMAC needs the key itself. During
-- a rotation the previous secret stays valid until previous_secret_expires_at.
CREATE TABLE vendors (
    id                          BLOB PRIMARY KEY,
    name                        TEXT NOT NULL CONSTRAINT vendors_name_key UNIQUE,
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  TEXT,
    created_at                  TEXT NOT NULL
);

ALTER TABLE connectors ADD COLUMN vendor_id BLOB REFERENCES vendors (id);
CREATE UNIQUE INDEX connectors_vendor_connector_key
    ON connectors (vendor_id, vendor_connector_id) WHERE vendor_id IS NOT NULL;

-- seq orders entries: within one ordering_key (a connector, or a vendor
-- session) they are applied in arrival order.
CREATE TABLE webhook_inbox (
    seq              INTEGER PRIMARY KEY,
    id               BLOB NOT NULL CONSTRAINT webhook_inbox_id_key UNIQUE,
    vendor_id        BLOB NOT NULL REFERENCES vendors (id),
    kind             TEXT NOT NULL
        CHECK (kind IN ('connector-status', 'session-start', 'meter-update', 'session-end')),
    ordering_key     TEXT NOT NULL,
    payload          TEXT NOT NULL,
    idempotency_key  TEXT,
    state            TEXT NOT NULL CHECK (state IN ('PENDING', 'WAITING', 'DONE', 'DEAD')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    received_at      TEXT NOT NULL,
    processed_at     TEXT,
    CONSTRAINT webhook_inbox_idempotency_key UNIQUE (vendor_id, idempotency_key)
);
-- The worker reads the oldest pending entries in arrival order.
CREATE INDEX webhook_inbox_pending_idx ON webhook_inbox (seq) WHERE state = 'PENDING';
CREATE INDEX webhook_inbox_waiting_idx ON webhook_inbox (ordering_key) WHERE state = 'WAITING';
CREATE INDEX webhook_inbox_state_idx ON webhook_inbox (state, seq);

-- A vendor's session ends and meter updates name it by its transaction key alone.
CREATE INDEX charging_sessions_vendor_key_idx
    ON charging_sessions (transaction_key) WHERE protocol = 'vendor';

-- One instance at a time applies the inbox (so per-key order needs no
-- per-entry locks): it holds this lease and renews it every round; another
-- takes over when it lapses.
CREATE TABLE worker_leases (
    name         TEXT PRIMARY KEY,
    owner        BLOB NOT NULL,
    lease_until  TEXT NOT NULL
);
