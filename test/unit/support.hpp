/*
 * support.hpp: helpers shared by the unit tests of src/rules/.
 *
 * The tests are tables: an array of cases, one SUBCASE per row named by the
 * row, so that a failure names its row (main.cpp counts each row as a unit).
 * Row names must be unique within a table: doctest takes two subcases of the
 * same name on the same line for one, so each table checks its names first
 * (check_unique_names). Rows assert with CHECK, never REQUIRE, and catch
 * what they call (problem_of): an exception that leaves a row ends its test
 * case, so doctest would not run the table's later rows.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <doctest/doctest.h>

#include "../../src/rules/problem.hpp"

namespace unit {

/* A Text as a std::string, for comparisons and doctest's messages. */
inline std::string str(const irp::Text& t)
{
    return std::string(t.data(), t.size());
}

/*
 * The SQLSTATE a Code is raised with: the mapping of src/pg_guard.cpp
 * (sqlstate_of), written out as problem.hpp's comments give it, so the
 * tables can say 22023 where the regression tests' expected output does.
 */
inline std::string sqlstate(irp::Code code)
{
    switch (code) {
    case irp::Code::NullValueNotAllowed: return "22004";
    case irp::Code::InvalidParameterValue: return "22023";
    case irp::Code::NoDataFound: return "P0002";
    case irp::Code::UniqueViolation: return "23505";
    case irp::Code::CheckViolation: return "23514";
    case irp::Code::ForeignKeyViolation: return "23503";
    case irp::Code::TriggeredAction: return "09000";
    case irp::Code::FeatureNotSupported: return "0A000";
    case irp::Code::TriggerProtocol: return "39P01";
    case irp::Code::SerializationFailure: return "40001";
    case irp::Code::InsufficientPrivilege: return "42501";
    case irp::Code::DependentObjectsStillExist: return "2BP01";
    case irp::Code::ObjectNotInPrerequisiteState: return "55000";
    case irp::Code::Internal: return "XX000";
    }
    return "?????";
}

/*
 * A Problem as the regression tests print it: "SQLSTATE: message (detail)",
 * the detail in parentheses only if there is one, the form of the outcome()
 * helper of sql/bad_input.sql (also sql/preflight.sql, sql/progress.sql), so
 * a row here can be compared with a line of expected/NAME.out by eye.
 */
inline std::string outcome(const irp::Problem& p)
{
    std::string s = sqlstate(p.code) + ": " + str(p.message);
    if (!p.detail.empty())
        s += " (" + str(p.detail) + ")";
    return s;
}

/* The Problem that f throws, or nothing if it returns; another exception fails the row (see the top of this file). */
template <typename F>
std::optional<irp::Problem> problem_of(F&& f)
{
    try {
        std::forward<F>(f)();
    } catch (const irp::Problem& p) {
        return p;
    } catch (const std::exception& e) {
        FAIL_CHECK("threw ", e.what());
    }
    return std::nullopt;
}

/* Every field of a Problem but its origin, for the tables to compare whole. */
struct ExpectedProblem {
    const char* sqlstate;
    const char* message;
    const char* detail = "";
    const char* hint = "";
    const char* table = "";
    const char* constraint = "";
};

/* Checks each field of p against e (the schema is never set by the rules: the guard fills it in). */
inline void check_problem(const irp::Problem& p, const ExpectedProblem& e)
{
    CHECK(sqlstate(p.code) == e.sqlstate);
    CHECK(str(p.message) == e.message);
    CHECK(str(p.detail) == e.detail);
    CHECK(str(p.hint) == e.hint);
    CHECK(str(p.schema) == "");
    CHECK(str(p.table) == e.table);
    CHECK(str(p.constraint) == e.constraint);
}

/*
 * Fails unless the names of the rows of a table are unique (see the top of
 * this file). It runs once per row, so it asserts nothing unless it fails,
 * to keep doctest's count of assertions to those of the rows.
 */
template <typename Row, std::size_t N>
void check_unique_names(const Row (&rows)[N])
{
    std::set<std::string> names;
    for (const Row& r : rows)
        if (!names.insert(r.name).second)
            FAIL_CHECK("two rows of this table are named \"", r.name, "\"");
}

/* s, n times. */
inline std::string repeat(std::string_view s, std::size_t n)
{
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i)
        out.append(s.data(), s.size());
    return out;
}

/* The bytes of the UTF-8 character that starts at s (PostgreSQL's pg_mblen in a UTF-8 database). */
inline int utf8_char_length(const char* s)
{
    const auto c = static_cast<unsigned char>(*s);
    if (c >= 0xf0)
        return 4;
    if (c >= 0xe0)
        return 3;
    if (c >= 0xc0)
        return 2;
    return 1;
}

/* The characters of a UTF-8 string (pg_mbstrlen_with_len in a UTF-8 database). */
inline std::size_t utf8_chars(std::string_view s)
{
    std::size_t n = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80)
            ++n;
    return n;
}

}  // namespace unit
