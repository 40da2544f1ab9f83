# irp_batch survives a crash: several sessions create, cancel and update
# batches (also in explicit transactions, with savepoints and rollbacks) while
# other transactions are open or prepared; the server is stopped with
# "immediate" (no shutdown checkpoint) in the middle, then started again.
# After crash recovery every committed batch has all its jobs and its audit
# events, nothing of an unfinished transaction is left, the indexes agree with
# the tables, and the guard still works. Then a second round of the workload
# on the recovered cluster, and a second crash, without a checkpoint between.
#
# Conventions of the workload, which the checks rely on:
#   - a batch's step_id is 10 + the number of jobs it was created with, and
#     every job carries that number as "of" ({"of": 3});
#   - batches created only in transactions that roll back use step_id 90 + n;
#   - batches are only cancelled by irp_cancel_batch, never deleted, and their
#     key and duplicate_of never change.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
# A short deadlock_timeout, so that a deadlock (which the workload must not
# get) shows at once; statements that fail as expected are not logged.
$node->append_conf(
	'postgresql.conf', q{
max_prepared_transactions = 4
max_connections = 30
deadlock_timeout = 100ms
log_min_error_statement = panic
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION irp_batch');
$node->safe_psql('postgres', 'CREATE EXTENSION amcheck');

my $basedir = $node->basedir;
my $connstr = $node->connstr('postgres');

# The jobs argument for n jobs, each saying how many jobs its batch has.
sub jobs_json
{
	my ($n, $by) = @_;
	$by = 'setup' unless defined $by;
	return "'[" . join(', ', map { qq{{"of": $n, "k": $_, "by": "$by"}} } 1 .. $n) . "]'";
}

# Runs SQL and returns (sqlstate, message) of its first error, or ('none',
# output) when there is none.
sub sql_error
{
	my ($sql) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return ('none', $out) if $ret == 0;
	return ($1, $2) if $err =~ /ERROR:\s+([0-9A-Z]{5}): ([^\n]*)/;
	return ('unparsed', $err);
}

# A psql process in the background that runs a script file; its output goes
# to files, so nothing needs to read it while it runs.
sub start_script
{
	my ($name, $script) = @_;
	my $file = "$basedir/$name.sql";
	open(my $fh, '>', $file) or die "could not write $file: $!";
	print $fh $script;
	close $fh;
	my @cmd = (
		'psql', '-X', '-A', '-t', '-q',
		'-v', 'ON_ERROR_STOP=0',
		'-d', "$connstr application_name=$name",
		'-f', $file);
	my $h = IPC::Run::start(\@cmd, '<', '/dev/null',
		'>', "$basedir/$name.out", '2>', "$basedir/$name.err");
	return { name => $name, handle => $h };
}

sub read_lines
{
	my ($file) = @_;
	return () unless -e $file;
	return split(/\n/, slurp_file($file));
}

###########################################################################
# Before the workload: prepared transactions that will outlive the crash, and
# batches for them to cancel.

my $keep_602 = $node->safe_psql('postgres',
	"SELECT irp_create_batch('EDM_CREATION', 602, 12, false, "
	  . jobs_json(2) . ')');
my $keep_603 = $node->safe_psql('postgres',
	"SELECT irp_create_batch('EDM_CREATION', 603, 13, false, "
	  . jobs_json(3) . ')');
my $keep_501 = $node->safe_psql('postgres',
	"SELECT irp_create_batch('EDM_CREATION', 501, 12, false, "
	  . jobs_json(2) . ')');
my $prepared_600 = $node->safe_psql(
	'postgres', "BEGIN;
SELECT irp_create_batch('EDM_CREATION', 600, 12, false, " . jobs_json(2) . ");
SELECT irp_cancel_batch($keep_602, 'cancelled by a prepared transaction');
PREPARE TRANSACTION 'irp_commit_me';");
($prepared_600) = split(/\n/, $prepared_600);
$node->safe_psql(
	'postgres', "BEGIN;
SELECT irp_create_batch('EDM_CREATION', 601, 11, false, " . jobs_json(1) . ");
SELECT irp_cancel_batch($keep_603, 'cancelled by a rolled back transaction');
PREPARE TRANSACTION 'irp_roll_me_back';");

###########################################################################
# The workload: four sessions, each a long script of small units of work on
# six shared keys (they collide) and on keys of their own.

my @types = ('EDM_CREATION', 'PORTFOLIO_CREATION', 'ANALYSIS');
my $workers = 4;
my $units = 4000;

sub shared_key
{
	return (1 + int(rand(3)), $types[ int(rand(2)) ]);
}

sub worker_script
{
	my ($round, $w) = @_;
	srand(1000 * $round + $w);
	my $own = 100 + $w;
	my $s = '';
	for my $i (1 .. $units)
	{
		my $r = rand(100);
		my $n = int(rand(4));
		my ($cfg, $type) = shared_key();
		# n jobs; no jobs is sometimes NULL, sometimes []
		my $jobs = ($n == 0 && rand(2) < 1) ? 'NULL' : jobs_json($n, "w$w");
		my $step = 10 + $n;
		if ($r < 28)
		{
			$s .= "SELECT 'c', irp_create_batch('$type', $cfg, $step, false, $jobs);\n";
		}
		elsif ($r < 36)
		{
			$s .= "SELECT 'c', irp_create_batch('$type', $cfg, $step, true, $jobs);\n";
		}
		elsif ($r < 44)
		{
			$s .=
			  "SELECT 'e', batch_id, created FROM irp_ensure_batch('$type', $cfg, $step, $jobs);\n";
		}
		elsif ($r < 60)
		{
			$s .=
			    "SELECT 'x', id, irp_cancel_batch(id, 'crash test w$w') FROM irp_batch "
			  . "WHERE configuration_id = $cfg AND batch_type = '$type' "
			  . "AND status IN ('INITIATED', 'ACTIVE') ORDER BY id LIMIT 1;\n";
		}
		elsif ($r < 68)
		{
			# Every UPDATE repeats its condition on the row it changes:
			# under READ COMMITTED only that is checked again when the row
			# changed meanwhile (a concurrent cancellation).
			my $to = rand(2) < 1 ? 'RUNNING' : 'FINISHED';
			$s .=
			    "UPDATE irp_job SET status = '$to', updated_ts = now() WHERE id = "
			  . "(SELECT j.id FROM irp_job j JOIN irp_batch b ON b.id = j.batch_id "
			  . "WHERE b.configuration_id = $cfg AND b.batch_type = '$type' "
			  . "AND b.status IN ('INITIATED', 'ACTIVE') AND j.status IN ('INITIATED', 'RUNNING') "
			  . "ORDER BY j.id LIMIT 1) AND status IN ('INITIATED', 'RUNNING');\n";
		}
		elsif ($r < 72)
		{
			$s .=
			    "UPDATE irp_batch SET status = 'ACTIVE', updated_ts = now() WHERE id = "
			  . "(SELECT min(id) FROM irp_batch WHERE configuration_id = $cfg "
			  . "AND batch_type = '$type' AND status = 'INITIATED') AND status = 'INITIATED';\n";
		}
		elsif ($r < 74)
		{
			$s .=
			    "UPDATE irp_batch SET status = 'COMPLETED', updated_ts = now(), completed_ts = now() "
			  . "WHERE id = (SELECT min(id) FROM irp_batch WHERE configuration_id = $cfg "
			  . "AND batch_type = '$type' AND status = 'ACTIVE') AND status = 'ACTIVE';\n";
		}
		elsif ($r < 90)
		{
			# One transaction on this session's own keys: replace the
			# active batch of one type, add an intentional duplicate of
			# another, with a savepoint rolled back in between.
			my $t1 = $types[ int(rand(3)) ];
			my $t2 = $types[ int(rand(3)) ];
			my $m = int(rand(4));
			my $tag = "r${round}w$w.$i";
			$s .= "BEGIN;\n";
			$s .=
			    "SELECT 'p', '$tag', id, irp_cancel_batch(id, 'replaced') FROM irp_batch "
			  . "WHERE configuration_id = $own AND batch_type = '$t1' "
			  . "AND status IN ('INITIATED', 'ACTIVE') ORDER BY id;\n";
			$s .= "SELECT 'p', '$tag', irp_create_batch('$t1', $own, $step, false, $jobs);\n";
			if (rand(2) < 1)
			{
				$s .= "SAVEPOINT s;\n";
				$s .=
				    "SELECT 'r', irp_create_batch('$t2', $own, "
				  . (90 + $m)
				  . ", true, "
				  . jobs_json($m, "w$w") . ");\n";
				$s .= "ROLLBACK TO SAVEPOINT s;\n";
			}
			$s .=
			    "SELECT 'p', '$tag', irp_create_batch('$t2', $own, "
			  . (10 + $m)
			  . ", true, "
			  . jobs_json($m, "w$w") . ");\n";
			$s .= "SELECT 'ok', '$tag';\nCOMMIT;\nSELECT 'done', '$tag';\n";
		}
		else
		{
			# A transaction that rolls back.
			$s .= "BEGIN;\n";
			$s .=
			    "SELECT 'r', irp_create_batch('$type', $own, "
			  . (90 + $n)
			  . ", true, $jobs);\n";
			$s .=
			    "SELECT 'r', irp_create_batch('$type', $cfg, "
			  . (90 + $n)
			  . ", true, $jobs);\n";
			$s .= "ROLLBACK;\n";
		}
	}
	$s .= "SELECT 'end';\n";
	return $s;
}

# The invariants, over every batch.
sub check_invariants
{
	my ($label) = @_;

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch b
			   WHERE (SELECT count(*) FROM irp_job j WHERE j.batch_id = b.id) <> b.step_id - 10
			      OR EXISTS (SELECT FROM irp_job j WHERE j.batch_id = b.id
			                  AND (j.job_configuration_data->>'of')::int <> b.step_id - 10)}),
		'0',
		"$label: every batch has all the jobs it was created with");

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch b
			   WHERE (SELECT count(*) FROM irp_batch_event e
			           WHERE e.batch_id = b.id AND e.event IN ('CREATED', 'DUPLICATE_CREATED')) <> 1}),
		'0',
		"$label: every batch has exactly one creation event");

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch b JOIN irp_batch_event e ON e.batch_id = b.id
			   WHERE e.event IN ('CREATED', 'DUPLICATE_CREATED')
			     AND ((e.event = 'DUPLICATE_CREATED') <> (b.duplicate_of IS NOT NULL)
			          OR (e.details->>'configuration_id')::int <> b.configuration_id
			          OR e.details->>'batch_type' <> b.batch_type
			          OR (e.details->>'step_id')::int <> b.step_id
			          OR e.details->>'status' <> 'INITIATED'
			          OR (e.details->>'duplicate_of')::int IS DISTINCT FROM b.duplicate_of)}),
		'0',
		"$label: every creation event records the batch as it was created");

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch_event e
			   WHERE NOT EXISTS (SELECT FROM irp_batch b WHERE b.id = e.batch_id)}),
		'0',
		"$label: no event for a batch that does not exist");

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch b
			   WHERE b.status = 'CANCELLED'
			     AND NOT EXISTS (SELECT FROM irp_batch_event e WHERE e.batch_id = b.id
			                      AND e.event IN ('CANCELLED', 'STATUS_CHANGED')
			                      AND (e.event = 'CANCELLED' OR e.details->>'new_status' = 'CANCELLED'))}),
		'0',
		"$label: every cancelled batch has a cancellation event");

	# Replaying the trail gives every batch's status.
	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch b,
			   LATERAL (SELECT CASE e.event WHEN 'CANCELLED' THEN 'CANCELLED'
			                               WHEN 'STATUS_CHANGED' THEN e.details->>'new_status'
			                               ELSE e.details->>'status' END AS status
			              FROM irp_batch_event e
			             WHERE e.batch_id = b.id
			               AND e.event IN ('CREATED', 'DUPLICATE_CREATED', 'CANCELLED', 'STATUS_CHANGED')
			             ORDER BY e.id DESC LIMIT 1) last
			   WHERE last.status IS DISTINCT FROM b.status::text}),
		'0',
		"$label: the last status event of every batch gives its status");

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch b
			   WHERE (SELECT count(*) FROM irp_batch_event e WHERE e.batch_id = b.id AND e.event = 'CANCELLED')
			         > 1
			      OR b.status = 'CANCELLED'
			     AND (b.cancel_reason IS NULL OR b.completed_ts IS NULL
			          OR EXISTS (SELECT FROM irp_job j WHERE j.batch_id = b.id
			                      AND j.status NOT IN ('FINISHED', 'FAILED', 'CANCELLED')))}),
		'0',
		"$label: every cancelled batch was cancelled once, with its reason, time and every unfinished job");

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch b JOIN irp_batch_event e
			      ON e.batch_id = b.id AND e.event = 'CANCELLED'
			   WHERE (e.details->>'jobs_cancelled')::int
			         <> (SELECT count(*) FROM irp_job j WHERE j.batch_id = b.id AND j.status = 'CANCELLED')}),
		'0',
		"$label: every cancellation event counts the jobs it cancelled");

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch_event e,
			         jsonb_array_elements_text(e.details->'submitted_job_ids') s(job_id)
			   WHERE e.event = 'CANCELLED'
			     AND NOT EXISTS (SELECT FROM irp_job j WHERE j.id = s.job_id::int
			                      AND j.batch_id = e.batch_id AND j.status = 'CANCELLED')}),
		'0',
		"$label: every job a cancellation event lists as submitted is a cancelled job of its batch");

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM (
			    SELECT configuration_id, batch_type FROM irp_batch
			     WHERE status IN ('INITIATED', 'ACTIVE') AND duplicate_of IS NULL
			     GROUP BY 1, 2 HAVING count(*) > 1) k}),
		'0',
		"$label: no key has two active batches without duplicate_of");

	is( $node->safe_psql('postgres',
			q{SELECT count(*) FROM irp_batch d JOIN irp_batch o ON o.id = d.duplicate_of
			   WHERE (o.configuration_id, o.batch_type) <> (d.configuration_id, d.batch_type)
			      OR o.id >= d.id}),
		'0',
		"$label: every intentional duplicate references an older batch of its key");

	# Indexes against tables: the same answers with index scans only and with
	# sequential scans only, and amcheck's verdict.
	my $probe = q{
	SELECT (SELECT string_agg(configuration_id || '/' || batch_type || '/' || n, ',' ORDER BY configuration_id, batch_type)
	          FROM (SELECT configuration_id, batch_type, count(*) AS n FROM irp_batch
	                 WHERE status IN ('INITIATED', 'ACTIVE')
	                   AND configuration_id IN (1, 2, 3, 101, 102, 103, 104, 600, 601, 602, 603)
	                   AND batch_type IN ('EDM_CREATION', 'PORTFOLIO_CREATION', 'ANALYSIS')
	                 GROUP BY 1, 2) a),
	       (SELECT count(*) FROM irp_batch
	         WHERE status IN ('INITIATED', 'ACTIVE') AND duplicate_of IS NULL
	           AND configuration_id BETWEEN 1 AND 1000 AND batch_type >= ''),
	       (SELECT count(*) FROM irp_batch WHERE duplicate_of BETWEEN 1 AND 1000000000),
	       (SELECT count(*) FROM irp_job WHERE batch_id BETWEEN 1 AND 1000000000),
	       (SELECT count(*) FROM irp_batch_event WHERE batch_id BETWEEN 1 AND 1000000000),
	       (SELECT count(*) FROM irp_batch WHERE id BETWEEN 1 AND 1000000000);
	};
	my $by_index = $node->safe_psql('postgres',
		"SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;\n$probe");
	my $by_bitmap = $node->safe_psql('postgres',
		"SET enable_seqscan = off; SET enable_indexscan = off; SET enable_indexonlyscan = off;\n$probe");
	my $by_heap = $node->safe_psql('postgres',
		"SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;\n$probe");
	is($by_index, $by_heap, "$label: index scans and sequential scans agree");
	is($by_bitmap, $by_heap, "$label: bitmap scans and sequential scans agree");
	like(
		$node->safe_psql('postgres',
			"SET enable_seqscan = off; SET enable_bitmapscan = off;
			 EXPLAIN (COSTS OFF) SELECT count(*) FROM irp_batch
			  WHERE status IN ('INITIATED', 'ACTIVE') AND configuration_id = 1 AND batch_type = 'EDM_CREATION'"),
		qr/Index/, "$label: the active-batch query can use an index");
	my @indexes = split(
		/\n/,
		$node->safe_psql('postgres',
			q{SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			   WHERE i.indrelid IN ('irp_batch'::regclass, 'irp_job'::regclass, 'irp_batch_event'::regclass)
			   ORDER BY 1}));
	cmp_ok(scalar(@indexes), '>=', 8, "$label: the three tables have their indexes");
	for my $index (@indexes)
	{
		my ($ret, $out, $err) = $node->psql('postgres',
			"SELECT bt_index_parent_check('$index', true, true)");
		is($ret . $err, '0', "$label: amcheck: $index is consistent with its table");
	}
	is( $node->safe_psql('postgres',
			q{SELECT (SELECT count(*) FROM verify_heapam('irp_batch'))
			       + (SELECT count(*) FROM verify_heapam('irp_job'))
			       + (SELECT count(*) FROM verify_heapam('irp_batch_event'))}),
		'0',
		"$label: amcheck: the three tables are not corrupt");
}

# One round: start the sessions, let them work (with a checkpoint in the
# middle if asked), crash the server, start it again, and check what each
# session was told: every acknowledged creation and cancellation is there,
# nothing of a transaction that rolled back is.
sub run_round
{
	my ($round, %opt) = @_;
	my $start = $node->safe_psql('postgres', 'SELECT count(*) FROM irp_batch');
	my @sessions = map { start_script("r${round}w$_", worker_script($round, $_)) } 1 .. $workers;

	if ($opt{checkpoint})
	{
		# Recovery then starts from a redo point inside the workload.
		$node->poll_query_until('postgres',
			'SELECT count(*) >= ' . ($start + 400) . ' FROM irp_batch')
		  or die 'the workload does not make progress';
		$node->safe_psql('postgres', 'CHECKPOINT');
	}
	$node->poll_query_until('postgres',
		'SELECT count(*) >= ' . ($start + 1500) . ' FROM irp_batch')
	  or die 'the workload does not make progress';
	my $seen = $node->safe_psql('postgres', 'SELECT count(*) FROM irp_batch');
	my $log_offset = -s $node->logfile;
	$node->stop('immediate');

	# psql exits when it loses its connection.
	for my $s (@sessions, @{ $opt{others} || [] })
	{
		eval { $s->{handle}->finish; };
	}

	my (%created, %cancelled, %rolled_back);
	my ($finished, $errors, $refused) = (0, 0, 0);
	for my $s (@sessions)
	{
		# A transaction's lines count once it printed 'ok' (every statement
		# before it succeeded) and then 'done' (its COMMIT returned).
		my (%pending, %ok);
		for my $line (read_lines("$basedir/$s->{name}.out"))
		{
			my @f = split(/\|/, $line);
			if ($f[0] eq 'c' || $f[0] eq 'e') { $created{ $f[1] } = 1; }
			elsif ($f[0] eq 'x' && $f[2] eq 't') { $cancelled{ $f[1] } = 1; }
			elsif ($f[0] eq 'r') { $rolled_back{ $f[1] } = 1; }
			elsif ($f[0] eq 'p') { push @{ $pending{ $f[1] } }, [ @f[ 2 .. $#f ] ]; }
			elsif ($f[0] eq 'ok') { $ok{ $f[1] } = 1; }
			elsif ($f[0] eq 'done' && $ok{ $f[1] })
			{
				for my $p (@{ $pending{ $f[1] } || [] })
				{
					if (@$p == 1) { $created{ $p->[0] } = 1; }
					elsif ($p->[1] eq 't') { $cancelled{ $p->[0] } = 1; }
				}
			}
			elsif ($f[0] eq 'end') { $finished++; }
		}
		# The only error the workload may get is the duplicate error: the
		# extension's own paths do not deadlock.
		for my $line (read_lines("$basedir/$s->{name}.err"))
		{
			next unless $line =~ /ERROR:\s+(.*)/;
			my $msg = $1;
			if ($msg =~ /^Active batch already exists for configuration/)
			{
				$refused++;
				next;
			}
			$errors++;
			diag("$s->{name}: unexpected error: $msg");
		}
	}

	note(sprintf(
			'round %d: crashed at %d batches; acknowledged: %d creates, %d cancels; '
			  . '%d ids rolled back; %d duplicates refused',
			$round, $seen, scalar(keys %created), scalar(keys %cancelled),
			scalar(keys %rolled_back), $refused));
	is($finished, 0, "round $round: the crash came while every session was still working");
	is($errors, 0, "round $round: the sessions got no error but the duplicate error");
	cmp_ok(scalar(keys %created), '>=', 500, "round $round: the sessions created batches");
	cmp_ok(scalar(keys %cancelled), '>=', 100, "round $round: the sessions cancelled batches");
	cmp_ok($refused, '>=', 50, "round $round: the guard refused duplicates during the workload");

	$node->start;
	ok( $node->log_contains(
			'database system was not properly shut down; automatic recovery in progress',
			$log_offset),
		"round $round: the server ran crash recovery");

	my @ids = keys %created;
	is( $node->safe_psql('postgres',
			'SELECT count(*) FROM irp_batch WHERE id IN (' . join(',', @ids, 'NULL') . ')'),
		scalar(@ids),
		"round $round: every batch whose creation was acknowledged exists");
	my @cids = keys %cancelled;
	is( $node->safe_psql('postgres',
			'SELECT count(*) FROM irp_batch WHERE id IN (' . join(',', @cids, 'NULL') . ")
			    AND status = 'CANCELLED'"),
		scalar(@cids),
		"round $round: every batch whose cancellation was acknowledged is cancelled");
	my $rb = join(',', keys %rolled_back, 'NULL');
	is( $node->safe_psql('postgres',
			"SELECT (SELECT count(*) FROM irp_batch WHERE id IN ($rb) OR step_id >= 90)
			      + (SELECT count(*) FROM irp_batch_event WHERE batch_id IN ($rb))
			      + (SELECT count(*) FROM irp_job WHERE batch_id IN ($rb))"),
		'0',
		"round $round: nothing is left of batches created in rolled back transactions and savepoints");
	my $total = $node->safe_psql('postgres', 'SELECT count(*) FROM irp_batch');
	cmp_ok($total, '>=', $seen, "round $round: no committed batch was lost ($total batches)");
	return;
}

###########################################################################
# Round 1. Besides the workload, transactions open at the moment of the
# crash: one has created a batch for key 500 and sleeps, one waits to create
# the same key, one has cancelled batch $keep_501 and sleeps.

my $holder = start_script(
	'holder', "BEGIN;
SELECT 'p', irp_create_batch('EDM_CREATION', 500, 12, false, " . jobs_json(2) . ");
SELECT pg_sleep(300);
COMMIT;
");
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'holder' AND wait_event = 'PgSleep'"
) or die 'the holder did not get to its sleep';
my $waiter = start_script('waiter',
	"SELECT 'c', irp_create_batch('EDM_CREATION', 500, 11, false, " . jobs_json(1) . ");\n");
my $canceller = start_script(
	'canceller', "BEGIN;
SELECT 'p', irp_cancel_batch($keep_501, 'never committed');
SELECT pg_sleep(300);
COMMIT;
");
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'waiter' AND wait_event_type = 'Lock'"
) or die 'the waiter is not waiting';
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'canceller' AND wait_event = 'PgSleep'"
) or die 'the canceller did not get to its sleep';

run_round(1, checkpoint => 1, others => [ $holder, $waiter, $canceller ]);

is( $node->safe_psql('postgres',
		'SELECT gid FROM pg_prepared_xacts ORDER BY gid'),
	"irp_commit_me\nirp_roll_me_back",
	'both prepared transactions survived the crash');

is($node->safe_psql('postgres', 'SELECT count(*) FROM irp_batch WHERE configuration_id = 500'),
	'0', 'no batch of the transactions in progress at the crash (key 500)');
is( $node->safe_psql('postgres',
		"SELECT status || ' ' || (SELECT count(*) FROM irp_job WHERE batch_id = b.id AND status = 'INITIATED')
		      || ' ' || (SELECT count(*) FROM irp_batch_event WHERE batch_id = b.id)
		   FROM irp_batch b WHERE id = $keep_501"),
	'INITIATED 2 1',
	'a cancellation in progress at the crash left the batch, its jobs and its events unchanged');

# The prepared transactions still hold their rows: creating their keys waits.
my ($state, $msg) = sql_error(
	"SET lock_timeout = '300ms';\nSELECT irp_create_batch('EDM_CREATION', 600, 10);");
is($state, '55P03', 'a create waits for the prepared transaction that creates the same key');
$node->safe_psql('postgres', "COMMIT PREPARED 'irp_commit_me'");
$node->safe_psql('postgres', "ROLLBACK PREPARED 'irp_roll_me_back'");
($state, $msg) = sql_error("SELECT irp_create_batch('EDM_CREATION', 600, 10);");
is($state, '23505', 'after COMMIT PREPARED its batch blocks the key');
like($msg,
	qr/^Active batch already exists for configuration 600 and batch_type 'EDM_CREATION': Batch ID $prepared_600 /,
	'and the duplicate error names it');
is( $node->safe_psql('postgres',
		"SELECT status || ' ' || cancel_reason FROM irp_batch WHERE id = $keep_602"),
	'CANCELLED cancelled by a prepared transaction',
	'the cancellation of the committed prepared transaction took effect');
is( $node->safe_psql('postgres',
		"SELECT status || ' ' || (SELECT count(*) FROM irp_batch_event WHERE batch_id = b.id)
		   FROM irp_batch b WHERE id = $keep_603"),
	'INITIATED 1',
	'the cancellation of the rolled back prepared transaction left no trace');
is($node->safe_psql('postgres', 'SELECT count(*) FROM irp_batch WHERE configuration_id = 601'),
	'0', 'the batch of the rolled back prepared transaction is gone');

check_invariants('after the first crash');

###########################################################################
# The guard and the claim after the crash.

my $max_id = $node->safe_psql('postgres', 'SELECT max(id) FROM irp_batch');
my ($cfg, $type, $active) = split(
	/\|/,
	$node->safe_psql('postgres',
		q{SELECT configuration_id, batch_type, id FROM irp_batch
		   WHERE status IN ('INITIATED', 'ACTIVE') AND duplicate_of IS NULL
		   ORDER BY id LIMIT 1}));
($state, $msg) =
  sql_error("SELECT irp_create_batch('$type', $cfg, 11, false, " . jobs_json(1) . ')');
is($state, '23505', 'the guard refuses a second active batch after the crash');
like(
	$msg,
	qr/^Active batch already exists for configuration $cfg and batch_type '$type': Batch ID $active /,
	'with the descriptive message naming the active batch');

my $new = $node->safe_psql('postgres',
	"SELECT irp_create_batch('EDM_CREATION', 500, 13, false, " . jobs_json(3) . ')');
cmp_ok($new, '>', $max_id, 'the key the crashed transactions held can be created, with a new id');
is( $node->safe_psql('postgres',
		"SELECT (SELECT count(*) FROM irp_job WHERE batch_id = $new) || ' '
		     || (SELECT string_agg(event, ',') FROM irp_batch_event WHERE batch_id = $new)"),
	'3 CREATED', 'the new batch has its jobs and its creation event');
is( $node->safe_psql('postgres',
		"SELECT batch_id || ' ' || created FROM irp_ensure_batch('EDM_CREATION', 500, 10)"),
	"$new false", 'irp_ensure_batch returns the new batch');
($state, $msg) = sql_error("SELECT irp_create_batch('EDM_CREATION', 500, 10)");
like($msg, qr/Batch ID $new /, 'and the guard names it');
is($node->safe_psql('postgres', "SELECT irp_cancel_batch($active, 'after the crash')"),
	't', 'the active batch can be cancelled');
my $again = $node->safe_psql('postgres',
	"SELECT irp_create_batch('$type', $cfg, 10, false, '[]')");
cmp_ok($again, '>', $new, 'and its key created again');

###########################################################################
# Round 2: the same workload on the recovered cluster, and a crash without a
# checkpoint since the end of the last recovery.

run_round(2);
check_invariants('after the second crash');

$max_id = $node->safe_psql('postgres', 'SELECT max(id) FROM irp_batch');
$new = $node->safe_psql('postgres',
	"SELECT irp_create_batch('EDM_CREATION', 700, 12, false, " . jobs_json(2) . ')');
cmp_ok($new, '>', $max_id, 'after the second crash a new key is created, with a new id');
($state, $msg) = sql_error("SELECT irp_create_batch('EDM_CREATION', 700, 10)");
is($state, '23505', 'and the guard refuses its duplicate');
like($msg, qr/^Active batch already exists for configuration 700 and batch_type 'EDM_CREATION': Batch ID $new /,
	'naming it');

$node->stop;
done_testing();
