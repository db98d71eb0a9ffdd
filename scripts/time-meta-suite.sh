#!/usr/bin/env bash
# Times a command of the meta-suite on a fresh clone of each commit given, one clone right after
# the other: the speed of a shared 2-core machine drifts by a quarter or more within an hour, so
# only figures of commits run side by side compare. Each clone gets `make setup` first, untimed.
#
#   bash scripts/time-meta-suite.sh HEAD cb000a9                       # `make test-fast` on each
#   COMMAND='make test' bash scripts/time-meta-suite.sh HEAD cb000a9   # PostgreSQL: `make pg` first
#   COMMAND='CI=true bash .ci/run' bash scripts/time-meta-suite.sh a8e5e92 449bd53
#
# Prints a line per commit: wall, user and system seconds (the command's child processes, the
# pytest-xdist workers included), its exit status and its log. The clones inherit the
# environment, META_POSTGRES_URL included; .ci/run starts a server of its own. Exits with 1 if
# a command failed.
set -euo pipefail
cd "$(dirname "$0")/.."

COMMAND="${COMMAND:-make test-fast}"
SETUP="${SETUP:-make setup}"
if [ "$#" -eq 0 ]; then
    echo "usage: [COMMAND='make test-fast'] bash scripts/time-meta-suite.sh COMMIT..." >&2
    exit 2
fi

commits=()
for ref in "$@"; do
    commit="$(git rev-parse --verify --quiet "$ref^{commit}")" || {
        echo "time-meta-suite.sh: not a commit: $ref" >&2
        exit 2
    }
    commits+=("$commit")
done

clones="$(mktemp -d "${TMPDIR:-/tmp}/time-meta-suite.XXXXXX")"
logs="$(mktemp -d "${TMPDIR:-/tmp}/time-meta-suite-logs.XXXXXX")"
trap 'rm -rf "$clones"' EXIT

# Every clone is set up before any command is timed, so that the timed runs follow each other.
for index in "${!commits[@]}"; do
    clone="$clones/$index"
    git clone --quiet --no-checkout . "$clone"
    git -C "$clone" checkout --quiet --detach "${commits[$index]}"
    (cd "$clone" && bash -c "$SETUP") >"$logs/$index-setup.log" 2>&1 || {
        echo "time-meta-suite.sh: '$SETUP' failed on ${commits[$index]}: $logs/$index-setup.log" >&2
        exit 1
    }
done

failed=0
TIMEFORMAT='%R %U %S'
printf '%-12s %8s %8s %8s %6s  %s\n' commit wall_s user_s sys_s status log
for index in "${!commits[@]}"; do
    log="$logs/$index.log"
    status=0
    times="$({ time (cd "$clones/$index" && bash -c "$COMMAND" >"$log" 2>&1); } 2>&1)" || status=$?
    [ "$status" -eq 0 ] || failed=1
    read -r wall user sys <<<"$times"
    printf '%-12s %8s %8s %8s %6s  %s\n' "${commits[$index]:0:12}" "$wall" "$user" "$sys" "$status" "$log"
done
exit "$failed"
