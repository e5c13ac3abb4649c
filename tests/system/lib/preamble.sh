# The start of every system test (sourced first: . "$(dirname "$0")/lib/preamble.sh"):
# strict mode without -e (a test records failed checks and goes on, see
# tests/lib/check.sh, the vocabulary shared with the integration tier), the
# boot and relay helpers, and $p, the prefix of the test's names.
#
#   system_boot [--topology]   boots the container (boot_start); with
#                              --topology also the veth topology around the
#                              relay (sys_make_veth_topology "$p", which
#                              stops the test if it cannot be made)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/check.sh"
. "$here/lib/boot.sh"
. "$here/lib/relay_helpers.sh"
p=mcrt$$

system_boot() {
    boot_start "${MESON_BUILD_ROOT:?run through meson test}"
    [[ "${1:-}" != --topology ]] || sys_make_veth_topology "$p"
}
