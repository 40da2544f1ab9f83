-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION irp_batch" or "ALTER EXTENSION irp_batch UPDATE" to load this file. \quit

-- Nothing below resolves through the extension's schema, where anybody who
-- may create objects there could have put functions or operators.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
