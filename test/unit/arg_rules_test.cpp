/*
 * arg_rules_test.cpp: the checks of the SQL API's arguments
 * (src/rules/arg_rules.hpp), each error case as the server raises it.
 *
 * Each error row's expected text is the line of the regression tests'
 * expected output for the same input, in the same "SQLSTATE: message
 * (detail)" form (unit::outcome), copied from expected/bad_input.out,
 * expected/preflight.out or expected/progress.out as the row says, so the
 * unit tests and the regression tests agree. The hints, which those files do
 * not print, are checked separately against src/rules/arg_rules.cpp's texts.
 */
#include <cstdint>
#include <string>

#include <doctest/doctest.h>

#include "../../src/rules/arg_rules.hpp"
#include "support.hpp"

using irp::JsonKind;

namespace {

/* Runs f; the row's expected outcome is "ok" or the error line of expected/NAME.out. */
template <typename F>
void check_outcome(F&& f, const std::string& want, const std::string& hint)
{
    const std::optional<irp::Problem> p = unit::problem_of(std::forward<F>(f));
    const std::string got = p ? unit::outcome(*p) : "ok";
    CHECK(got == want);
    if (p) {
        CHECK(unit::str(p->hint) == hint);
        CHECK(unit::str(p->table) == "");
        CHECK(unit::str(p->constraint) == "");
    }
}

const std::string jobs_hint = "Pass one JSON object per job, e.g. '[{\"portfolio\": \"P1\"}]'.";
const std::string batch_ids_hint = "Pass the ids of existing batches, e.g. ARRAY[7, 8].";

}  // namespace

TEST_CASE("require_not_null: a NULL required argument is 22004, naming the function and the argument")
{
    struct Row {
        const char* name;
        const char* function;
        const char* argument;
        const char* want;
    };
    const Row rows[] = {
        {"irp_create_batch(NULL, 1, 1) (bad_input)", "irp_create_batch", "batch_type",
         "22004: batch_type must not be null (irp_create_batch() was called with a NULL batch_type.)"},
        {"irp_create_batch('X', NULL, 1) (bad_input)", "irp_create_batch", "configuration_id",
         "22004: configuration_id must not be null (irp_create_batch() was called with a NULL configuration_id.)"},
        {"irp_create_batch('X', 1, NULL) (bad_input)", "irp_create_batch", "step_id",
         "22004: step_id must not be null (irp_create_batch() was called with a NULL step_id.)"},
        {"allow_duplicate => NULL (bad_input)", "irp_create_batch", "allow_duplicate",
         "22004: allow_duplicate must not be null (irp_create_batch() was called with a NULL allow_duplicate.)"},
        {"irp_cancel_batch(NULL) (bad_input)", "irp_cancel_batch", "batch_id",
         "22004: batch_id must not be null (irp_cancel_batch() was called with a NULL batch_id.)"},
        {"irp_cancel_batch(1, NULL) (bad_input)", "irp_cancel_batch", "reason",
         "22004: reason must not be null (irp_cancel_batch() was called with a NULL reason.)"},
        {"irp_get_active_batches_for_config(NULL) (bad_input)", "irp_get_active_batches_for_config",
         "configuration_id",
         "22004: configuration_id must not be null (irp_get_active_batches_for_config() was called with a NULL "
         "configuration_id.)"},
        {"irp_batch_preflight(42, NULL) (preflight)", "irp_batch_preflight", "batch_types",
         "22004: batch_types must not be null (irp_batch_preflight() was called with a NULL batch_types.)"},
        {"irp_stale_batches(NULL) (progress)", "irp_stale_batches", "older_than",
         "22004: older_than must not be null (irp_stale_batches() was called with a NULL older_than.)"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            check_outcome([&] { irp::require_not_null(true, r.function, r.argument); }, r.want, "");
            check_outcome([&] { irp::require_not_null(false, r.function, r.argument); }, "ok", "");
        }
    }
}

TEST_CASE("validate_id: ids are positive integers (22023)")
{
    struct Row {
        const char* name;
        const char* argument;
        std::int32_t id;
        const char* want;
    };
    const Row rows[] = {
        {"configuration_id 0 (bad_input)", "configuration_id", 0,
         "22023: invalid configuration_id: 0 (configuration_id must be a positive integer, not 0.)"},
        {"configuration_id -1 (bad_input)", "configuration_id", -1,
         "22023: invalid configuration_id: -1 (configuration_id must be a positive integer, not -1.)"},
        {"step_id 0 (bad_input)", "step_id", 0,
         "22023: invalid step_id: 0 (step_id must be a positive integer, not 0.)"},
        {"batch_id 0 (bad_input)", "batch_id", 0,
         "22023: invalid batch_id: 0 (batch_id must be a positive integer, not 0.)"},
        {"batch_id -7 (bad_input)", "batch_id", -7,
         "22023: invalid batch_id: -7 (batch_id must be a positive integer, not -7.)"},
        {"the smallest integer", "batch_id", INT32_MIN,
         "22023: invalid batch_id: -2147483648 (batch_id must be a positive integer, not -2147483648.)"},
        {"1 is valid", "batch_id", 1, "ok"},
        {"the largest integer is valid (bad_input: max_ids_ok)", "configuration_id", INT32_MAX, "ok"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            check_outcome([&] { irp::validate_id(r.argument, r.id); }, r.want, "");
        }
    }
}

TEST_CASE("validate_batch_type: not empty, at most 255 characters, no control character, no space at either end")
{
    const std::string ok = "ok";
    const std::string too_long = "22023: invalid batch_type (batch_type has 256 characters; at most 255 are allowed.)";
    const std::string spaces_hint = "Remove the surrounding spaces.";
    struct Row {
        const char* name;
        std::string batch_type;
        std::string want;
        std::string hint;
    };
    const Row rows[] = {
        {"empty (bad_input)", "", "22023: invalid batch_type (batch_type must not be empty.)", ""},
        {"256 ASCII characters (bad_input)", unit::repeat("x", 256), too_long, ""},
        {"256 two-byte characters (bad_input)", unit::repeat("é", 256), too_long, ""},
        {"255 ASCII characters: ok (bad_input)", unit::repeat("x", 255), ok, ""},
        {"255 two-byte characters, 510 bytes: ok (bad_input)", unit::repeat("é", 255), ok, ""},
        {"1000 characters", unit::repeat("x", 1000),
         "22023: invalid batch_type (batch_type has 1000 characters; at most 255 are allowed.)", ""},
        {"a leading space (bad_input)", " EDM",
         "22023: invalid batch_type (batch_type ' EDM' begins or ends with a space.)", spaces_hint},
        {"a trailing space (bad_input)", "EDM ",
         "22023: invalid batch_type (batch_type 'EDM ' begins or ends with a space.)", spaces_hint},
        {"a single space", " ", "22023: invalid batch_type (batch_type ' ' begins or ends with a space.)",
         spaces_hint},
        {"a trailing tab (bad_input)", "EDM\t",
         "22023: invalid batch_type (batch_type contains a control character (byte 4).)", ""},
        {"a line break (bad_input)", "ED\nM",
         "22023: invalid batch_type (batch_type contains a control character (byte 3).)", ""},
        {"DEL, chr(127) (bad_input)", "ED\x7f" "M",
         "22023: invalid batch_type (batch_type contains a control character (byte 3).)", ""},
        {"a NUL byte first", std::string("\0EDM", 4),
         "22023: invalid batch_type (batch_type contains a control character (byte 1).)", ""},
        {"\\x1f, the last control character", "EDM\x1f",
         "22023: invalid batch_type (batch_type contains a control character (byte 4).)", ""},
        {"a control character is found before a surrounding space", " \tEDM",
         "22023: invalid batch_type (batch_type contains a control character (byte 2).)", ""},
        {"the byte counted is a byte, not a character", "é\n",
         "22023: invalid batch_type (batch_type contains a control character (byte 3).)", ""},
        {"too long is found before a control character", unit::repeat("x", 255) + "\n", too_long, ""},
        {"an ordinary batch type: ok", "EDM_CREATION", ok, ""},
        {"a single character: ok", "x", ok, ""},
        {"inner spaces: ok", "EDM CREATION  RETRY", ok, ""},
        {"a quote: ok", "it's", ok, ""},
        {"non-ASCII (bad_input: max_ids_ok): ok", "Ünïcødé batch", ok, ""},
        {"a non-breaking space at the end is not a space: ok", "EDM\xc2\xa0", ok, ""},
        {"the last printable ASCII character: ok", "~", ok, ""},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            check_outcome([&] { irp::validate_batch_type(r.batch_type, unit::utf8_chars(r.batch_type)); }, r.want,
                          r.hint);
        }
    }
}

TEST_CASE("validate_reason: a cancellation reason is not empty or blank")
{
    const std::string blank = "22023: invalid reason (reason must not be empty or blank.)";
    const std::string hint = "Give the reason for the audit trail, or omit reason to use 'Cancelled by user'.";
    struct Row {
        const char* name;
        std::string reason;
        std::string want;
    };
    const Row rows[] = {
        {"empty (bad_input)", "", blank},
        {"spaces and a tab (bad_input)", "  \t ", blank},
        {"a space", " ", blank},
        {"a tab", "\t", blank},
        {"a line feed", "\n", blank},
        {"a carriage return", "\r", blank},
        {"a form feed", "\f", blank},
        {"a vertical tab", "\v", blank},
        {"every blank character", " \t\n\r\f\v", blank},
        {"a reason: ok", "gone", "ok"},
        {"the default reason: ok", "Cancelled by user", "ok"},
        {"a reason in spaces: ok", "  stale  ", "ok"},
        {"one character after blanks: ok", " \t\nx", "ok"},
        {"non-ASCII: ok", "é", "ok"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            check_outcome([&] { irp::validate_reason(r.reason); }, r.want, r.want == "ok" ? "" : hint);
        }
    }
}

TEST_CASE("the errors of the jobs argument (22023)")
{
    struct Row {
        const char* name;
        std::size_t index; /* 0: jobs itself is not an array */
        JsonKind kind;
        const char* want;
    };
    const Row rows[] = {
        {"jobs => '{\"edm\": \"A\"}' (bad_input)", 0, JsonKind::Object,
         "22023: invalid jobs (jobs must be a JSON array of objects, not an object.)"},
        {"jobs => '\"A\"' (bad_input)", 0, JsonKind::String,
         "22023: invalid jobs (jobs must be a JSON array of objects, not a string.)"},
        {"jobs => '7' (bad_input)", 0, JsonKind::Number,
         "22023: invalid jobs (jobs must be a JSON array of objects, not a number.)"},
        {"jobs => 'true' (bad_input)", 0, JsonKind::Boolean,
         "22023: invalid jobs (jobs must be a JSON array of objects, not a boolean.)"},
        {"jobs => 'null' (bad_input)", 0, JsonKind::Null,
         "22023: invalid jobs (jobs must be a JSON array of objects, not null.)"},
        {"jobs => '[{\"edm\": \"A\"}, 2]' (bad_input)", 2, JsonKind::Number,
         "22023: invalid jobs (Element 2 of jobs is a number, not an object.)"},
        {"jobs => '[{...}, {...}, [3]]' (bad_input)", 3, JsonKind::Array,
         "22023: invalid jobs (Element 3 of jobs is an array, not an object.)"},
        {"jobs => '[null]' (bad_input)", 1, JsonKind::Null,
         "22023: invalid jobs (Element 1 of jobs is null, not an object.)"},
        {"jobs => '[\"A\"]' (bad_input)", 1, JsonKind::String,
         "22023: invalid jobs (Element 1 of jobs is a string, not an object.)"},
        {"jobs => '[true]'", 1, JsonKind::Boolean,
         "22023: invalid jobs (Element 1 of jobs is a boolean, not an object.)"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            if (r.index == 0)
                check_outcome([&] { irp::jobs_not_an_array(r.kind); }, r.want, jobs_hint);
            else
                check_outcome([&] { irp::job_not_an_object(r.index, r.kind); }, r.want, jobs_hint);
        }
    }
}

TEST_CASE("the errors of the arrays of batch types and batch ids")
{
    struct Row {
        const char* name;
        void (*raise)();
        const char* want;
        const char* hint;
    };
    const Row rows[] = {
        {"irp_batch_preflight(42, ARRAY['EDM_CREATION', NULL]) (preflight)",
         [] { irp::null_batch_type_element("irp_batch_preflight", 2); },
         "22004: batch_types must not contain null (irp_batch_preflight() was called with a NULL as element 2 of "
         "batch_types.)",
         ""},
        {"irp_batch_preflight(42, '{{EDM_CREATION},{ANALYSIS}}') (preflight)",
         [] { irp::invalid_batch_types(irp::Text("batch_types must be a one-dimensional array.")); },
         "22023: invalid batch_types (batch_types must be a one-dimensional array.)", ""},
        {"irp_batch_progress(ARRAY[1, NULL]) (progress)",
         [] { irp::null_batch_id_element("irp_batch_progress", "batch_id", 2); },
         "22004: batch_id must not contain null (irp_batch_progress() was called with a NULL as element 2 of "
         "batch_id.)",
         batch_ids_hint.c_str()},
        {"irp_batch_progress(ARRAY[1, 0]) (progress)", [] { irp::invalid_batch_id_element("batch_id", 2, 0); },
         "22023: invalid batch_id (Element 2 of batch_id is 0; batch ids are positive integers.)",
         batch_ids_hint.c_str()},
        {"irp_batch_progress(ARRAY[-7]) (progress)", [] { irp::invalid_batch_id_element("batch_id", 1, -7); },
         "22023: invalid batch_id (Element 1 of batch_id is -7; batch ids are positive integers.)",
         batch_ids_hint.c_str()},
        {"irp_batch_progress('{{1},{2}}') (progress)", [] { irp::batch_ids_not_a_list("batch_id"); },
         "22023: invalid batch_id (batch_id must be a one-dimensional array.)", batch_ids_hint.c_str()},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            check_outcome(r.raise, r.want, r.hint);
        }
    }
}

TEST_CASE("negative_older_than: a negative interval (22023), its text as the server prints it")
{
    const std::string hint = "Pass how long a batch has had no activity, e.g. interval '1 day'.";
    struct Row {
        const char* name;
        const char* value;
        const char* want;
    };
    const Row rows[] = {
        {"irp_stale_batches('-1 day') (progress)", "@ 1 day ago",
         "22023: invalid older_than: @ 1 day ago (older_than must not be negative.)"},
        {"irp_stale_batches('1 mon -31 days') (progress)", "@ 1 mon -31 days",
         "22023: invalid older_than: @ 1 mon -31 days (older_than must not be negative.)"},
        {"irp_stale_batches('-1 second') (progress)", "@ 1 sec ago",
         "22023: invalid older_than: @ 1 sec ago (older_than must not be negative.)"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            check_outcome([&] { irp::negative_older_than(r.value); }, r.want, hint);
        }
    }
}
