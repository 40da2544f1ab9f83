/*
 * payload_test.cpp: the notification payloads (src/rules/payload.hpp):
 * their JSON, the escapes, strings cut at max_string_bytes, and job counts
 * summed under "(more)" so that every payload stays under the NOTIFY limit.
 *
 * The exact payloads are those expected/notify_events.out,
 * expected/notify_progress.out and expected/notify_bound.out show the server
 * sending. The character lengths are UTF-8's, as in the test clusters.
 */
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "../../src/rules/payload.hpp"
#include "support.hpp"

using irp::BatchEventMessage;
using irp::StatusCount;

namespace {

const std::string marker(irp::truncation_marker);

/* A batch event with every field given. */
BatchEventMessage event(std::int64_t event_id, std::int32_t batch_id, std::string_view name,
                        std::optional<std::string_view> status, std::optional<std::int32_t> configuration_id,
                        std::optional<std::string_view> batch_type, std::string_view actor)
{
    BatchEventMessage m;
    m.event_id = event_id;
    m.batch_id = batch_id;
    m.event = name;
    m.status = status;
    m.configuration_id = configuration_id;
    m.batch_type = batch_type;
    m.actor = actor;
    return m;
}

/* The payload of a CREATED event of batch 1 with the given batch_type, the rest fixed. */
std::string created_with_type(const std::string& json_batch_type)
{
    return R"({"event_id": 1, "batch_id": 1, "event": "CREATED", "status": "INITIATED", "configuration_id": 7, )"
           R"("batch_type": ")" +
           json_batch_type + R"(", "actor": "postgres"})";
}

/* The sum of the numbers in a job-progress payload's "counts" object (its keys here hold no '": '). */
std::int64_t sum_of_counts(const std::string& payload)
{
    const std::size_t counts = payload.find("\"counts\": {");
    std::int64_t sum = 0;
    for (std::size_t at = payload.find("\": ", counts + 10); at != std::string::npos;
         at = payload.find("\": ", at + 3))
        sum += std::stoll(payload.substr(at + 3));
    return sum;
}

}  // namespace

TEST_CASE("batch_event_payload: the JSON of one irp_batch_events message")
{
    const std::string long_type = unit::repeat("a\"", 5000); /* expected/notify_bound.out's batch type */
    const std::string x1024 = unit::repeat("x", 1024);
    const std::string x1025 = unit::repeat("x", 1025);
    const std::string x_and_e = "x" + unit::repeat("é", 600);
    const std::string controls = unit::repeat("\x01", 200);
    const std::string cut_short = "ab\xc3";
    struct Row {
        const char* name;
        BatchEventMessage message;
        std::string want;
    };
    const Row rows[] = {
        {"CREATED (expected/notify_events.out)",
         event(1, 1, "CREATED", "INITIATED", 42, "EDM_CREATION", "postgres"),
         R"({"event_id": 1, "batch_id": 1, "event": "CREATED", "status": "INITIATED", "configuration_id": 42, )"
         R"("batch_type": "EDM_CREATION", "actor": "postgres"})"},
        {"absent values are null", event(9, 3, "DELETED", std::nullopt, std::nullopt, std::nullopt, "alice"),
         R"({"event_id": 9, "batch_id": 3, "event": "DELETED", "status": null, "configuration_id": null, )"
         R"("batch_type": null, "actor": "alice"})"},
        {"the largest numbers", event(INT64_MAX, INT32_MAX, "CANCELLED", "CANCELLED", INT32_MAX, "X", "a"),
         R"({"event_id": 9223372036854775807, "batch_id": 2147483647, "event": "CANCELLED", "status": "CANCELLED", )"
         R"("configuration_id": 2147483647, "batch_type": "X", "actor": "a"})"},
        {"JSON escapes: quote, backslash, \\b \\f \\n \\r \\t, \\u00XX; DEL as it is",
         event(1, 1, "CREATED", "INITIATED", 7, "q\"b\\s\b\f\n\r\t\x01\x1f\x7f", "postgres"),
         created_with_type(R"(q\"b\\s\b\f\n\r\t\u0001\u001f)" "\x7f")},
        {"non-ASCII as it is", event(1, 1, "CREATED", "INITIATED", 7, "Ünïcødé", "postgres"),
         created_with_type("Ünïcødé")},
        {"an actor with a quote", event(1, 1, "CREATED", "INITIATED", 7, "EDM", "o\"brien"),
         R"({"event_id": 1, "batch_id": 1, "event": "CREATED", "status": "INITIATED", "configuration_id": 7, )"
         R"("batch_type": "EDM", "actor": "o\"brien"})"},
        {"1024 bytes escaped: kept whole", event(1, 1, "CREATED", "INITIATED", 7, x1024, "postgres"),
         created_with_type(x1024)},
        {"1025 bytes: cut to 1024 with the marker", event(1, 1, "CREATED", "INITIATED", 7, x1025, "postgres"),
         created_with_type(unit::repeat("x", 1024 - marker.size()) + marker)},
        {"10000 characters of a\" (expected/notify_bound.out): cut between escapes",
         event(1, 1, "CREATED", "INITIATED", 7, long_type, "postgres"),
         created_with_type(unit::repeat("a\\\"", 336) + "a" + marker)},
        {"multibyte characters: cut at a character boundary",
         event(1, 1, "CREATED", "INITIATED", 7, x_and_e, "postgres"),
         created_with_type("x" + unit::repeat("é", 504) + marker)},
        {"\\u00XX escapes: never cut inside one", event(1, 1, "CREATED", "INITIATED", 7, controls, "postgres"),
         created_with_type(unit::repeat("\\u0001", 168) + marker)},
        {"a character cut short at the end of the string: its bytes as they are",
         event(1, 1, "CREATED", "INITIATED", 7, cut_short, "postgres"), created_with_type(cut_short)},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            CHECK(unit::str(irp::batch_event_payload(r.message, unit::utf8_char_length)) == r.want);
        }
    }
}

TEST_CASE("batch_event_payload: the worst strings still fit in one payload")
{
    const std::string worst = unit::repeat("\x01", 5000); /* 6 bytes each, escaped */
    const BatchEventMessage m = event(INT64_MIN, INT32_MIN, worst, worst, INT32_MIN, worst, worst);
    const std::string payload = unit::str(irp::batch_event_payload(m, unit::utf8_char_length));
    CHECK(payload.size() <= irp::payload_limit);
    const std::string cut = "\"" + unit::repeat("\\u0001", 168) + marker + "\"";
    CHECK(cut.size() <= irp::max_string_bytes + 2);
    CHECK(payload ==
          R"({"event_id": -9223372036854775808, "batch_id": -2147483648, "event": )" + cut + R"(, "status": )" + cut +
              R"(, "configuration_id": -2147483648, "batch_type": )" + cut + R"(, "actor": )" + cut + "}");
}

TEST_CASE("job_progress_payload: the counts of a batch's jobs by status")
{
    /* expected/notify_bound.out: 5 INITIATED, 1 RUNNING, then 150 statuses of 62 characters with 1 job each. */
    std::vector<StatusCount> bound{{"INITIATED", 5}, {"PENDING", 0}, {"RUNNING", 1}};
    std::vector<std::string> long_names;
    for (int i = 1; i <= 150; ++i) {
        const std::string n = std::to_string(i);
        long_names.push_back("LONG_STATUS_" + std::string(3 - n.size(), '0') + n + unit::repeat("x", 47));
    }
    for (const std::string& name : long_names)
        bound.push_back(StatusCount{name, 1});
    std::string bound_want = R"({"batch_id": 1, "total": 156, "counts": {"INITIATED": 5, "RUNNING": 1)";
    for (int i = 0; i < 114; ++i)
        bound_want += ", \"" + long_names[static_cast<std::size_t>(i)] + "\": 1";
    bound_want += R"X(, "(more)": 36}})X";

    const std::vector<StatusCount> one{{"RUNNING", 25}};
    const std::vector<StatusCount> two{{"RUNNING", 10}, {"FINISHED", 40}};
    const std::vector<StatusCount> with_zeros{{"PENDING", 0}, {"RUNNING", 10}, {"FAILED", 0}, {"FINISHED", 40}};
    const std::vector<StatusCount> zeros{{"PENDING", 0}, {"RUNNING", 0}};
    const std::vector<StatusCount> escaped{{"WAIT\"ING\n", 2}};
    struct Row {
        const char* name;
        std::int32_t batch_id;
        std::int64_t total;
        const std::vector<StatusCount>* counts;
        std::string want;
    };
    const std::vector<StatusCount> empty;
    const Row rows[] = {
        {"one status (expected/notify_progress.out)", 1, 25, &one,
         R"({"batch_id": 1, "total": 25, "counts": {"RUNNING": 25}})"},
        {"payload.hpp's example", 7, 50, &two, R"({"batch_id": 7, "total": 50, "counts": {"RUNNING": 10, "FINISHED": 40}})"},
        {"counts of 0 left out", 7, 50, &with_zeros,
         R"({"batch_id": 7, "total": 50, "counts": {"RUNNING": 10, "FINISHED": 40}})"},
        {"no status at all", 7, 0, &empty, R"({"batch_id": 7, "total": 0, "counts": {}})"},
        {"only counts of 0", 7, 0, &zeros, R"({"batch_id": 7, "total": 0, "counts": {}})"},
        {"a status label escaped", 7, 2, &escaped, R"({"batch_id": 7, "total": 2, "counts": {"WAIT\"ING\n": 2}})"},
        {"150 long statuses (expected/notify_bound.out): the rest under \"(more)\"", 1, 156, &bound, bound_want},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            const std::string got = unit::str(irp::job_progress_payload(r.batch_id, r.total, r.counts->data(),
                                                                        r.counts->size(), unit::utf8_char_length));
            CHECK(got == r.want);
            CHECK(got.size() <= irp::payload_limit);
            CHECK(sum_of_counts(got) == r.total);
        }
    }
}

TEST_CASE("job_progress_payload: under the limit, the counts adding up to the total, whatever the statuses")
{
    struct Row {
        const char* name;
        int statuses;
        std::size_t name_bytes;
        std::int64_t jobs_each;
    };
    const Row rows[] = {
        {"10 statuses of 2000 characters", 10, 2000, 3},
        {"400 statuses of 5000 characters", 400, 5000, 1},
        {"1000 statuses of 1 character and a number", 1000, 1, INT32_MAX},
        {"100 statuses of 1024 characters, huge counts", 100, 1024, INT64_MAX / 1000},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            std::vector<std::string> names;
            for (int i = 0; i < r.statuses; ++i)
                names.push_back(std::to_string(i) + unit::repeat("s", r.name_bytes));
            std::vector<StatusCount> counts;
            for (const std::string& n : names)
                counts.push_back(StatusCount{n, r.jobs_each});
            const std::int64_t total = r.jobs_each * r.statuses;
            const std::string got = unit::str(
                irp::job_progress_payload(1, total, counts.data(), counts.size(), unit::utf8_char_length));
            CHECK(got.size() <= irp::payload_limit);
            CHECK(sum_of_counts(got) == total);
            CHECK(got.compare(got.size() - 2, 2, "}}") == 0);
        }
    }
}
