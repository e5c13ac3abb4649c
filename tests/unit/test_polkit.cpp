// Proves the root shortcut of the D-Bus authorization trusts only an euid
// the bus vouches for: one sd-bus read from /proc ("augmented") is refused
// even when it is 0. (That a root caller whose euid comes from the bus
// driver passes is shown by tests/integration/test_bus_api.sh, whose root
// writes succeed with no polkit on the bus.)
#include "bus/polkit.hpp"

#include <systemd/sd-bus.h>
#include <unistd.h>

#include <doctest/doctest.h>

using namespace mcr;
using namespace mcr::bus;

TEST_CASE("creds_prove_root refuses an euid read from /proc")
{
    sd_bus_creds* raw = nullptr;
    REQUIRE(sd_bus_creds_new_from_pid(&raw, getpid(), SD_BUS_CREDS_EUID) >= 0);
    BusCredsPtr creds(raw);
    uid_t euid = 1;
    REQUIRE(sd_bus_creds_get_euid(creds.get(), &euid) >= 0);
    CHECK(euid == geteuid());
    // Everything sd_bus_creds_new_from_pid() fills comes from /proc.
    CHECK((sd_bus_creds_get_augmented_mask(creds.get()) & SD_BUS_CREDS_EUID) != 0);
    // Tests run as root, so this euid is 0: refused only for where it came from.
    CHECK(euid == 0);
    CHECK_FALSE(creds_prove_root(creds.get()));
}

TEST_CASE("creds_prove_root refuses missing creds and creds without an euid")
{
    CHECK_FALSE(creds_prove_root(nullptr));
    sd_bus_creds* raw = nullptr;
    REQUIRE(sd_bus_creds_new_from_pid(&raw, getpid(), SD_BUS_CREDS_PID) >= 0);
    BusCredsPtr creds(raw);
    CHECK_FALSE(creds_prove_root(creds.get()));
}
