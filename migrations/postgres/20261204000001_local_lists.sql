-- Chargers' local authorization lists (OCPP 1.6 Local Auth List Management,
-- 2.0.1 block D): the list evgate wants each charger to hold, by version,
-- and what the charger last said. Entries changed in a version carry it, so
-- a differential update sends only what changed; removed entries stay as
-- tombstones until the charger holds the version that removed them.
CREATE TABLE local_lists (
    charger_id       uuid PRIMARY KEY REFERENCES chargers (id) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    charger_version  INTEGER,
    outcome          TEXT,
    synced_at        timestamptz,
    list_enabled     boolean,
    cache_enabled    boolean,
    max_items        INTEGER
);

CREATE TABLE local_list_entries (
    charger_id      uuid NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    id_tag          TEXT NOT NULL,
    changed_in      INTEGER NOT NULL,
    removed         boolean NOT NULL,
    reservation_id  INTEGER,
    until           timestamptz,
    PRIMARY KEY (charger_id, id_tag)
);

CREATE INDEX local_list_entries_by_tag ON local_list_entries (id_tag);
