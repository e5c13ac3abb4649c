// The one way a fuzz target reports a broken property: say which, then
// abort so libFuzzer saves the input as a crash reproducer.
#pragma once

#include <cstdio>
#include <cstdlib>

[[noreturn]] inline void fuzz_fail(const char* what)
{
    std::fprintf(stdout, "property violated: %s\n", what);
    std::fflush(stdout);
    std::abort();
}
