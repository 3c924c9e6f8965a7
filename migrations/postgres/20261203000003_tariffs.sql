-- What charging costs (OCPP 2.0.1 block I): tariffs in one currency each,
-- prices excluding tax, applied to a station's connectors or one connector
-- (a connector's own wins). A session's final cost is kept on the session.
CREATE TABLE tariffs (
    id                         uuid PRIMARY KEY,
    name                       TEXT NOT NULL,
    currency                   TEXT NOT NULL,
    price_per_kwh              double precision NOT NULL,
    price_per_minute_charging  double precision NOT NULL,
    price_per_minute_idle      double precision NOT NULL,
    session_fee                double precision NOT NULL,
    tax_rate_percent           double precision NOT NULL,
    created_at                 timestamptz NOT NULL
);

-- scope: 'station' or 'connector'; target_id: that station's or connector's id.
CREATE TABLE tariff_assignments (
    scope        TEXT NOT NULL,
    target_id    uuid NOT NULL,
    tariff_id    uuid NOT NULL REFERENCES tariffs (id) ON DELETE CASCADE,
    assigned_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, target_id)
);
