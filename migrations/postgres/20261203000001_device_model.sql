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
    charger_id          uuid NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    row_key             text NOT NULL,
    component           text NOT NULL,
    component_instance  text,
    evse_id             integer,
    connector_id        integer,
    variable            text NOT NULL,
    variable_instance   text,
    attributes          text NOT NULL,
    characteristics     text,
    request_id          integer NOT NULL,
    report_run          uuid NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT device_variables_pkey PRIMARY KEY (charger_id, row_key)
);

-- The operator's per-charger switches: refresh_on_boot asks the charger for
-- a FullInventory after each accepted boot. No row: all off.
CREATE TABLE device_model_settings (
    charger_id       uuid PRIMARY KEY REFERENCES chargers (id) ON DELETE CASCADE,
    refresh_on_boot  boolean NOT NULL DEFAULT false,
    updated_at       timestamptz NOT NULL
);
