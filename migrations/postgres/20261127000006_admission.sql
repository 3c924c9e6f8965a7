-- Operator controls: whether a charger is admitted (how its BootNotification
-- is answered); NULL follows the default policy (OCPP_DEFAULT_ADMISSION).
ALTER TABLE chargers ADD COLUMN admission text
    CHECK (admission IN ('ACCEPTED', 'PENDING', 'REJECTED'));
