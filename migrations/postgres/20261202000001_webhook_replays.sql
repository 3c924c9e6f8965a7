-- A delivery is known by its signature (which covers its timestamp and
-- body): a replay of it is acknowledged, never stored again. The body's
-- digest tells a vendor's redelivery under the same Idempotency-Key from
-- a different report reusing the key.
ALTER TABLE webhook_inbox ADD COLUMN signature TEXT;
ALTER TABLE webhook_inbox ADD COLUMN body_sha256 TEXT;
CREATE UNIQUE INDEX webhook_inbox_signature ON webhook_inbox (vendor_id, signature);
