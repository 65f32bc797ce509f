-- Sender webhook events not yet accepted by their receiver (DESIGN.md "Sender webhooks"). Each
-- is written in the same statement as the audit row of the state change it reports, so no
-- recorded change goes unannounced and none is announced twice after a crash (the row's stream
-- entry is deduplicated with it). `body` is the JSON exactly as signed and sent. A row leaves
-- when the receiver answers 2xx, or after webhooks.give_up_hours (logged).
CREATE TABLE webhook_events (
  event_id text PRIMARY KEY,
  sender text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL,
  next_at timestamptz NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX webhook_events_due ON webhook_events (next_at);
