/*
 * text_test.cpp: building message texts from pieces (src/rules/text.hpp).
 */
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "../../src/rules/text.hpp"
#include "support.hpp"

TEST_CASE("concat_parts: the pieces, one after another")
{
    using namespace std::string_view_literals;
    struct Row {
        const char* name;
        std::initializer_list<std::string_view> parts;
        std::string want;
    };
    const Row rows[] = {
        {"no piece", {}, ""},
        {"one piece", {"Batch"}, "Batch"},
        {"text.hpp's example", {"Batch ", "7", " not found"}, "Batch 7 not found"},
        {"empty pieces add nothing", {"", "a", "", "b", ""}, "ab"},
        {"only empty pieces", {"", ""}, ""},
        {"a NUL byte inside a piece is kept", {"a\0b"sv, "c"}, std::string("a\0bc", 4)},
        {"multibyte pieces are kept whole", {"batch_type '", "Ünïcødé", "'"}, "batch_type 'Ünïcødé'"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            CHECK(unit::str(irp::concat_parts(r.parts)) == r.want);
        }
    }
}

TEST_CASE("concat_parts: a long text, longer than any small-string buffer")
{
    const std::string piece = unit::repeat("x", 1000);
    const irp::Text t = irp::concat_parts({piece, piece, piece});
    CHECK(t.size() == 3000);
    CHECK(unit::str(t) == piece + piece + piece);
}

TEST_CASE("number_text: the decimal text of a number")
{
    struct Row {
        const char* name;
        std::int64_t n;
        const char* want;
    };
    const Row rows[] = {
        {"zero", 0, "0"},
        {"a batch id", 7, "7"},
        {"text.hpp's example", -12, "-12"},
        {"the largest int32", INT32_MAX, "2147483647"},
        {"the smallest int32", INT32_MIN, "-2147483648"},
        {"the largest int64", INT64_MAX, "9223372036854775807"},
        {"the smallest int64", INT64_MIN, "-9223372036854775808"},
    };
    unit::check_unique_names(rows);
    for (const Row& r : rows) {
        SUBCASE(r.name)
        {
            CHECK(unit::str(irp::number_text(r.n)) == r.want);
        }
    }
}
