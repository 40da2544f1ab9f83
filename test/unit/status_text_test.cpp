/*
 * status_text_test.cpp: the texts of live batch status
 * (src/rules/status_text.hpp): idle times and irp_batch_preflight()'s
 * message, as expected/progress.out shows them.
 */
#include <limits>
#include <optional>
#include <string>

#include <doctest/doctest.h>

#include "../../src/rules/status_text.hpp"
#include "support.hpp"

TEST_CASE("idle_text: rounded down, in the largest unit that gives 2 or more")
{
    struct Row {
        const char* name;
        double seconds;
        const char* want;
    };
    const Row rows[] = {
        {"0 seconds", 0, "0 seconds"},
        {"1 second, singular", 1, "1 second"},
        {"1.99 seconds round down", 1.99, "1 second"},
        {"45 seconds", 45, "45 seconds"},
        {"119 seconds: still seconds", 119.9, "119 seconds"},
        {"120 seconds: 2 minutes", 120, "2 minutes"},
        {"5 minutes", 300, "5 minutes"},
        {"7199 seconds: 119 minutes", 7199, "119 minutes"},
        {"7200 seconds: 2 hours", 7200, "2 hours"},
        {"26 hours", 26 * 3600, "26 hours"},
        {"30 hours (expected/progress.out)", 30 * 3600 + 59, "30 hours"},
        {"47 hours 59 minutes: 47 hours", 172799, "47 hours"},
        {"48 hours: 2 days", 172800, "2 days"},
        {"3 days", 3 * 86400 + 7, "3 days"},
        {"about six years", 2200.0 * 86400, "2200 days"},
        {"negative (a clock behind): 0 seconds", -5, "0 seconds"},
        {"not a number: 0 seconds", std::numeric_limits<double>::quiet_NaN(), "0 seconds"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            CHECK(unit::str(irp::idle_text(r.seconds)) == r.want);
        }
    }
}

TEST_CASE("preflight_message: an active batch, stale or not, with or without a recorded time")
{
    struct Row {
        const char* name;
        std::int32_t batch_id;
        const char* status;
        bool stale;
        std::optional<double> idle_seconds;
        const char* want;
    };
    const Row rows[] = {
        {"stale, idle 30 hours (expected/progress.out)", 6, "INITIATED", true, 30 * 3600.0,
         "batch 6 has had no activity for 30 hours; cancel it with SELECT irp_cancel_batch(6, 'stale: no activity "
         "for 30 hours')"},
        {"stale, idle 3 days", 2, "ACTIVE", true, 3 * 86400.0,
         "batch 2 has had no activity for 3 days; cancel it with SELECT irp_cancel_batch(2, 'stale: no activity for "
         "3 days')"},
        {"stale, no recorded time", 2, "INITIATED", true, std::nullopt,
         "batch 2 has no recorded activity; cancel it with SELECT irp_cancel_batch(2, 'stale: no recorded "
         "activity')"},
        {"not stale, idle 5 minutes", 1, "INITIATED", false, 300.0,
         "batch 1 exists (INITIATED, last activity 5 minutes ago)"},
        {"not stale, idle 30 hours (expected/progress.out)", 6, "INITIATED", false, 30 * 3600.0,
         "batch 6 exists (INITIATED, last activity 30 hours ago)"},
        {"not stale, ACTIVE, idle 1 second", 7, "ACTIVE", false, 1.0, "batch 7 exists (ACTIVE, last activity 1 second ago)"},
        {"not stale, no recorded time", 7, "ACTIVE", false, std::nullopt, "batch 7 exists (ACTIVE)"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            CHECK(unit::str(irp::preflight_message(r.batch_id, r.status, r.stale, r.idle_seconds)) == r.want);
        }
    }
}
