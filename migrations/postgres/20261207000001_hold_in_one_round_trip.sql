-- A hold in one round trip (cluster mode): claim the slot, then refuse it
-- if a booking takes it, in one call. Each statement of a VOLATILE
-- PL/pgSQL function reads a fresh snapshot under READ COMMITTED, so the
-- bookings are read after the INSERT succeeded: a booking confirmed
-- concurrently was inserted before its own hold was deleted, and our INSERT
-- could only succeed once that hold was gone, so the booking is seen.
--
-- Returns 1 stored, 0 slot taken by a live hold (or the token exists),
-- 2 the user is at the cap, 3 a booking takes the slot (nothing is kept).
-- With a cap the user's live holds are counted under a per-user advisory
-- lock (class, key), so racing holds of one user cannot pass it. A hold in
-- the way that has expired stops claiming its slot (its row stays for the
-- sweep, which cancels its charger reservation) and the INSERT is tried
-- once more.
CREATE FUNCTION evgate_try_hold(
    p_token text, p_user_id bigint, p_station_id uuid, p_connector_id uuid,
    p_start timestamptz, p_end timestamptz, p_expires_at timestamptz,
    p_id_tag text, p_reservation_id integer,
    p_cap bigint, p_lock_class integer, p_lock_key integer,
    p_now timestamptz, p_taking_the_slot text[]
) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
BEGIN
    IF p_cap IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(p_lock_class, p_lock_key);
        IF (SELECT count(*) FROM holds
            WHERE user_id = p_user_id AND expires_at > p_now) >= p_cap THEN
            RETURN 2;
        END IF;
    END IF;
    FOR attempt IN 1..2 LOOP
        INSERT INTO holds (token, user_id, station_id, connector_id, start_ts,
                           end_ts, expires_at, id_tag, reservation_id)
        VALUES (p_token, p_user_id, p_station_id, p_connector_id, p_start,
                p_end, p_expires_at, p_id_tag, p_reservation_id)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS n = ROW_COUNT;
        EXIT WHEN n = 1;
        IF attempt = 2 THEN
            RETURN 0;
        END IF;
        UPDATE holds SET claims_slot = false
        WHERE connector_id = p_connector_id AND claims_slot
          AND expires_at <= p_now AND start_ts < p_end AND p_start < end_ts;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            RETURN 0;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM bookings
               WHERE connector_id = p_connector_id
                 AND status = ANY (p_taking_the_slot)
                 AND start_ts < p_end AND p_start < end_ts) THEN
        DELETE FROM holds WHERE token = p_token;
        RETURN 3;
    END IF;
    RETURN 1;
END
$$;
