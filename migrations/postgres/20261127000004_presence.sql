-- Presence: when a charger stays away past the grace period its connectors
-- turn OFFLINE; the status they had is kept for display.
ALTER TABLE connectors ADD COLUMN last_known_status text;
