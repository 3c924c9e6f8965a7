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
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    state         text NOT NULL CHECK (state IN ('PENDING', 'REGISTERED', 'UNREGISTERED')),
    token_hash    text CONSTRAINT ocpi_partners_token_key UNIQUE,
    their_token   text,
    versions_url  text,
    version       text,
    endpoints     text NOT NULL DEFAULT '[]',
    roles         text NOT NULL DEFAULT '[]',
    country_code  text,
    party_id      text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX ocpi_partners_party ON ocpi_partners (country_code, party_id)
    WHERE state = 'REGISTERED';

-- What OCPI needs of a station beyond evgate's own fields; a station is a
-- Location for partners only once it has a row here with publish set.
CREATE TABLE ocpi_locations (
    station_id   uuid PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    city         text NOT NULL,
    postal_code  text,
    country      text NOT NULL,
    time_zone    text NOT NULL,
    publish      boolean NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- What each partner is owed and has not acknowledged yet: the latest state
-- of an object (an EVSE's status for the Locations module, a Booking for
-- Bookings), one row per partner and object, overwritten by newer states (a
-- partner that was down gets where things are now, once), deleted when
-- delivered.
CREATE TABLE ocpi_pushes (
    partner_id    uuid NOT NULL REFERENCES ocpi_partners (id) ON DELETE CASCADE,
    module        text NOT NULL CHECK (module IN ('locations', 'bookings', 'sessions', 'cdrs')),
    object_id     uuid NOT NULL,
    location_id   uuid NOT NULL,
    body          text NOT NULL,
    last_updated  timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL,
    last_error    text,
    PRIMARY KEY (partner_id, module, object_id)
);
CREATE INDEX ocpi_pushes_due ON ocpi_pushes (next_attempt);

-- Bookings a partner made through OCPI 2.3.0 Bookings: the evgate booking
-- (same holds, same ledger, same charger reservation as an app's) and what
-- OCPI needs besides: the partner's request id and authorization
-- reference, every request it sent with its verdict, and its cancellation.
CREATE TABLE ocpi_bookings (
    booking_id               uuid PRIMARY KEY REFERENCES bookings (id),
    partner_id               uuid NOT NULL REFERENCES ocpi_partners (id) ON DELETE CASCADE,
    request_id               text NOT NULL,
    authorization_reference  text NOT NULL,
    tokens                   text NOT NULL,
    requests                 text NOT NULL,
    canceled                 text,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    CONSTRAINT ocpi_bookings_request_key UNIQUE (partner_id, request_id)
);

-- Tokens partners pushed (OCPI module tokens, evgate as the receiver), as
-- they sent them; each is also an id tag, owned by the partner's booking
-- user, so chargers hear its verdict at Authorize and at a transaction's
-- start. The eMSP's latest say-so (a START_SESSION, or a real-time
-- authorization it allowed) leaves its method, reference and time, so the
-- Session that follows says how it was authorized.
CREATE TABLE ocpi_tokens (
    country_code             text NOT NULL,
    party_id                 text NOT NULL,
    uid                      text NOT NULL,
    token_type               text NOT NULL,
    partner_id               uuid NOT NULL REFERENCES ocpi_partners (id) ON DELETE CASCADE,
    body                     text NOT NULL,
    last_updated             timestamptz NOT NULL,
    authorization_reference  text,
    authorized_at            timestamptz,
    auth_method              text,
    PRIMARY KEY (country_code, party_id, uid, token_type)
);
CREATE INDEX ocpi_tokens_uid ON ocpi_tokens (uid);
