-- Firmware updates and log (diagnostics) uploads evgate asked chargers
-- for. request_id is evgate's, unique per charger (sent as requestId where
-- the message has one); upload_token is the secret in an upload location
-- on evgate itself, which lets the charger deliver its file for that
-- request only. Only the newest requests per charger and kind are kept.
CREATE TABLE maintenance_requests (
    charger_id   uuid NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    request_id   integer NOT NULL,
    kind         text NOT NULL,
    action       text NOT NULL,
    location     text NOT NULL,
    upload_token text,
    answer       text,
    requested_at timestamptz NOT NULL,
    PRIMARY KEY (charger_id, request_id),
    CONSTRAINT maintenance_upload_token_unique UNIQUE (upload_token)
);

-- The statuses chargers reported (FirmwareStatusNotification and kin), a
-- short history per charger and kind; id orders them.
CREATE TABLE maintenance_statuses (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    charger_id   uuid NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    status       text NOT NULL,
    request_id   integer,
    reported_at  timestamptz NOT NULL
);
CREATE INDEX maintenance_statuses_by_charger ON maintenance_statuses (charger_id, kind, id);
