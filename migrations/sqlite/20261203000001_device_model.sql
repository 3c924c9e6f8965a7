-- The OCPP 2.0.1 device model (B06–B08), as chargers report it in
-- NotifyReport parts (csms::device_model).
--
-- One row per charger and variable: (component, component instance, EVSE,
-- connector, variable, variable instance). row_key is that identity with
-- names lowercased (OCPP names are case-insensitive) and absent parts
-- empty, so the key is never NULL and upserts find the row. attributes is
-- the JSON array variableAttribute[] as sent (type, value, mutability,
-- persistent, constant); characteristics the JSON object
-- variableCharacteristics (unit, dataType, minLimit, maxLimit, valuesList,
-- supportsMonitoring), NULL when not sent.
--
-- request_id is the report that wrote the row last; report_run the run of
-- that report (a requestId may be used again). When a FullInventory or
-- ConfigurationInventory report completes, the rows of other runs go: the
-- report replaces the model.
CREATE TABLE device_variables (
    charger_id          BLOB NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    row_key             TEXT NOT NULL,
    component           TEXT NOT NULL,
    component_instance  TEXT,
    evse_id             INTEGER,
    connector_id        INTEGER,
    variable            TEXT NOT NULL,
    variable_instance   TEXT,
    attributes          TEXT NOT NULL,
    characteristics     TEXT,
    request_id          INTEGER NOT NULL,
    report_run          BLOB NOT NULL,
    updated_at          TEXT NOT NULL,
    CONSTRAINT device_variables_pkey PRIMARY KEY (charger_id, row_key)
);

-- The operator's per-charger switches: refresh_on_boot asks the charger for
-- a FullInventory after each accepted boot. No row: all off.
CREATE TABLE device_model_settings (
    charger_id       BLOB PRIMARY KEY REFERENCES chargers (id) ON DELETE CASCADE,
    refresh_on_boot  INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL
);
