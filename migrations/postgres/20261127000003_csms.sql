-- The CSMS: OCPP 1.6 transaction ids are assigned by us, positive 32-bit
-- integers unique per charger; the last one handed out lives here.
ALTER TABLE chargers ADD COLUMN transaction_seq integer NOT NULL DEFAULT 0;
ALTER TABLE chargers ADD COLUMN serial_number text;
