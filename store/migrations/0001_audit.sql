-- The audit: one row per decision and per subject event (consent, opt-out/in, stop, erasure,
-- delivery reports), kept by month so that retention drops whole partitions. `record` is the
-- JSON line `history` prints, exactly as written (json, not jsonb, so its key order stays).
CREATE SEQUENCE audit_seq;
CREATE TABLE audit (
  time timestamptz NOT NULL,
  seq bigint NOT NULL DEFAULT nextval('audit_seq'),
  subject text NOT NULL,
  event text NOT NULL,
  sender text,
  message_id text,
  entry text,
  record json NOT NULL
) PARTITION BY RANGE (time);
-- Rows outside every monthly partition (a clock far off) land here rather than fail.
CREATE TABLE audit_default PARTITION OF audit DEFAULT;
CREATE INDEX audit_subject ON audit (subject, time, seq);
CREATE INDEX audit_message ON audit (sender, message_id);

-- The stream entries whose audit rows are written. A consumer that dies after writing a batch's
-- rows and before acknowledging its entries leaves them pending; whoever claims them later
-- writes no row twice. Kept for a few days (entries are claimed within the visibility timeout).
CREATE TABLE audit_entries (
  entry text PRIMARY KEY,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
