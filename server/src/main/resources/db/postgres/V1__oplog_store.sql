-- The oplog store of cluster mode. Every table that grows with traffic leads with scope_key,
-- and every query of the delivery path names one scope_key, so the tables can later be
-- distributed by it (Citus: SELECT create_distributed_table('oplog', 'scope_key'), ...).

-- One row per scope that ever had an oplog. last_id is the highest id ever assigned: trimming
-- and purging never lower it. Appends lock the row (in scope_key order), so ids are assigned
-- strictly increasing inside the transaction, whichever node appends.
CREATE TABLE scope_head (
    scope_key text   NOT NULL PRIMARY KEY,
    biz_type  text   NOT NULL,
    kind      char(1) NOT NULL,
    owner     text   NOT NULL,
    last_id   bigint NOT NULL
);
CREATE INDEX scope_head_by_biz_type ON scope_head (biz_type);

CREATE TABLE oplog (
    scope_key    text   NOT NULL,
    id           bigint NOT NULL,
    link_token   text   NOT NULL,
    payload      text   NOT NULL,
    third_msg_id text,
    created_at   bigint NOT NULL,
    valid_from   bigint NOT NULL,
    valid_until  bigint NOT NULL,
    filter       text,
    PRIMARY KEY (scope_key, id)
);
-- idempotency: (bizType, linkToken, thirdMsgId); the scope follows from bizType and linkToken.
-- The key goes with its oplog when that is trimmed or purged, as in the embedded store.
CREATE UNIQUE INDEX oplog_idempotency ON oplog (scope_key, link_token, third_msg_id)
    WHERE third_msg_id IS NOT NULL;

CREATE TABLE sync_point (
    scope_key  text   NOT NULL,
    device_id  text   NOT NULL,
    sync_point bigint NOT NULL,
    acked_at   bigint NOT NULL,
    PRIMARY KEY (scope_key, device_id)
);

-- small and read on every push: a reference table when distributed
CREATE TABLE biz_type (
    id     text NOT NULL PRIMARY KEY,
    config text NOT NULL
);

-- operation records: an audit trail, not the delivery path
CREATE TABLE operation_record (
    id       bigserial PRIMARY KEY,
    type     text   NOT NULL,
    at       bigint NOT NULL,
    actor    text   NOT NULL,
    biz_type text   NOT NULL,
    detail   text   NOT NULL
);
CREATE INDEX operation_record_by_at ON operation_record (at, id);
CREATE INDEX operation_record_by_biz_type ON operation_record (biz_type, at, id);
