/*
 * main.cpp: doctest's main for the unit tests of src/rules/, and the count
 * of units that make test adds to its summary.
 *
 * doctest's own summary counts test cases, and one test case here is a whole
 * table. The listener below counts units instead: a unit is a table row (a
 * SUBCASE with no SUBCASE inside it) or a test case that has no rows. A unit
 * fails if an assertion fails or an exception escapes while it runs (doctest
 * then runs none of the table's later rows, which go uncounted: rows catch
 * what they call, see support.hpp); a test case that fails outside its rows
 * counts one failed unit more. After
 * doctest's summary it prints
 *   [unit] units: N | P passed | F failed
 * which test/run-tests.sh reads into make test's summary line.
 */
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <ostream>
#include <vector>

namespace {

class UnitCounter : public doctest::IReporter {
public:
    explicit UnitCounter(const doctest::ContextOptions& options) : out_(*options.cout) {}

    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}

    void test_run_end(const doctest::TestRunStats&) override
    {
        out_ << "[unit] units: " << passed_ + failed_ << " | " << passed_ << " passed | " << failed_ << " failed"
             << std::endl;
    }

    void test_case_start(const doctest::TestCaseData&) override
    {
        rows_ = 0;
        failed_rows_ = 0;
        open_.clear();
    }

    void test_case_reenter(const doctest::TestCaseData&) override { open_.clear(); }

    void test_case_end(const doctest::CurrentTestCaseStats& stats) override
    {
        if (rows_ == 0) {
            (stats.testCaseSuccess ? passed_ : failed_) += 1;
            return;
        }
        passed_ += rows_ - failed_rows_;
        failed_ += failed_rows_;
        if (!stats.testCaseSuccess && failed_rows_ == 0)
            failed_ += 1; /* it failed outside its rows */
    }

    void test_case_exception(const doctest::TestCaseException&) override { fail(); }

    void subcase_start(const doctest::SubcaseSignature&) override
    {
        if (!open_.empty())
            open_.back().has_child = true;
        open_.push_back(Subcase{});
    }

    void subcase_end() override
    {
        if (open_.empty())
            return;
        const Subcase s = open_.back();
        open_.pop_back();
        if (s.has_child)
            return;
        ++rows_;
        if (s.failed)
            ++failed_rows_;
    }

    void log_assert(const doctest::AssertData& a) override
    {
        if (a.m_failed && (a.m_at & doctest::assertType::is_warn) == 0)
            fail();
    }

    void log_message(const doctest::MessageData& m) override
    {
        if ((m.m_severity & doctest::assertType::is_warn) == 0)
            fail(); /* FAIL_CHECK() and FAIL() */
    }

    void test_case_skipped(const doctest::TestCaseData&) override {}

private:
    struct Subcase {
        bool has_child = false;
        bool failed = false;
    };

    /* The innermost open subcase failed (a failure outside any is the test case's). */
    void fail()
    {
        if (!open_.empty())
            open_.back().failed = true;
    }

    std::ostream& out_;
    std::vector<Subcase> open_;
    int rows_ = 0;
    int failed_rows_ = 0;
    int passed_ = 0;
    int failed_ = 0;
};

}  // namespace

DOCTEST_REGISTER_LISTENER("unit_counter", 1, UnitCounter);
