# Helpers shared by the busybox OS scripts (sourced, never run directly).
set -eu

die() {
  echo "busybox OS: $*" >&2
  exit 1
}

# Validate OSP_HOSTNAME: letters, digits, dots and dashes, at most 253 chars.
check_hostname() {
  h=$1
  [ -n "$h" ] || return 1
  [ "${#h}" -le 253 ] || return 1
  case "$h" in
    -*|.*|*..*) return 1 ;;
    *[!A-Za-z0-9.-]*) return 1 ;;
  esac
  return 0
}

guest_hostname() {
  if [ -n "${OSP_HOSTNAME:-}" ]; then
    echo "$OSP_HOSTNAME"
  else
    echo "${INSTANCE_NAME:?INSTANCE_NAME is not set}"
  fi
}

disk_bytes() {
  if [ -b "$1" ]; then
    blockdev --getsize64 "$1"
  else
    stat -c %s "$1"
  fi
}
