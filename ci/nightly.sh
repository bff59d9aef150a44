#!/usr/bin/env bash
# The lab's nightly conformance job; ci/gitlab-ci.yml and ci/Jenkinsfile only call this.
#
#   RIG=rigs/bench1.toml PROFILE=nightly BASELINE=last-release.json ci/nightly.sh [pytest args]
#
# 1. The suites on the rig with the profile -> $REPORT_DIR/$REPORT_NAME.html, .json, .junit.xml
#    and one pcap per test in $REPORT_DIR/pcap/.
# 2. With a baseline (the last release's JSON results): python -m reports compare BASELINE NEW
#    -> $REPORT_DIR/$REPORT_NAME-compare.html.
# Exit status: 0 no regression; 1 a regression (a test that passed in the baseline fails or errors
# now) or, without a baseline, any failing test; 2 the run itself broke (interrupted, usage or
# internal error, nothing collected, unreadable results). Tests that failed in the baseline too
# are the firmware's known state: both reports show them, they do not fail the night.
set -uo pipefail
cd "$(dirname "$0")/.."

RIG=${RIG:-rigs/emulator.toml}
PROFILE=${PROFILE:-nightly}
REPORT_NAME=${REPORT_NAME:-nightly}
REPORT_DIR=${REPORT_DIR:-reports/out}
BASELINE=${BASELINE-last-release.json}  # set but empty: no comparison
PYTHON=${PYTHON:-.venv/bin/python}

"$PYTHON" -m pytest suites --rig "$RIG" --profile "$PROFILE" -p no:cacheprovider \
    --report-dir "$REPORT_DIR" --report-name "$REPORT_NAME" "$@"
status=$?
case "$status" in
    0 | 1) ;;  # 1: some tests failed; the comparison with the baseline judges them
    *)
        echo "nightly: pytest exited $status: the run itself broke" >&2
        exit 2
        ;;
esac
if [ ! -s "$BASELINE" ]; then
    echo "nightly: no baseline results at $BASELINE: nothing to compare, a failing test fails the job" >&2
    exit "$status"
fi
"$PYTHON" -m reports compare "$BASELINE" "$REPORT_DIR/$REPORT_NAME.json" \
    --out "$REPORT_DIR/$REPORT_NAME-compare.html"
