/*
 * arg_rules.hpp: the checks of the SQL API's arguments and the texts of
 * their errors, as plain C++ that never calls PostgreSQL (sql_args.cpp
 * reads the arguments; the functions that take them call these).
 *
 * The validate_* and require_* functions decide and throw; the others are
 * called where a caller found the fault, and report that caller as the
 * error's origin.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "problem.hpp"

namespace irp {

/* Longest batch_type the table accepts (varchar(255)), in characters. */
constexpr std::size_t max_batch_type_chars = 255;

/* Throws Problem (22004) when a required argument is NULL. */
void require_not_null(bool is_null, std::string_view function, std::string_view argument);

/* Throws Problem (22023) unless id is a positive integer. */
void validate_id(std::string_view argument, std::int32_t id);

/* Throws Problem (22023) unless batch_type is a valid batch type; chars is its length in characters. */
void validate_batch_type(std::string_view batch_type, std::size_t chars);

/* Throws Problem (22023) if the cancellation reason is empty or blank. */
void validate_reason(std::string_view reason);

/* A bad batch_types array (22023); detail says what is wrong with it. */
[[noreturn]] void invalid_batch_types(Text detail, Origin where = Origin::here());

/* A NULL element (1-based index) of batch_types (22004). */
[[noreturn]] void null_batch_type_element(std::string_view function, std::size_t index,
                                          Origin where = Origin::here());

/* The kinds of JSON value, for the jobs argument's error messages. */
enum class JsonKind { Object, Array, String, Number, Boolean, Null };

/* jobs is not an array (22023); kind is what it is. */
[[noreturn]] void jobs_not_an_array(JsonKind kind, Origin where = Origin::here());

/* Element index (1-based) of jobs is not an object (22023). */
[[noreturn]] void job_not_an_object(std::size_t index, JsonKind kind, Origin where = Origin::here());

/* A NULL element (1-based index) of an array of batch ids (22004). */
[[noreturn]] void null_batch_id_element(std::string_view function, std::string_view argument, std::size_t index,
                                        Origin where = Origin::here());

/* An element of an array of batch ids that is not a positive integer (22023). */
[[noreturn]] void invalid_batch_id_element(std::string_view argument, std::size_t index, std::int32_t id,
                                           Origin where = Origin::here());

/* A multidimensional array of batch ids (22023). */
[[noreturn]] void batch_ids_not_a_list(std::string_view argument, Origin where = Origin::here());

/* A negative older_than (22023); value is its text. */
[[noreturn]] void negative_older_than(std::string_view value, Origin where = Origin::here());

}  // namespace irp
