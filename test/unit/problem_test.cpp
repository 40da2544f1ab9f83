/*
 * problem_test.cpp: Problem and its Origin (src/rules/problem.hpp), and the
 * Problems several parts of the extension raise.
 *
 * An Origin is the error's LOCATION in the server log: a Problem built in a
 * function reports that function's file, line and function; a function that
 * takes `Origin where = Origin::here()` reports its caller. The functions
 * below build Problems on lines they know (__LINE__), and the rules' own
 * Problems are checked to name the line of src/rules/ that decided them.
 */
#include <cstring>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "../../src/rules/arg_rules.hpp"
#include "../../src/rules/guard_rules.hpp"
#include "../../src/rules/problem.hpp"
#include "support.hpp"

using irp::Code;
using irp::Origin;
using irp::Problem;
using irp::Text;

namespace {

/* f ends with suffix (an Origin's file is the path the compiler was given). */
bool ends_with(const char* f, const char* suffix)
{
    const std::size_t n = std::strlen(f), m = std::strlen(suffix);
    return n >= m && std::strcmp(f + n - m, suffix) == 0;
}

/* Line n (1-based) of a source file of the tree; file as the compiler was given it. */
std::string source_line(const char* file, int n)
{
    const std::string path = file[0] == '/' ? std::string(file) : std::string(IRP_SOURCE_DIR "/") + file;
    std::ifstream in(path);
    std::string line;
    for (int i = 0; i < n && std::getline(in, line); ++i) {
    }
    return in ? line : std::string("(no line ") + std::to_string(n) + " in " + path + ")";
}

/* A Problem and the line it is expected to name. */
struct Built {
    Problem problem;
    int line;
};

/* Builds a Problem without passing an Origin: the constructor's default names this function. */
Built built_in_a_function()
{
    const int line = __LINE__ + 1;
    Problem p(Code::Internal, Text("built here"));
    return Built{p, line};
}

/* A builder in problem.hpp's style: it takes the caller's Origin and passes it on. */
Problem a_builder(Origin where = Origin::here())
{
    return Problem(Code::Internal, Text("built for the caller"), where);
}

/* Calls a_builder: the Problem names this function and the line of the call. */
Built calls_a_builder()
{
    const int line = __LINE__ + 1;
    return Built{a_builder(), line};
}

/* The rules' builders, called on a known line: each names this caller. */
Built calls_trigger_misuse()
{
    const int line = __LINE__ + 1;
    return Built{irp::trigger_misuse("misused"), line};
}

Built calls_skipped_by_trigger()
{
    const int line = __LINE__ + 1;
    return Built{irp::skipped_by_trigger("irp_create_batch", "create the batch", "irp_batch"), line};
}

Built calls_duplicate_batch()
{
    const int line = __LINE__ + 1;
    return Built{irp::duplicate_batch(42, "EDM", irp::ExistingBatch{7, "INITIATED", "", "", 0}), line};
}

Built calls_moved_with_duplicates()
{
    irp::BatchRow row;
    row.id = 1;
    const int line = __LINE__ + 1;
    return Built{irp::moved_with_duplicates(row, 2), line};
}

/* The rules' builders that throw, called on a known line (the call shares the line with __LINE__). */
Built calls_jobs_not_an_array()
{
    int line = 0;
    try {
        line = __LINE__; irp::jobs_not_an_array(irp::JsonKind::Null);
    } catch (const Problem& p) {
        return Built{p, line};
    }
    FAIL_CHECK("jobs_not_an_array() returned");
    return Built{Problem(Code::Internal, Text()), 0};
}

Built calls_invalid_batch_id_element()
{
    int line = 0;
    try {
        line = __LINE__; irp::invalid_batch_id_element("batch_id", 1, 0);
    } catch (const Problem& p) {
        return Built{p, line};
    }
    FAIL_CHECK("invalid_batch_id_element() returned");
    return Built{Problem(Code::Internal, Text()), 0};
}

}  // namespace

TEST_CASE("a Problem's fields: what its constructor does not set is empty")
{
    const Problem p(Code::CheckViolation, Text("message"));
    CHECK(p.code == Code::CheckViolation);
    CHECK(unit::str(p.message) == "message");
    CHECK(p.detail.empty());
    CHECK(p.hint.empty());
    CHECK(p.schema.empty());
    CHECK(p.table.empty());
    CHECK(p.constraint.empty());
}

TEST_CASE("Origin: a Problem names the function that built it, or a builder's caller")
{
    struct Row {
        const char* name;
        Built (*build)();
        const char* function;
    };
    const Row rows[] = {
        {"built in a function: that function", built_in_a_function, "built_in_a_function"},
        {"a builder with Origin where = Origin::here(): its caller", calls_a_builder, "calls_a_builder"},
        {"trigger_misuse(): its caller", calls_trigger_misuse, "calls_trigger_misuse"},
        {"skipped_by_trigger(): its caller", calls_skipped_by_trigger, "calls_skipped_by_trigger"},
        {"duplicate_batch(): its caller", calls_duplicate_batch, "calls_duplicate_batch"},
        {"moved_with_duplicates(): its caller", calls_moved_with_duplicates, "calls_moved_with_duplicates"},
        {"jobs_not_an_array() (throws): its caller", calls_jobs_not_an_array, "calls_jobs_not_an_array"},
        {"invalid_batch_id_element() (throws): its caller", calls_invalid_batch_id_element,
         "calls_invalid_batch_id_element"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            const Built b = r.build();
            const Origin& o = b.problem.where;
            CHECK(o.file != nullptr);
            CHECK(o.function != nullptr);
            if (o.file != nullptr && o.function != nullptr) {
                CHECK(ends_with(o.file, "test/unit/problem_test.cpp"));
                CHECK(o.line == b.line);
                CHECK(std::string(o.function) == r.function);
            }
        }
    }
}

TEST_CASE("Origin: the rules' own Problems name the line of src/rules/ that decided them")
{
    irp::BatchRow self;
    self.id = 5;
    self.duplicate_of = 5;
    self.status = irp::BatchStatus::Initiated;
    irp::BatchRow other_id = self; /* batch 6: as an old row, an update to batch 5 changes the id */
    other_id.id = 6;
    other_id.duplicate_of.reset();

    struct Row {
        const char* name;
        void (*decide)(const irp::BatchRow&, const irp::BatchRow&);
        const char* file;
        const char* function;
        const char* on_the_line; /* a piece of the source line it names */
    };
    const Row rows[] = {
        {"require_not_null", [](const irp::BatchRow&, const irp::BatchRow&) { irp::require_not_null(true, "f", "a"); },
         "src/rules/arg_rules.cpp", "require_not_null", "Problem p("},
        {"validate_id", [](const irp::BatchRow&, const irp::BatchRow&) { irp::validate_id("batch_id", 0); },
         "src/rules/arg_rules.cpp", "validate_id", "Origin::here()"},
        {"validate_batch_type", [](const irp::BatchRow&, const irp::BatchRow&) { irp::validate_batch_type("", 0); },
         "src/rules/arg_rules.cpp", "validate_batch_type", "Origin::here()"},
        {"validate_reason", [](const irp::BatchRow&, const irp::BatchRow&) { irp::validate_reason(""); },
         "src/rules/arg_rules.cpp", "validate_reason", "Origin::here()"},
        {"decide_insert refusing a row that names itself",
         [](const irp::BatchRow& s, const irp::BatchRow&) { irp::decide_insert(s); }, "src/rules/guard_rules.cpp",
         "decide_insert", "refuse_self_duplicate(row)"},
        {"decide_update refusing a new id",
         [](const irp::BatchRow& s, const irp::BatchRow& m) { irp::decide_update(m, s); },
         "src/rules/guard_rules.cpp", "decide_update", "Origin::here()"},
        {"decide_update refusing a row that names itself",
         [](const irp::BatchRow& s, const irp::BatchRow&) {
             irp::BatchRow old_row = s;
             old_row.duplicate_of.reset();
             irp::decide_update(old_row, s);
         },
         "src/rules/guard_rules.cpp", "decide_update", "refuse_self_duplicate(new_row)"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            const std::optional<Problem> p = unit::problem_of([&] { r.decide(self, other_id); });
            CHECK(p.has_value());
            if (p && p->where.file != nullptr && p->where.function != nullptr) {
                const Origin& o = p->where;
                CHECK(ends_with(o.file, r.file));
                CHECK(std::string(o.function) == r.function);
                const std::string line = source_line(o.file, o.line);
                CAPTURE(line);
                CHECK(line.find(r.on_the_line) != std::string::npos);
            } else if (p) {
                FAIL_CHECK("the Problem has no origin");
            }
        }
    }
}

TEST_CASE("trigger_misuse: 39P01 with the message, detail and hint given")
{
    struct Row {
        const char* name;
        Problem problem;
        unit::ExpectedProblem want;
    };
    const Row rows[] = {
        {"a message alone", irp::trigger_misuse("irp_batch_drop_guard() must be fired as an event trigger"),
         {"39P01", "irp_batch_drop_guard() must be fired as an event trigger"}},
        {"with a detail and a hint", irp::trigger_misuse("m", "the detail", "the hint"),
         {"39P01", "m", "the detail", "the hint"}},
        {"with a hint only", irp::trigger_misuse("m", {}, "the hint"), {"39P01", "m", "", "the hint"}},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            unit::check_problem(r.problem, r.want);
        }
    }
}

TEST_CASE("skipped_by_trigger: 09000, as expected/trigger_safety.out shows the messages")
{
    const char* const hint = "Nothing was changed. Let such triggers pass the extension's own writes.";
    struct Row {
        const char* name;
        const char* function;
        const char* what;
        const char* table;
        unit::ExpectedProblem want;
    };
    const Row rows[] = {
        {"the batch row of a create", "irp_create_batch", "create the batch", "irp_batch",
         {"09000", "irp_create_batch() could not create the batch",
          "Another BEFORE trigger on irp_batch skipped a row that irp_create_batch() wrote.", hint}},
        {"a job row of a create", "irp_create_batch", "create every job", "irp_job",
         {"09000", "irp_create_batch() could not create every job",
          "Another BEFORE trigger on irp_job skipped a row that irp_create_batch() wrote.", hint}},
        {"the batch row of a cancel", "irp_cancel_batch", "cancel the batch", "irp_batch",
         {"09000", "irp_cancel_batch() could not cancel the batch",
          "Another BEFORE trigger on irp_batch skipped a row that irp_cancel_batch() wrote.", hint}},
        {"a job row of a cancel", "irp_cancel_batch", "cancel every job", "irp_job",
         {"09000", "irp_cancel_batch() could not cancel every job",
          "Another BEFORE trigger on irp_job skipped a row that irp_cancel_batch() wrote.", hint}},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            unit::check_problem(irp::skipped_by_trigger(r.function, r.what, r.table), r.want);
        }
    }
}
