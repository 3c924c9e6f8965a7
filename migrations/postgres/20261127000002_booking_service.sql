-- The booking service: every booking carries the id tag the driver's app or
-- card presents at the charger (OCPP idTag, at most 20 characters), and the
-- hardware reservation it holds on the charger, if any.

ALTER TABLE bookings ADD COLUMN id_tag text CHECK (length(id_tag) <= 20);
ALTER TABLE bookings ADD COLUMN reserved_on_charger boolean NOT NULL DEFAULT false;

-- A transaction started with the booking's id tag finds its booking.
CREATE INDEX bookings_id_tag_idx ON bookings (id_tag) WHERE id_tag IS NOT NULL;
