-- Report tables, updated in the same transaction as the facts (domain/report_projection.py).
-- Every column converges whatever the arrival order: earliest/latest times and counts.

CREATE TABLE report_escalations (
    escalation_id    text        PRIMARY KEY,
    severity         text,
    team             text,
    opened_at        timestamptz NOT NULL,     -- earliest fact
    first_offered_at timestamptz,
    acknowledged_at  timestamptz,              -- earliest ack
    ack_level        int,                      -- the chain level of that ack
    resolved_at      timestamptz,              -- earliest resolve
    handoffs         int         NOT NULL DEFAULT 0,
    level_offered_at jsonb       NOT NULL DEFAULT '{}',  -- {"<level>": earliest offer time}
    exception_class  text,
    followup_at      timestamptz,              -- latest follow-up note
    followup_reason  text        NOT NULL DEFAULT '',
    last_progress_at timestamptz,              -- latest custody fact
    in_doubt         int         NOT NULL DEFAULT 0
);
CREATE INDEX report_escalations_opened_idx ON report_escalations (opened_at);
CREATE INDEX report_escalations_open_idx ON report_escalations (last_progress_at)
    WHERE resolved_at IS NULL;

-- Pages whose outcome is unknown (the notifier never resends them): one row per fact.
CREATE TABLE report_pages_in_doubt (
    msg_id        text        PRIMARY KEY,
    escalation_id text        NOT NULL,
    page_id       text        NOT NULL DEFAULT '',
    recipient     text        NOT NULL DEFAULT '',
    channel       text        NOT NULL DEFAULT '',
    level         int,
    at            timestamptz NOT NULL
);
CREATE INDEX report_pages_in_doubt_at_idx ON report_pages_in_doubt (at);

REVOKE ALL ON report_escalations, report_pages_in_doubt FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON report_escalations TO ledger_app;
GRANT SELECT, INSERT ON report_pages_in_doubt TO ledger_app;
GRANT SELECT ON report_escalations, report_pages_in_doubt TO ledger_reader;
