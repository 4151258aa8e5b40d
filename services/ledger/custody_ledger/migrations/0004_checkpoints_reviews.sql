-- Signed checkpoints (the copy that says where the checkpointer got to; the signed copies
-- that count live outside Postgres) and post-escalation reviews (a projection of `review`
-- facts). Both append-only.

CREATE TABLE ledger_checkpoints (
    seq        bigint      PRIMARY KEY,
    head_hash  text        NOT NULL,
    at         timestamptz NOT NULL,
    from_seq   bigint      NOT NULL,
    key_id     text        NOT NULL,
    signature  text        NOT NULL
);

CREATE TABLE reviews (
    review_id       text        PRIMARY KEY,   -- the review fact's msg_id
    escalation_id   text        NOT NULL,
    author          text        NOT NULL,
    at              timestamptz NOT NULL,
    threshold_right boolean     NOT NULL,      -- did the threshold fire in the right place?
    threshold_note  text        NOT NULL DEFAULT '',
    if_earlier      text        NOT NULL DEFAULT '',  -- what firing earlier would have changed
    gap             text        NOT NULL,      -- runbook | alert | ownership | none
    gap_detail      text        NOT NULL DEFAULT ''
);
CREATE INDEX reviews_escalation_idx ON reviews (escalation_id, at);
CREATE INDEX reviews_at_idx ON reviews (at);

CREATE TRIGGER ledger_checkpoints_no_change BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER reviews_no_change BEFORE UPDATE OR DELETE ON reviews
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER reviews_no_truncate BEFORE TRUNCATE ON reviews
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

REVOKE ALL ON ledger_checkpoints, reviews FROM PUBLIC;
REVOKE ALL ON ledger_checkpoints, reviews FROM ledger_owner;
GRANT SELECT, INSERT ON ledger_checkpoints, reviews TO ledger_app;
GRANT SELECT ON ledger_checkpoints, reviews TO ledger_reader;
