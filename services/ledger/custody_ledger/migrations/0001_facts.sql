-- The append-only, hash-chained record of every fact on the bus (see domain/chain.py).

CREATE TABLE facts (
    seq           bigint      PRIMARY KEY,          -- taken from chain_head, never a sequence
    msg_id        text        NOT NULL UNIQUE,      -- Nats-Msg-Id / event_id: redeliveries dedupe here
    escalation_id text        NOT NULL DEFAULT '',
    kind          text        NOT NULL,             -- wire kind: raised, routed, offered, page_sent, ...
    stream        text        NOT NULL,
    subject       text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    actor         text        NOT NULL DEFAULT '',
    trace_id      text,
    payload       jsonb       NOT NULL,
    prev_hash     text        NOT NULL,
    hash          text        NOT NULL
);

CREATE INDEX facts_escalation_idx ON facts (escalation_id, occurred_at);

-- One row: the last seq and hash. Appends lock it (SELECT ... FOR UPDATE), which serialises
-- writers across replicas and lets `ledger verify` notice a truncated tail.
CREATE TABLE chain_head (
    id   int    PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash text   NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));

CREATE FUNCTION facts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'facts is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER facts_no_update BEFORE UPDATE ON facts
    FOR EACH ROW EXECUTE FUNCTION facts_append_only();
CREATE TRIGGER facts_no_delete BEFORE DELETE ON facts
    FOR EACH ROW EXECUTE FUNCTION facts_append_only();
-- TRUNCATE skips row triggers, so it needs its own statement trigger.
CREATE TRIGGER facts_no_truncate BEFORE TRUNCATE ON facts
    FOR EACH STATEMENT EXECUTE FUNCTION facts_append_only();
