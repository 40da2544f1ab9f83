/*
 * result_set.hpp: returning rows from a set-returning function of the SQL API
 * (materialize mode). Each function goes through pg() itself.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
}

#include <cstdint>

namespace irp {

/* Prepares fcinfo to return a materialized set shaped like the function's RETURNS TABLE. */
void begin_result_set(FunctionCallInfo fcinfo);

/* Appends the rows of the last SPI result, whose columns match the result's. */
void put_spi_rows(FunctionCallInfo fcinfo, std::uint64_t rows);

/* Appends one row; values and nulls have one entry per result column. */
void put_row(FunctionCallInfo fcinfo, Datum* values, bool* nulls);

}  // namespace irp
