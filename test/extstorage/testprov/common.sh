# Shared checks for the test ExtStorage provider (sourced, not run).
# Volumes are plain files "$EXTP_DIR/$VOL_NAME"; attach exposes them as loop devices.
set -eu
die() { echo "testprov: $*" >&2; exit 1; }
[ -n "${EXTP_DIR:-}" ] || die "parameter 'dir' is required"
case "$EXTP_DIR" in /*) ;; *) die "parameter 'dir' must be an absolute path";; esac
[ -d "$EXTP_DIR" ] || die "directory $EXTP_DIR does not exist"
[ -n "${VOL_NAME:-}" ] || die "VOL_NAME is not set"
case "$VOL_NAME" in */*|.*) die "invalid volume name $VOL_NAME";; esac
VOL_FILE="$EXTP_DIR/$VOL_NAME"
loops_of() { losetup -j "$VOL_FILE" -O NAME -n 2>/dev/null || true; }
