-- What charging costs (OCPP 2.0.1 block I): tariffs in one currency each,
-- prices excluding tax, applied to a station's connectors or one connector
-- (a connector's own wins). A session's final cost is kept on the session.
CREATE TABLE tariffs (
    id                         BLOB PRIMARY KEY,
    name                       TEXT NOT NULL,
    currency                   TEXT NOT NULL,
    price_per_kwh              REAL NOT NULL,
    price_per_minute_charging  REAL NOT NULL,
    price_per_minute_idle      REAL NOT NULL,
    session_fee                REAL NOT NULL,
    tax_rate_percent           REAL NOT NULL,
    created_at                 TEXT NOT NULL
);

-- scope: 'station' or 'connector'; target_id: that station's or connector's id.
CREATE TABLE tariff_assignments (
    scope        TEXT NOT NULL,
    target_id    BLOB NOT NULL,
    tariff_id    BLOB NOT NULL REFERENCES tariffs (id) ON DELETE CASCADE,
    assigned_at  TEXT NOT NULL,
    PRIMARY KEY (scope, target_id)
);
