/*
 * result_set.cpp: materialized results of set-returning functions.
 */
#include "result_set.hpp"

extern "C" {
#include "access/htup_details.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"
}

#include "pg_guard.hpp"

namespace irp {

void begin_result_set(FunctionCallInfo fcinfo)
{
    pg([fcinfo] { InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC); });
}

void put_spi_rows(FunctionCallInfo fcinfo, std::uint64_t rows)
{
    pg([fcinfo, rows] {
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        const int natts = rsinfo->setDesc->natts;
        auto* values = static_cast<Datum*>(palloc(sizeof(Datum) * natts));
        auto* nulls = static_cast<bool*>(palloc(sizeof(bool) * natts));
        for (std::uint64_t i = 0; i < rows; ++i) {
            heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
        pfree(values);
        pfree(nulls);
    });
}

void put_row(FunctionCallInfo fcinfo, Datum* values, bool* nulls)
{
    pg([fcinfo, values, nulls] {
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    });
}

}  // namespace irp
