#!/usr/bin/env bash
# Sets up, then runs the dispatcher on its embedded default (a private redis-server and a private
# PostgreSQL cluster under the data directory, the outbox provider) with demo subscribers and a
# demo batch: reminders, a small campaign, a few malformed lines. Ends with a summary and where
# the outbox files are.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
bin=build/bin/dispatcher

# A fresh demo data directory each time, so the demo's ids are new to its idempotency records.
export DISPATCHER_DATA_DIR=${DISPATCHER_DATA_DIR:-var/demo}
unset DISPATCHER_REDIS_URL
unset DISPATCHER_DATABASE_URL
# The previous demo's Redis and PostgreSQL, stopped (and waited for) before their folder goes.
if [ -d "$DISPATCHER_DATA_DIR" ]; then $bin embedded stop >/dev/null 2>&1 || true; fi
rm -rf "$DISPATCHER_DATA_DIR"

$bin check
$bin subscriber put examples/subscribers.jsonl
# Consent for advertising e-mail from two members; one of them then opts out of advertising.
$bin consent m-1001 email --source member_settings --wording "mail-optin-v3" >/dev/null
$bin consent m-1002 email --source member_settings --wording "mail-optin-v3" >/dev/null
$bin consent m-1003 email --source signup_form --wording "mail-optin-v3-en" >/dev/null
$bin optout m-1002 purpose:advertising >/dev/null
echo "--- explain (what would happen, nothing sent):"
# The batch ends with lines that are not messages: explain names each by its line number and
# exits 1, and enqueue refuses exactly those lines (and exits 1) while queuing the rest.
$bin explain examples/messages.jsonl || echo "(explain: exit $?, some lines are not messages)"
echo "--- run:"
$bin enqueue examples/messages.jsonl || echo "(enqueue: exit $?, those lines were not queued)"
$bin run --until-idle 2>&1 | grep -v ' info '
echo "--- history m-1002 (開示):"
$bin history m-1002
echo "--- outbox:"
find "$DISPATCHER_DATA_DIR/outbox" -type f | sort
