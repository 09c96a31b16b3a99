#!/bin/sh
# tests/shell/soak_smoke.sh -- the soak of tests/helpers/soak.sh, short
# enough for `make check`: about a minute of faults, 100 cases, 5 kills, 2
# blackholes, then at most 90 s to settle.  Every SOAK_* variable can
# still be set from outside (SOAK_SEED to replay a run).
SOAK_SECONDS=${SOAK_SECONDS:-60}
SOAK_CASES=${SOAK_CASES:-100}
SOAK_KILLS=${SOAK_KILLS:-5}
SOAK_BLACKHOLES=${SOAK_BLACKHOLES:-2}
SOAK_SETTLE_MAX=${SOAK_SETTLE_MAX:-90}
SOAK_NAME=${SOAK_NAME:-soak_smoke}
export SOAK_SECONDS SOAK_CASES SOAK_KILLS SOAK_BLACKHOLES SOAK_SETTLE_MAX \
    SOAK_NAME
. "$ACCORD_SRCDIR/tests/helpers/soak.sh"
