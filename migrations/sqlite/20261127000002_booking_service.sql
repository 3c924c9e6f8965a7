-- The booking service: every booking carries the id tag the driver's app or
-- card presents at the charger (OCPP idTag, at most 20 characters), and
-- whether its hardware reservation is in place on the charger.

ALTER TABLE bookings ADD COLUMN id_tag TEXT CHECK (length(id_tag) <= 20);
ALTER TABLE bookings ADD COLUMN reserved_on_charger INTEGER NOT NULL DEFAULT 0;

CREATE INDEX bookings_id_tag_idx ON bookings (id_tag) WHERE id_tag IS NOT NULL;
