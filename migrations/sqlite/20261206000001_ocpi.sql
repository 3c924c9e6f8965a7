-- OCPI (#20): roaming partners (eMSPs) registered with evgate as their CPO,
-- the stations published to them as Locations, and the status pushes still
-- owed to each partner.
--
-- A partner starts PENDING with token A (given out of band); the
-- credentials handshake replaces it with token C (REGISTERED). Only the
-- SHA-256 of the token evgate issued is kept, so a leaked table lets nobody
-- in. Their token B is what evgate sends when it calls them, so it is kept
-- as given.
CREATE TABLE ocpi_partners (
    id            BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('PENDING', 'REGISTERED', 'UNREGISTERED')),
    token_hash    TEXT CONSTRAINT ocpi_partners_token_key UNIQUE,
    their_token   TEXT,
    versions_url  TEXT,
    version       TEXT,
    endpoints     TEXT NOT NULL DEFAULT '[]',
    roles         TEXT NOT NULL DEFAULT '[]',
    country_code  TEXT,
    party_id      TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX ocpi_partners_party ON ocpi_partners (country_code, party_id)
    WHERE state = 'REGISTERED';

-- What OCPI needs of a station beyond evgate's own fields; a station is a
-- Location for partners only once it has a row here with publish set.
CREATE TABLE ocpi_locations (
    station_id   BLOB PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    city         TEXT NOT NULL,
    postal_code  TEXT,
    country      TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    publish      INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
);

-- What each partner is owed and has not acknowledged yet: the latest state
-- of an object (an EVSE's status for the Locations module, a Booking for
-- Bookings), one row per partner and object, overwritten by newer states (a
-- partner that was down gets where things are now, once), deleted when
-- delivered.
CREATE TABLE ocpi_pushes (
    partner_id    BLOB NOT NULL REFERENCES ocpi_partners (id) ON DELETE CASCADE,
    module        TEXT NOT NULL CHECK (module IN ('locations', 'bookings', 'sessions', 'cdrs')),
    object_id     BLOB NOT NULL,
    location_id   BLOB NOT NULL,
    body          TEXT NOT NULL,
    last_updated  TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT NOT NULL,
    last_error    TEXT,
    PRIMARY KEY (partner_id, module, object_id)
);
CREATE INDEX ocpi_pushes_due ON ocpi_pushes (next_attempt);

-- Bookings a partner made through OCPI 2.3.0 Bookings: the evgate booking
-- (same holds, same ledger, same charger reservation as an app's) and what
-- OCPI needs besides: the partner's request id and authorization
-- reference, every request it sent with its verdict, and its cancellation.
CREATE TABLE ocpi_bookings (
    booking_id               BLOB PRIMARY KEY REFERENCES bookings (id),
    partner_id               BLOB NOT NULL REFERENCES ocpi_partners (id) ON DELETE CASCADE,
    request_id               TEXT NOT NULL,
    authorization_reference  TEXT NOT NULL,
    tokens                   TEXT NOT NULL,
    requests                 TEXT NOT NULL,
    canceled                 TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    CONSTRAINT ocpi_bookings_request_key UNIQUE (partner_id, request_id)
);

-- Tokens partners pushed (OCPI module tokens, evgate as the receiver), as
-- they sent them; each is also an id tag, owned by the partner's booking
-- user, so chargers hear its verdict at Authorize and at a transaction's
-- start. The eMSP's latest say-so (a START_SESSION, or a real-time
-- authorization it allowed) leaves its method, reference and time, so the
-- Session that follows says how it was authorized.
CREATE TABLE ocpi_tokens (
    country_code             TEXT NOT NULL,
    party_id                 TEXT NOT NULL,
    uid                      TEXT NOT NULL,
    token_type               TEXT NOT NULL,
    partner_id               BLOB NOT NULL REFERENCES ocpi_partners (id) ON DELETE CASCADE,
    body                     TEXT NOT NULL,
    last_updated             TEXT NOT NULL,
    authorization_reference  TEXT,
    authorized_at            TEXT,
    auth_method              TEXT,
    PRIMARY KEY (country_code, party_id, uid, token_type)
);
CREATE INDEX ocpi_tokens_uid ON ocpi_tokens (uid);
