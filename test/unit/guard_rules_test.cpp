/*
 * guard_rules_test.cpp: the duplicate-batch rules (src/rules/guard_rules.hpp):
 * what decide_insert() and decide_update() tell the guard to do, row by row,
 * and the texts of the guard's errors.
 *
 * The messages are those of the regression tests' expected output, where
 * the server raises them (expected/direct_dml.out, expected/adopt.out,
 * expected/bulk_load.out, expected/race_duplicate.out); the hints are those
 * of src/rules/guard_rules.cpp (the regression tests print few of them).
 */
#include <climits>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "../../src/rules/guard_rules.hpp"
#include "support.hpp"

using irp::BatchRow;
using irp::BatchStatus;
using irp::GuardAction;
using unit::ExpectedProblem;

namespace {

constexpr auto I = BatchStatus::Initiated;
constexpr auto A = BatchStatus::Active;
constexpr auto C = BatchStatus::Completed;
constexpr auto F = BatchStatus::Failed;
constexpr auto X = BatchStatus::Cancelled;
constexpr auto O = BatchStatus::Other;

constexpr std::optional<std::int32_t> none = std::nullopt;

/* A row of irp_batch as the guard reads it. */
BatchRow row(std::int32_t id, std::int32_t configuration_id, std::string_view batch_type, BatchStatus status,
             std::optional<std::int32_t> duplicate_of = std::nullopt)
{
    BatchRow r;
    r.id = id;
    r.configuration_id = configuration_id;
    r.batch_type = batch_type;
    r.status = status;
    r.duplicate_of = duplicate_of;
    return r;
}

/* The GuardAction a row expects; all false/empty is "nothing to check". */
struct Expect {
    bool clear_duplicate_of = false;
    bool check_conflict = false;
    std::optional<std::int32_t> check_duplicate_of;
    bool check_no_duplicates = false;
};

void check_action(const GuardAction& got, const Expect& want)
{
    CHECK(got.clear_duplicate_of == want.clear_duplicate_of);
    CHECK(got.check_conflict == want.check_conflict);
    CHECK(got.check_duplicate_of == want.check_duplicate_of);
    CHECK(got.check_no_duplicates == want.check_no_duplicates);
}

/* Rule 2's refusal of a row that names itself, as expected/direct_dml.out shows it for batch 500. */
ExpectedProblem self_duplicate(const char* detail)
{
    return ExpectedProblem{"23514", "a batch cannot be a duplicate of itself", detail, "", "irp_batch",
                           "irp_batch_duplicate_of_check"};
}

/* Either the action a row gets, or the Problem it is refused with. */
struct Outcome {
    Expect action;
    std::optional<ExpectedProblem> refused;
};

Outcome action(Expect e)
{
    return Outcome{e, std::nullopt};
}

Outcome refused(ExpectedProblem p)
{
    return Outcome{Expect{}, p};
}

template <typename Decide>
void check_outcome(Decide&& decide, const Outcome& want)
{
    std::optional<GuardAction> got;
    const std::optional<irp::Problem> problem = unit::problem_of([&] { got = decide(); });
    if (want.refused) {
        if (problem)
            unit::check_problem(*problem, *want.refused);
        else
            FAIL_CHECK("not refused; expected: ", want.refused->sqlstate, ": ", want.refused->message);
    } else if (problem) {
        FAIL_CHECK("refused: ", unit::outcome(*problem));
    } else if (got) {
        check_action(*got, want.action);
    }
}

}  // namespace

TEST_CASE("parse_batch_status and is_active: INITIATED and ACTIVE are active, every other label is not")
{
    struct Row {
        const char* name;
        const char* label;
        BatchStatus status;
        bool active;
    };
    const Row rows[] = {
        {"INITIATED", "INITIATED", I, true},
        {"ACTIVE", "ACTIVE", A, true},
        {"COMPLETED", "COMPLETED", C, false},
        {"FAILED", "FAILED", F, false},
        {"CANCELLED", "CANCELLED", X, false},
        {"a label of a newer version", "PAUSED", O, false},
        {"lower case is another label", "initiated", O, false},
        {"the empty label", "", O, false},
        {"a trailing space is another label", "ACTIVE ", O, false},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            CHECK(irp::parse_batch_status(r.label) == r.status);
            CHECK(irp::is_active(r.status) == r.active);
        }
    }
}

TEST_CASE("decide_insert: rule 1 for a new active batch, rule 2 for an intentional duplicate")
{
    struct Row {
        const char* name;
        BatchRow row;
        Outcome want;
    };
    const Row rows[] = {
        {"INITIATED without duplicate_of: check the key for an active batch (rule 1)",
         row(7, 42, "EDM_CREATION", I), action({false, true, none, false})},
        {"ACTIVE without duplicate_of: the same (ACTIVE counts as active)",
         row(7, 42, "EDM_CREATION", A), action({false, true, none, false})},
        {"COMPLETED: a finished batch conflicts with nothing", row(7, 42, "EDM_CREATION", C), action({})},
        {"FAILED: nothing to check", row(7, 42, "EDM_CREATION", F), action({})},
        {"CANCELLED: nothing to check", row(7, 42, "EDM_CREATION", X), action({})},
        {"an unknown status is not active: nothing to check", row(7, 42, "EDM_CREATION", O), action({})},
        {"INITIATED with duplicate_of: check that it names a batch of the same key (rule 2), no conflict",
         row(7, 42, "EDM_CREATION", I, 3), action({false, false, 3, false})},
        {"ACTIVE with duplicate_of: the same", row(7, 42, "EDM_CREATION", A, 3), action({false, false, 3, false})},
        {"a finished batch with duplicate_of: duplicate_of is still checked", row(7, 42, "EDM_CREATION", C, 3),
         action({false, false, 3, false})},
        {"duplicate_of names a later id: checked like any other", row(7, 42, "EDM_CREATION", I, INT_MAX),
         action({false, false, INT_MAX, false})},
        {"duplicate_of = its own id: refused (rule 2, the table's CHECK)", row(500, 42, "EDM_CREATION", I, 500),
         refused(self_duplicate("Batch 500 has duplicate_of = 500."))},
        {"a finished batch naming itself: refused too", row(8, 42, "EDM_CREATION", X, 8),
         refused(self_duplicate("Batch 8 has duplicate_of = 8."))},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            check_outcome([&] { return irp::decide_insert(r.row); }, r.want);
        }
    }
}

TEST_CASE("decide_update: every branch of rules 1 and 2 for a changed row")
{
    const ExpectedProblem id_change{"0A000", "the id of a batch cannot be changed", "Batch 4 would become batch 1000.",
                                    "Create a new batch with irp_create_batch() instead.", "irp_batch"};
    struct Row {
        const char* name;
        BatchRow old_row;
        BatchRow new_row;
        Outcome want;
    };
    const Row rows[] = {
        /* The id never changes; refused before anything else is looked at. */
        {"a new id: refused (0A000)", row(4, 42, "PORTFOLIO_CREATION", I), row(1000, 42, "PORTFOLIO_CREATION", I),
         refused(id_change)},
        {"a new id that also names itself as duplicate_of: the id's refusal comes first",
         row(4, 42, "PORTFOLIO_CREATION", I), row(1000, 42, "PORTFOLIO_CREATION", I, 1000), refused(id_change)},
        {"a new id along with a reactivation: the id's refusal comes first", row(4, 42, "PORTFOLIO_CREATION", C),
         row(1000, 42, "PORTFOLIO_CREATION", I), refused(id_change)},

        /* Nothing the guard cares about changed. */
        {"other columns only (INITIATED): nothing to check", row(1, 42, "EDM", I), row(1, 42, "EDM", I), action({})},
        {"other columns only (an intentional duplicate): nothing, duplicate_of kept", row(2, 42, "EDM", I, 1),
         row(2, 42, "EDM", I, 1), action({})},
        {"INITIATED -> ACTIVE: not becoming active, no check", row(1, 42, "EDM", I), row(1, 42, "EDM", A),
         action({})},
        {"ACTIVE -> INITIATED: no check", row(1, 42, "EDM", A), row(1, 42, "EDM", I), action({})},
        {"INITIATED -> ACTIVE of an intentional duplicate: duplicate_of kept, no check", row(2, 42, "EDM", I, 1),
         row(2, 42, "EDM", A, 1), action({})},

        /* Finishing, and finished rows. */
        {"ACTIVE -> COMPLETED: finishing needs no check", row(1, 42, "EDM", A), row(1, 42, "EDM", C), action({})},
        {"INITIATED -> CANCELLED: no check", row(1, 42, "EDM", I), row(1, 42, "EDM", X), action({})},
        {"COMPLETED -> FAILED: finished to finished, no check", row(1, 42, "EDM", C), row(1, 42, "EDM", F),
         action({})},
        {"a finished intentional duplicate cancelled: duplicate_of kept", row(2, 42, "EDM", I, 1),
         row(2, 42, "EDM", X, 1), action({})},

        /* Activation (rule 1): a finished batch becomes active. */
        {"COMPLETED -> INITIATED: check the key for an active batch", row(6, 42, "EDM", C), row(6, 42, "EDM", I),
         action({false, true, none, false})},
        {"FAILED -> ACTIVE: the same", row(6, 42, "EDM", F), row(6, 42, "EDM", A), action({false, true, none, false})},
        {"an unknown status -> INITIATED: activation", row(6, 42, "EDM", O), row(6, 42, "EDM", I),
         action({false, true, none, false})},
        {"CANCELLED intentional duplicate -> INITIATED: duplicate_of cleared, the key checked",
         row(19, 42, "EDM", X, 1), row(19, 42, "EDM", I, 1), action({true, true, none, false})},
        {"reactivated with a new duplicate_of: cleared all the same, not checked", row(19, 42, "EDM", X, 1),
         row(19, 42, "EDM", I, 5), action({true, true, none, false})},
        {"reactivated naming itself: cleared, so not refused", row(19, 42, "EDM", X), row(19, 42, "EDM", I, 19),
         action({true, true, none, false})},
        {"reactivated clearing duplicate_of itself: nothing left to clear", row(19, 42, "EDM", X, 1),
         row(19, 42, "EDM", I), action({false, true, none, false})},

        /* Key change (rule 1 for the new key; rule 2: its duplicates would be left behind). */
        {"an active batch to another configuration: the new key checked, and its duplicates",
         row(5, 43, "EDM", I), row(5, 42, "EDM", I), action({false, true, none, true})},
        {"an active batch to another batch_type: the same", row(1, 42, "EDM", A), row(1, 42, "EDM_OTHER", A),
         action({false, true, none, true})},
        {"batch_type differing only in case is another key", row(1, 42, "EDM", I), row(1, 42, "edm", I),
         action({false, true, none, true})},
        {"an intentional duplicate moved: duplicate_of cleared", row(23, 42, "EDM", I, 1),
         row(23, 42, "EDM_RETRY", I, 1), action({true, true, none, true})},
        {"a finished batch moved: no conflict, but its duplicates checked", row(6, 42, "EDM", C),
         row(6, 44, "EDM", C), action({false, false, none, true})},
        {"a finished intentional duplicate moved: cleared, no conflict", row(23, 42, "EDM", X, 1),
         row(23, 42, "EDM_RETRY", X, 1), action({true, false, none, true})},
        {"moved and finished at once: no conflict, its duplicates checked", row(1, 42, "EDM", A),
         row(1, 45, "EDM", C), action({false, false, none, true})},
        {"moved and reactivated at once: everything", row(6, 42, "EDM", C, 1), row(6, 45, "EDM", I, 1),
         action({true, true, none, true})},
        {"moved naming itself: cleared, so not refused", row(1, 42, "EDM", I), row(1, 45, "EDM", I, 1),
         action({true, true, none, true})},

        /* duplicate_of changes (rule 2), key and activity unchanged. */
        {"NULL -> 3 on an active batch: check the batch it names", row(1, 42, "EDM", A), row(1, 42, "EDM", A, 3),
         action({false, false, 3, false})},
        {"3 -> 4: check the new one", row(2, 42, "EDM", I, 3), row(2, 42, "EDM", I, 4),
         action({false, false, 4, false})},
        {"NULL -> 3 on a finished batch: checked too", row(6, 42, "EDM", C), row(6, 42, "EDM", C, 3),
         action({false, false, 3, false})},
        {"NULL -> 3 with INITIATED -> ACTIVE: checked (not an activation)", row(1, 42, "EDM", I),
         row(1, 42, "EDM", A, 3), action({false, false, 3, false})},
        {"NULL -> its own id on an active batch: refused (23514)", row(1, 42, "EDM", A), row(1, 42, "EDM", A, 1),
         refused(self_duplicate("Batch 1 has duplicate_of = 1."))},
        {"3 -> its own id on a finished batch: refused", row(6, 42, "EDM", C, 3), row(6, 42, "EDM", C, 6),
         refused(self_duplicate("Batch 6 has duplicate_of = 6."))},

        /* Promotion: an intentional duplicate becomes an ordinary batch. */
        {"3 -> NULL on an active batch: promoted, check the key for an active batch", row(19, 42, "EDM", I, 1),
         row(19, 42, "EDM", I), action({false, true, none, false})},
        {"3 -> NULL with INITIATED -> ACTIVE: promoted", row(19, 42, "EDM", I, 1), row(19, 42, "EDM", A),
         action({false, true, none, false})},
        {"3 -> NULL on a finished batch: nothing to check", row(19, 42, "EDM", C, 1), row(19, 42, "EDM", C),
         action({})},
        {"3 -> NULL while finishing: nothing to check", row(19, 42, "EDM", A, 1), row(19, 42, "EDM", X),
         action({})},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            check_outcome([&] { return irp::decide_update(r.old_row, r.new_row); }, r.want);
        }
    }
}

TEST_CASE("duplicate_batch: rule 1's error, message, DETAIL and HINT")
{
    struct Row {
        const char* name;
        std::int32_t configuration_id;
        const char* batch_type;
        irp::ExistingBatch existing;
        const char* message;
        const char* detail;
        const char* hint;
    };
    const Row rows[] = {
        {"created_at and created_by, 2 jobs (expected/direct_dml.out)", 42, "EDM_CREATION",
         {1, "INITIATED", "2026-11-28 10:00:00+00", "alice", 2},
         "Active batch already exists for configuration 42 and batch_type 'EDM_CREATION': Batch ID 1 (status: "
         "INITIATED)",
         "Batch 1 was created at 2026-11-28 10:00:00+00 by alice and has 2 jobs.",
         "Use irp_create_batch(..., allow_duplicate => true) to create an intentional duplicate, or cancel the "
         "existing batch with irp_cancel_batch(1)."},
        {"created_at without created_by, 3 jobs (expected/adopt.out)", 2, "EDM_CREATION",
         {4, "ACTIVE", "2025-10-01 10:30:00-07", "", 3},
         "Active batch already exists for configuration 2 and batch_type 'EDM_CREATION': Batch ID 4 (status: "
         "ACTIVE)",
         "Batch 4 was created at 2025-10-01 10:30:00-07 and has 3 jobs.",
         "Use irp_create_batch(..., allow_duplicate => true) to create an intentional duplicate, or cancel the "
         "existing batch with irp_cancel_batch(4)."},
        {"created_by without created_at, 1 job", 7, "RESULTS", {12, "INITIATED", "", "bob", 1},
         "Active batch already exists for configuration 7 and batch_type 'RESULTS': Batch ID 12 (status: INITIATED)",
         "Batch 12 was created by bob and has 1 job.",
         "Use irp_create_batch(..., allow_duplicate => true) to create an intentional duplicate, or cancel the "
         "existing batch with irp_cancel_batch(12)."},
        {"neither, no job (the message of expected/bulk_load.out)", 500, "BULK_DUP", {400500, "INITIATED", "", "", 0},
         "Active batch already exists for configuration 500 and batch_type 'BULK_DUP': Batch ID 400500 (status: "
         "INITIATED)",
         "Batch 400500 was created and has 0 jobs.",
         "Use irp_create_batch(..., allow_duplicate => true) to create an intentional duplicate, or cancel the "
         "existing batch with irp_cancel_batch(400500)."},
        {"the largest ids, many jobs", INT_MAX, "X", {INT_MAX, "ACTIVE", "", "", 3000000000LL},
         "Active batch already exists for configuration 2147483647 and batch_type 'X': Batch ID 2147483647 "
         "(status: ACTIVE)",
         "Batch 2147483647 was created and has 3000000000 jobs.",
         "Use irp_create_batch(..., allow_duplicate => true) to create an intentional duplicate, or cancel the "
         "existing batch with irp_cancel_batch(2147483647)."},
        {"a batch_type with a quote is written as it is", 1, "it's", {3, "INITIATED", "", "", 1},
         "Active batch already exists for configuration 1 and batch_type 'it's': Batch ID 3 (status: INITIATED)",
         "Batch 3 was created and has 1 job.",
         "Use irp_create_batch(..., allow_duplicate => true) to create an intentional duplicate, or cancel the "
         "existing batch with irp_cancel_batch(3)."},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            const irp::Problem p = irp::duplicate_batch(r.configuration_id, r.batch_type, r.existing);
            unit::check_problem(p, {"23505", r.message, r.detail, r.hint, "irp_batch", "idx_batch_unique_active"});
        }
    }
}

namespace {

/*
 * The Python client's pattern for the duplicate error's primary message,
 * _DUPLICATE_MESSAGE in clients/python/irp_batch_client/__init__.py
 * (re.compile(..., re.S), matched with fullmatch), as its three raw-string
 * lines are written there. The test checks that the file still has these
 * lines, so a change on either side fails here.
 */
const char* const python_pattern_lines[] = {
    R"X(    r"Active batch already exists for configuration (?P<configuration_id>\d+) ")X",
    R"X(    r"and batch_type '(?P<batch_type>.*)': Batch ID (?P<batch_id>\d+) ")X",
    R"X(    r"\(status: (?P<status>[A-Z]+)\)",)X",
};

/* The Python pattern's text: the raw strings of its lines, concatenated as Python does. */
std::string python_pattern()
{
    std::string pattern;
    for (const char* line : python_pattern_lines) {
        const std::string s(line);
        const std::size_t open = s.find("r\"");
        const std::size_t close = s.rfind('"');
        pattern += s.substr(open + 2, close - open - 2);
    }
    return pattern;
}

/*
 * The same pattern for std::regex (ECMAScript): named groups (?P<name>...)
 * become plain groups, numbered in order, and, for re.S, '.' matches any
 * character, newlines too ([\s\S]). Nothing else in the pattern differs.
 */
std::string ecmascript(const std::string& python)
{
    std::string out;
    for (std::size_t i = 0; i < python.size(); ++i) {
        const char c = python[i];
        if (c == '\\' && i + 1 < python.size()) {
            out += c;
            out += python[++i];
        } else if (python.compare(i, 4, "(?P<") == 0) {
            out += '(';
            i = python.find('>', i);
        } else if (c == '.') {
            out += "[\\s\\S]";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("duplicate_batch's primary message is the Python client's wire contract")
{
    SUBCASE("the pattern is the one in clients/python/irp_batch_client/__init__.py")
    {
        std::ifstream file(IRP_SOURCE_DIR "/clients/python/irp_batch_client/__init__.py");
        CHECK(file.good());
        std::stringstream text;
        text << file.rdbuf();
        const std::string source = text.str();
        std::string lines = "_DUPLICATE_MESSAGE = re.compile(\n";
        for (const char* line : python_pattern_lines)
            lines += std::string(line) + "\n";
        lines += "    re.S,\n)";
        CHECK(source.find(lines) != std::string::npos);
        CHECK(ecmascript(python_pattern()) ==
              R"X(Active batch already exists for configuration (\d+) and batch_type '([\s\S]*)': Batch ID (\d+) \(status: ([A-Z]+)\))X");
    }

    struct Row {
        const char* name;
        std::int32_t configuration_id;
        const char* batch_type;
        std::int32_t id;
        const char* status;
    };
    const Row rows[] = {
        {"an ordinary key", 42, "EDM_CREATION", 7, "INITIATED"},
        {"ACTIVE, large ids", INT_MAX, "PORTFOLIO_CREATION", INT_MAX, "ACTIVE"},
        {"a batch_type with a quote", 3, "it's", 9, "INITIATED"},
        {"a batch_type containing \"': Batch ID\"", 3, "x': Batch ID 1 (status: ACTIVE)", 9, "INITIATED"},
        {"a batch_type of quotes and parentheses", 3, "'(status: X)'", 11, "ACTIVE"},
        {"a batch_type with non-ASCII characters", 5, "Ünïcødé batch", 2, "INITIATED"},
        {"a batch_type with a line break (re.S)", 5, "two\nlines", 2, "INITIATED"},
    };
    unit::check_unique_names(rows);
    const std::regex pattern(ecmascript(python_pattern()));
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            const irp::Problem p = irp::duplicate_batch(r.configuration_id, r.batch_type,
                                                        irp::ExistingBatch{r.id, r.status, "", "", 0});
            const std::string message = unit::str(p.message);
            CAPTURE(message);
            std::smatch m;
            CHECK(std::regex_match(message, m, pattern));
            if (m.size() == 5) {
                CHECK(m[1].str() == std::to_string(r.configuration_id));
                CHECK(m[2].str() == r.batch_type);
                CHECK(m[3].str() == std::to_string(r.id));
                CHECK(m[4].str() == r.status);
            }
        }
    }
}

TEST_CASE("rule 2's other errors and the snapshot error: code, message, DETAIL, HINT, table, constraint")
{
    const BatchRow dup = row(9, 42, "PORTFOLIO_CREATION", I, 1);
    const BatchRow moved = row(1, 42, "EDM_CREATION", A);
    struct Row {
        const char* name;
        irp::Problem problem;
        ExpectedProblem want;
    };
    const Row rows[] = {
        {"duplicate_of names another key's batch (expected/direct_dml.out)",
         irp::duplicate_of_other_key(dup, 42, "EDM_CREATION"),
         {"23514", "duplicate_of must reference a batch with the same configuration_id and batch_type",
          "Batch 1 has configuration 42 and batch_type 'EDM_CREATION', but this batch has configuration 42 and "
          "batch_type 'PORTFOLIO_CREATION'.",
          "Set duplicate_of only on an intentional duplicate, to the batch of the same key it duplicates.",
          "irp_batch"}},
        {"duplicate_of names another configuration's batch",
         irp::duplicate_of_other_key(row(30, 73, "RESULTS", I, 1), 42, "EDM_CREATION"),
         {"23514", "duplicate_of must reference a batch with the same configuration_id and batch_type",
          "Batch 1 has configuration 42 and batch_type 'EDM_CREATION', but this batch has configuration 73 and "
          "batch_type 'RESULTS'.",
          "Set duplicate_of only on an intentional duplicate, to the batch of the same key it duplicates.",
          "irp_batch"}},
        {"duplicate_of names no batch (23503)", irp::duplicate_of_missing(row(9, 42, "EDM_CREATION", I, 9999)),
         {"23503", "duplicate_of must reference an existing batch", "Batch 9999 does not exist.",
          "Create the batch first; an intentional duplicate names a batch that is already there.", "irp_batch",
          "irp_batch_duplicate_of_fkey"}},
        {"duplicate_of names a batch after the snapshot (40001, expected/race_duplicate.out)",
         irp::duplicate_of_after_snapshot(row(3, 1, "EDM", I, 2)),
         {"40001", "could not serialize access: batch 2 was created after this transaction's snapshot",
          "Under REPEATABLE READ or SERIALIZABLE, duplicate_of can only name a batch the transaction's snapshot "
          "sees.",
          "Retry the transaction.", "irp_batch"}},
        {"a batch with intentional duplicates moved (23514)", irp::moved_with_duplicates(moved, 19),
         {"23514", "cannot change the key of a batch that has intentional duplicates",
          "Batch 19 is an intentional duplicate of batch 1; it would be left with another configuration_id or "
          "batch_type.",
          "Cancel or move its duplicates first, or clear their duplicate_of.", "irp_batch"}},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            unit::check_problem(r.problem, r.want);
        }
    }
}
