-- Who may do what. The roles themselves (ledger_owner, ledger_app, ledger_reader) are created
-- by custody_ledger.roles as a superuser; this runs as ledger_owner, which owns every table.
--
-- ledger_app records facts: on the record (facts) it may only INSERT and SELECT. It also
-- upserts the read models, which are derived and can be rebuilt from facts, and advances
-- chain_head, which a trigger lets move only forward, onto a fact that exists.
-- ledger_reader may only SELECT. The owner keeps no right at all on the record either: it
-- could grant one back to itself, but only deliberately, and the triggers still refuse.

REVOKE ALL ON facts, chain_head, escalations, schema_migrations FROM PUBLIC;
REVOKE ALL ON facts FROM ledger_owner;
REVOKE DELETE, TRUNCATE ON chain_head FROM ledger_owner;

GRANT SELECT, INSERT ON facts TO ledger_app;
-- UPDATE is also what `SELECT ... FOR UPDATE` (the append lock) needs.
GRANT SELECT, UPDATE ON chain_head TO ledger_app;
GRANT SELECT, INSERT, UPDATE ON escalations TO ledger_app;
GRANT SELECT ON schema_migrations TO ledger_app;
GRANT SELECT ON facts, chain_head, escalations, schema_migrations TO ledger_reader;

-- The generic guard of every append-only table added from here on.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- chain_head only ever moves forward, and only onto a stored fact with that very hash, so
-- the app role cannot hide a truncated tail by moving the head back.
CREATE FUNCTION chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash)
       OR (NEW.seq > OLD.seq AND NOT EXISTS (
            SELECT 1 FROM facts WHERE seq = NEW.seq AND hash = NEW.hash)) THEN
        RAISE EXCEPTION 'chain_head may only advance to a stored fact (from % to %)',
            OLD.seq, NEW.seq USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER chain_head_forward BEFORE UPDATE ON chain_head
    FOR EACH ROW EXECUTE FUNCTION chain_head_forward_only();
CREATE TRIGGER chain_head_no_delete BEFORE DELETE ON chain_head
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER chain_head_no_truncate BEFORE TRUNCATE ON chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
