-- What each charger shows on its screen (OCPP 2.0.1 display messages): set
-- by an operator, set by evgate to announce a booking, or reported by the
-- charger. `info` is the MessageInfoType JSON as the charger knows it.
CREATE TABLE display_messages (
    charger_id   BLOB NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    message_id   INTEGER NOT NULL,
    origin       TEXT NOT NULL,
    info         TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (charger_id, message_id)
);
