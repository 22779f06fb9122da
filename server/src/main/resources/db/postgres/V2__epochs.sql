-- Stream identity: every scope timeline has an epoch (1..2^53-1), drawn when the scope gets its
-- first oplog and again when its bizType's data is deleted or the store restored. A sync point
-- remembers the epoch it was acked on; 0 there means "stored before epochs existed".
ALTER TABLE scope_head ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
UPDATE scope_head SET epoch = floor(random() * 9007199254740990)::bigint + 1;
ALTER TABLE sync_point ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
