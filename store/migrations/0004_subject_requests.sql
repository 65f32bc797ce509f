-- Subject requests (the privacy policy's §4: disclosure, stop, erasure), each with its due date
-- (received + 14 days) and its state. `subject` is the subject key (a subscriber id or an opaque
-- contact:<hash>), never an address. Written with the change that carries a request out
-- (store/audit.cpp, AuditBatch::insert_sql), or by `requests add` for one that came by phone or
-- letter; closed by the change that carries it out or by `requests complete|refuse`.
CREATE TABLE subject_requests (
  id text PRIMARY KEY,
  subject text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('disclosure', 'stop', 'erase')),
  state text NOT NULL CHECK (state IN ('open', 'completed', 'refused')),
  received_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  via text NOT NULL,
  by text NOT NULL,
  closed_at timestamptz,
  note text,
  reason text
);
CREATE INDEX subject_requests_open ON subject_requests (state, due_at);
CREATE INDEX subject_requests_subject ON subject_requests (subject, kind);
