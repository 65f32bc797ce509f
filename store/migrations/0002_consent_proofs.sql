-- Consent proofs (when, how, by whom, with what wording: 特定電子メール法 Art. 3(2)) in a table
-- of their own, kept longer than the audit (retention.consent_days ≥ retention.audit_days), so a
-- proof outlives the partitions its month's decisions were in. `history` reads both, in one
-- order (the audit's sequence numbers both).
CREATE TABLE consent_proofs (
  time timestamptz NOT NULL,
  seq bigint NOT NULL DEFAULT nextval('audit_seq'),
  subject text NOT NULL,
  channel text,
  record json NOT NULL
);
CREATE INDEX consent_proofs_subject ON consent_proofs (subject, time, seq);
CREATE INDEX consent_proofs_time ON consent_proofs (time);
-- A consent recorded before this migration was an audit row: it moves here.
INSERT INTO consent_proofs (time, seq, subject, channel, record)
SELECT time, seq, subject, record->>'channel', record FROM audit WHERE event = 'consent';
DELETE FROM audit WHERE event = 'consent';
