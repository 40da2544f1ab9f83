# irp_batch on a streaming standby: the read functions work there and show
# the primary's committed rows; every write is refused with SQLSTATE 25006
# (read_only_sql_transaction). After promotion the guard, the audit trail and
# irp_ensure_batch work on the new primary, and a batch the old primary was
# still creating when the standby was promoted does not block its key.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Runs SQL on a node and returns (sqlstate, message) of its first error, or
# ('none', output) when there is none.
sub sql_error
{
	my ($node, $sql) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return ('none', $out) if $ret == 0;
	return ($1, $2) if $err =~ /ERROR:\s+([0-9A-Z]{5}): ([^\n]*)/;
	return ('unparsed', $err);
}

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION irp_batch');

# Data before the base backup: an active batch with jobs, its intentional
# duplicate, a cancelled batch, a completed one.
my ($edm, $dup, $cancelled) = split(
	/\n/,
	$primary->safe_psql(
		'postgres', q{
SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}, {"edm": "B"}]');
SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true, jobs => '[{"edm": "C"}]');
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3, jobs => '[{"p": 1}]');
}));
$primary->safe_psql('postgres',
	"SELECT irp_cancel_batch($cancelled, 'cancelled on the primary')");
my $completed = $primary->safe_psql('postgres',
	"SELECT irp_create_batch('ANALYSIS', 42, 4)");
$primary->safe_psql('postgres',
	"UPDATE irp_batch SET status = 'COMPLETED', completed_ts = now() WHERE id = $completed");

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Data after the backup reaches the standby by streaming.
my $portfolio = $primary->safe_psql('postgres',
	q{SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3, jobs => '[{"p": 2}, {"p": 3}, {"p": 4}]')});
my $other = $primary->safe_psql('postgres',
	"SELECT irp_create_batch('EDM_CREATION', 43, 3)");

# A transaction still open on the primary when the standby catches up and is
# promoted: its batch for key (44, EDM_CREATION) is in the WAL, uncommitted.
my $open = $primary->background_psql('postgres');
$open->query_safe(
	"BEGIN; SELECT irp_create_batch('EDM_CREATION', 44, 3, jobs => '[{\"never\": \"committed\"}]');"
);

$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is in recovery');

# Reads.
my $active_query =
  'SELECT id, batch_type, status, created_ts, job_count, duplicate_of '
  . 'FROM irp_get_active_batches_for_config(42) ORDER BY id';
my $on_primary = $primary->safe_psql('postgres', $active_query);
my $on_standby = $standby->safe_psql('postgres', $active_query);
is($on_standby, $on_primary,
	'irp_get_active_batches_for_config returns the same rows on the standby');
is( $standby->safe_psql('postgres',
		"SELECT string_agg(id || ':' || job_count || ':' || coalesce(duplicate_of::text, '-'), ' ' ORDER BY id)
		   FROM irp_get_active_batches_for_config(42)"),
	"$edm:2:- $dup:1:$edm $portfolio:3:-",
	'the standby sees the active batches, their job counts and the duplicate, streamed ones included');
is( $standby->safe_psql('postgres',
		"SELECT string_agg(id::text, ',') FROM irp_get_active_batches_for_config(42, 'PORTFOLIO_CREATION')"),
	"$portfolio", 'irp_get_active_batches_for_config filters by type on the standby');
is( $standby->safe_psql('postgres',
		"SELECT string_agg(id || ' ' || batch_type || ' ' || status, ',') FROM irp_get_active_batches_for_config(43)"),
	"$other EDM_CREATION INITIATED", 'and shows the batch of another configuration created after the backup');

my $preflight_query =
  q{SELECT batch_type, batch_id, status, created_ts, created_by, job_count, duplicate_of
      FROM irp_batch_preflight(42, ARRAY['EDM_CREATION', 'PORTFOLIO_CREATION', 'ANALYSIS'])};
$on_primary = $primary->safe_psql('postgres', $preflight_query);
$on_standby = $standby->safe_psql('postgres', $preflight_query);
is($on_standby, $on_primary, 'irp_batch_preflight returns the same rows on the standby');
is( $standby->safe_psql('postgres',
		q{SELECT string_agg(batch_type || ':' || coalesce(batch_id::text, '-'), ' ')
		    FROM irp_batch_preflight(42, ARRAY['EDM_CREATION', 'PORTFOLIO_CREATION', 'ANALYSIS'])}),
	"EDM_CREATION:$edm EDM_CREATION:$dup PORTFOLIO_CREATION:$portfolio ANALYSIS:-",
	'irp_batch_preflight on the standby: both EDM batches, the streamed portfolio, no analysis');
is( $standby->safe_psql('postgres',
		q{SELECT count(*) FROM irp_get_active_batches_for_config(44)}),
	'0', 'the standby does not show the batch of the transaction still open on the primary');
is( $standby->safe_psql('postgres',
		q{SELECT (SELECT count(*) FROM irp_batch) || ' ' || (SELECT count(*) FROM irp_job)
		      || ' ' || (SELECT count(*) FROM irp_batch_event)}),
	$primary->safe_psql('postgres',
		q{SELECT (SELECT count(*) FROM irp_batch) || ' ' || (SELECT count(*) FROM irp_job)
		      || ' ' || (SELECT count(*) FROM irp_batch_event)}),
	'the standby has the same batches, jobs and events');

# Writes: all refused as read-only, and nothing changes.
my $before = $standby->safe_psql('postgres',
	q{SELECT (SELECT count(*) FROM irp_batch) || ' ' || (SELECT count(*) FROM irp_job)
	      || ' ' || (SELECT count(*) FROM irp_batch_event)
	      || ' ' || (SELECT string_agg(id || status::text, ',' ORDER BY id) FROM irp_batch)});
my %writes = (
	'irp_create_batch of a new key' =>
	  q{SELECT irp_create_batch('EDM_CREATION', 99, 3, jobs => '[{"x": 1}]')},
	'irp_create_batch of a key with an active batch' =>
	  q{SELECT irp_create_batch('EDM_CREATION', 42, 3)},
	'irp_create_batch with allow_duplicate' =>
	  q{SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true)},
	'irp_cancel_batch of an active batch' =>
	  "SELECT irp_cancel_batch($edm, 'on the standby')",
	'irp_cancel_batch of a finished batch' =>
	  "SELECT irp_cancel_batch($cancelled, 'on the standby')",
	'irp_ensure_batch of a new key' =>
	  q{SELECT * FROM irp_ensure_batch('EDM_CREATION', 99, 3, '[{"x": 1}]')},
	'irp_ensure_batch of a key with an active batch' =>
	  q{SELECT * FROM irp_ensure_batch('EDM_CREATION', 42, 3)},
	# A transaction still open on the primary is creating key 44's batch:
	# nothing may wait for it (statement_timeout would give 57014).
	'irp_create_batch of a key an open transaction is creating' =>
	  q{SET statement_timeout = '2s'; SELECT irp_create_batch('EDM_CREATION', 44, 3)},
	'irp_ensure_batch of a key an open transaction is creating' =>
	  q{SET statement_timeout = '2s'; SELECT * FROM irp_ensure_batch('EDM_CREATION', 44, 3)},
	'INSERT INTO irp_batch' =>
	  q{INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (3, 98, 'EDM_CREATION')},
	'UPDATE irp_batch' =>
	  "UPDATE irp_batch SET status = 'CANCELLED' WHERE id = $edm",
	'INSERT INTO irp_job' =>
	  "INSERT INTO irp_job (batch_id) VALUES ($edm)",
	'DELETE FROM irp_batch_event' => 'DELETE FROM irp_batch_event',
	'COPY irp_batch FROM' =>
	  "COPY irp_batch (step_id, configuration_id, batch_type) FROM STDIN;\n3\t97\tEDM_CREATION\n\\.",
);

# Every write in %writes must fail with 25006 where $prefix makes the
# transaction read-only.
sub check_writes_refused
{
	my ($node, $where, $prefix) = @_;
	for my $what (sort keys %writes)
	{
		my ($state, $msg) = sql_error($node, $prefix . $writes{$what});
		is($state, '25006', "$where, $what fails with SQLSTATE 25006")
		  or diag("message: $msg");
	}
}

check_writes_refused($standby, 'on the standby', '');
my ($state, $msg) = sql_error($standby, 'BEGIN READ WRITE;');
is($state, '0A000', 'the standby refuses a read-write transaction');

is( $standby->safe_psql('postgres',
		q{SELECT (SELECT count(*) FROM irp_batch) || ' ' || (SELECT count(*) FROM irp_job)
		      || ' ' || (SELECT count(*) FROM irp_batch_event)
		      || ' ' || (SELECT string_agg(id || status::text, ',' ORDER BY id) FROM irp_batch)}),
	$before, 'the refused writes changed nothing on the standby');

# The same writes on the primary, in a read-only transaction.
my $primary_before = $primary->safe_psql('postgres',
	q{SELECT (SELECT count(*) FROM irp_batch) || ' ' || (SELECT count(*) FROM irp_job)
	      || ' ' || (SELECT count(*) FROM irp_batch_event)
	      || ' ' || (SELECT string_agg(id || status::text, ',' ORDER BY id) FROM irp_batch)});
check_writes_refused($primary, 'on the primary in a READ ONLY transaction',
	"BEGIN READ ONLY;\n");
is( $primary->safe_psql('postgres',
		q{SELECT (SELECT count(*) FROM irp_batch) || ' ' || (SELECT count(*) FROM irp_job)
		      || ' ' || (SELECT count(*) FROM irp_batch_event)
		      || ' ' || (SELECT string_agg(id || status::text, ',' ORDER BY id) FROM irp_batch)}),
	$primary_before, 'the refused writes changed nothing on the primary');

# Promotion, while the primary's transaction is still open.
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not leave recovery';
my $promoted = $standby;

($state, $msg) = sql_error($promoted,
	q{SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"again": true}]')});
is($state, '23505', 'on the promoted standby the guard refuses a second active batch');
like(
	$msg,
	qr/^Active batch already exists for configuration 42 and batch_type 'EDM_CREATION': Batch ID $edm \(status: INITIATED\)/,
	'with the descriptive message naming the batch created on the old primary');
($state, $msg) = sql_error($promoted,
	q{INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (3, 42, 'PORTFOLIO_CREATION')});
is($state, '23505', 'a plain INSERT of a duplicate is refused too');
like($msg, qr/Batch ID $portfolio /, 'naming the streamed batch');

my $max_before = $promoted->safe_psql('postgres', 'SELECT max(id) FROM irp_batch');
my $created = $promoted->safe_psql('postgres',
	q{SELECT irp_create_batch('EDM_CREATION', 45, 3, jobs => '[{"n": 1}, {"n": 2}]')});
cmp_ok($created, '>', $max_before, 'a new batch is created on the promoted standby, with a new id');
is( $promoted->safe_psql('postgres',
		"SELECT event || ' ' || actor || ' ' || (details->>'configuration_id')
		      || ' ' || (SELECT count(*) FROM irp_job WHERE batch_id = $created)
		   FROM irp_batch_event WHERE batch_id = $created"),
	'CREATED ' . $promoted->safe_psql('postgres', 'SELECT current_user') . ' 45 2',
	'with its jobs and its one audit event');

is( $promoted->safe_psql('postgres',
		q{SELECT batch_id || ' ' || created FROM irp_ensure_batch('EDM_CREATION', 42, 3)}),
	"$edm false", 'irp_ensure_batch returns the existing batch of the old primary');
is( $promoted->safe_psql('postgres',
		q{SELECT batch_id || ' ' || created FROM irp_ensure_batch('EDM_CREATION', 45, 3)}),
	"$created false", 'and the batch created after promotion');
is( $promoted->safe_psql('postgres',
		"SELECT count(*) FROM irp_job WHERE batch_id IN ($edm, $created)"),
	'4', 'without adding jobs');

my $dup2 = $promoted->safe_psql('postgres',
	q{SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true)});
is( $promoted->safe_psql('postgres',
		"SELECT duplicate_of || ' ' || (SELECT event FROM irp_batch_event WHERE batch_id = $dup2)
		   FROM irp_batch WHERE id = $dup2"),
	"$edm DUPLICATE_CREATED", 'an intentional duplicate of the old primary\'s batch');

# The batch the old primary never committed does not hold its key: a create
# must not wait for a transaction that cannot end on this server.
($state, $msg) = sql_error($promoted,
	"SET statement_timeout = '10s';\nSELECT irp_create_batch('EDM_CREATION', 44, 3)");
is($state, 'none', 'the key of the uncommitted batch of the old primary is free');
my $new44 = $msg;
is( $promoted->safe_psql('postgres',
		q{SELECT string_agg(id::text, ',') FROM irp_batch WHERE configuration_id = 44}),
	$new44, 'and only the new batch exists for it');
is( $promoted->safe_psql('postgres',
		q{SELECT count(*) FROM irp_job WHERE job_configuration_data ? 'never'}),
	'0', 'the jobs of the uncommitted batch are not there');
is( $promoted->safe_psql('postgres',
		"SELECT batch_id || ' ' || created FROM irp_ensure_batch('EDM_CREATION', 44, 3)"),
	"$new44 false", 'irp_ensure_batch returns it');

is($promoted->safe_psql('postgres', "SELECT irp_cancel_batch($edm, 'after promotion')"),
	't', 'irp_cancel_batch works on the promoted standby');
is( $promoted->safe_psql('postgres',
		"SELECT string_agg(event, ',' ORDER BY id) FROM irp_batch_event WHERE batch_id = $edm"),
	'CREATED,CANCELLED', 'the cancelled batch has its creation event from the old primary and its cancellation');
is( $promoted->safe_psql('postgres',
		"SELECT count(*) FROM irp_job WHERE batch_id = $edm AND status = 'CANCELLED'"),
	'2', 'and its jobs are cancelled');
($state, $msg) = sql_error($promoted, q{SELECT irp_create_batch('EDM_CREATION', 42, 3)});
is($state, '23505', 'the intentional duplicate still holds the key after the original is cancelled');
like($msg, qr/Batch ID $dup /, 'the error names the oldest active batch');

is( $promoted->safe_psql('postgres',
		q{SELECT count(*) FROM irp_batch b
		   WHERE (SELECT count(*) FROM irp_batch_event e WHERE e.batch_id = b.id
		           AND e.event IN ('CREATED', 'DUPLICATE_CREATED')) <> 1}),
	'0', 'every batch on the promoted standby has exactly one creation event');

$open->quit;
$primary->stop;
$promoted->stop;
done_testing();
