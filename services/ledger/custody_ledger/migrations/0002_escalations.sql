-- The current view of each escalation, updated in the same transaction as its facts.

CREATE TABLE escalations (
    escalation_id   text        PRIMARY KEY,
    title           text        NOT NULL DEFAULT '',
    severity        text,
    state           text        NOT NULL DEFAULT 'open',
    custodian       text,
    raised_by       text        NOT NULL DEFAULT '',
    opened_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         int         NOT NULL DEFAULT 0,   -- CustodyChanged.version last applied
    level           int,
    team            text,
    policy_version  text,
    rule            text,
    explanation     jsonb,
    proof           jsonb,
    customer_impact boolean,
    trace_id        text,
    people          text[]      NOT NULL DEFAULT '{}', -- everyone ever offered, holding or paged
    raised          boolean     NOT NULL DEFAULT false -- the `raised` fact is applied
);

CREATE INDEX escalations_newest_idx ON escalations (opened_at DESC, escalation_id DESC);
CREATE INDEX escalations_custodian_idx ON escalations (custodian) WHERE state <> 'resolved';
CREATE INDEX escalations_raised_by_idx ON escalations (raised_by);
CREATE INDEX escalations_people_idx ON escalations USING gin (people);
