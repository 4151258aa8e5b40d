-- The guard of the record against its own owner, installed by a superuser (custody_ledger.roles)
-- after every migration run. Event triggers can only be created, altered or dropped by a
-- superuser, so the owner role cannot switch this off.
--
-- The owner of a table may ALTER it (DISABLE TRIGGER, RENAME, OWNER TO) and DROP its triggers
-- whatever its privileges; these two event triggers refuse both on the record's tables for
-- everyone but a superuser. The trigger functions themselves belong to the superuser, so the
-- owner cannot CREATE OR REPLACE them with a no-op either.
-- /*PROTECTED_OIDS*/ and /*PROTECTED_NAMES*/ are filled in by custody_ledger.roles: oids,
-- because a name would stop matching after a RENAME.

CREATE OR REPLACE FUNCTION ledger_guard_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    command record;
    target oid;
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN;
    END IF;
    FOR command IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        target := NULL;
        IF command.classid = 'pg_class'::regclass THEN
            target := command.objid;
        ELSIF command.classid = 'pg_trigger'::regclass THEN
            SELECT tgrelid INTO target FROM pg_trigger WHERE oid = command.objid;
        END IF;
        IF target = ANY (ARRAY[/*PROTECTED_OIDS*/]::oid[]) THEN
            RAISE EXCEPTION '% on % is not allowed: the ledger record is append-only',
                command.command_tag, command.object_identity
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_guard_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    dropped record;
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN;
    END IF;
    FOR dropped IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF dropped.objid = ANY (ARRAY[/*PROTECTED_OIDS*/]::oid[])
           OR (dropped.object_type = 'trigger'
               AND dropped.address_names[1] || '.' || dropped.address_names[2]
                   = ANY (ARRAY[/*PROTECTED_NAMES*/]::text[])) THEN
            RAISE EXCEPTION 'dropping % % is not allowed: the ledger record is append-only',
                dropped.object_type, dropped.object_identity
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
END;
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'ledger_guard_ddl') THEN
        CREATE EVENT TRIGGER ledger_guard_ddl ON ddl_command_end
            WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER')
            EXECUTE FUNCTION ledger_guard_ddl();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'ledger_guard_drop') THEN
        CREATE EVENT TRIGGER ledger_guard_drop ON sql_drop EXECUTE FUNCTION ledger_guard_drop();
    END IF;
END;
$$;

ALTER FUNCTION facts_append_only() OWNER TO CURRENT_USER;
ALTER FUNCTION ledger_append_only() OWNER TO CURRENT_USER;
ALTER FUNCTION chain_head_forward_only() OWNER TO CURRENT_USER;
