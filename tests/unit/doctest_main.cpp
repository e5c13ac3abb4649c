// main() of the unit-test binary. Every test_<module>.cpp is linked into
// one executable (building 45 binaries repeated the doctest and JSON
// instantiations and 45 sanitizer links: half of CI's sanitizer build), and
// meson runs it once per module with --source-file=*/test_<module>.cpp.
// A filter that selects nothing would pass without testing anything (a
// renamed file, a typo in meson.build), so that run fails here.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

namespace {

unsigned selected_test_cases = 0;

// A listener only to read how many test cases passed the filters.
struct SelectedCount : doctest::IReporter {
    explicit SelectedCount(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats& stats) override
    {
        selected_test_cases = stats.numTestCasesPassingFilters;
    }
    void test_case_start(const doctest::TestCaseData&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

} // namespace

REGISTER_LISTENER("selected-count", 1, SelectedCount);

int main(int argc, char** argv)
{
    doctest::Context context(argc, argv);
    const int rc = context.run();
    if (context.shouldExit() || rc != 0)
        return rc;
    if (selected_test_cases == 0) {
        std::fputs("unit-tests: no test case matched the filters\n", stderr);
        return 1;
    }
    return 0;
}
