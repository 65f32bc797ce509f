-- Redis's hot state (opt-outs, consents, stops, suppressions, erasure markers) is a cache of the
-- system of record (DESIGN.md "Embedded default"). Every change to it is logged here as the
-- Redis commands it ran, in the statement that records the change's audit rows, so a Redis that
-- lost its data is rebuilt by replaying the log in order (store/hot_state.hpp). Commands carry
-- keyed hashes, times and codes: arguments are masked of addresses and numbers before they are
-- logged.
CREATE TABLE hot_state_log (
  seq bigserial PRIMARY KEY,
  time timestamptz NOT NULL,
  commands json NOT NULL
);
-- The generation both stores carry: a Redis without it (flushed, restarted without its data, an
-- empty replica after failover) is rebuilt before anything is sent.
CREATE TABLE hot_state_generation (
  id int PRIMARY KEY CHECK (id = 1),
  value text NOT NULL
);
