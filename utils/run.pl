#!/usr/bin/env perl
# run.pl: run a command locally, or an array of JOB=1:N commands in parallel, the way
# Kaldi's utils/parallel/run.pl does (same command line as slurm.pl, so cmd.sh can swap).
#
# Usage: utils/run.pl [options] [JOB=1:N] LOG_FILE COMMAND...
#   JOB in LOG_FILE and COMMAND is replaced by 1..N (an array job needs JOB in LOG_FILE).
# Options (accepted for compatibility with queue/slurm runners):
#   --max-jobs-run N   at most N jobs at once (default: the number of CPU cores)
#   --gpu N            jobs needing N GPUs: at most (visible GPUs / N) at once
#   --mem X, --time X, --num-threads N, --config FILE   ignored locally
# Each log starts with the command and its start time and ends with the end time and
# exit status. Exit status 1 if any job failed, naming the log to read.
use strict;
use warnings;
use POSIX ":sys_wait_h";

my $max_jobs = 0;
my $gpu = 0;
while (@ARGV && $ARGV[0] =~ /^--/) {
  my $opt = shift @ARGV;
  die "run.pl: option $opt needs a value\n" unless @ARGV;
  my $val = shift @ARGV;
  if ($opt eq "--max-jobs-run") { $max_jobs = $val; }
  elsif ($opt eq "--gpu") { $gpu = $val; }
  elsif ($opt =~ /^--(mem|time|num-threads|config)$/) { }
  else { die "run.pl: unknown option $opt\n"; }
}

my ($jobname, $first, $last) = ("", 1, 1);
if (@ARGV && $ARGV[0] =~ /^([\w_][\w\d_]*)=(\d+):(\d+)$/) {
  ($jobname, $first, $last) = ($1, $2, $3);
  shift @ARGV;
  die "run.pl: bad range $first:$last\n" if $first > $last || $first < 1;
} elsif (@ARGV && $ARGV[0] =~ /=/) {
  die "run.pl: bad job range '$ARGV[0]'; expected e.g. JOB=1:4\n";
}
die "Usage: $0 [options] [JOB=1:N] LOG_FILE COMMAND...\n" if @ARGV < 2;
my $logfile = shift @ARGV;
if ($jobname ne "" && $last > $first && $logfile !~ /$jobname/) {
  die "run.pl: an array job needs $jobname in the log file name ($logfile)\n";
}
my $cmd = join(" ", map { my $a = $_; $a =~ /^[\w\/.:=,+@%-]+$/ ? $a : "'" . ($a =~ s/'/'\\''/gr) . "'" } @ARGV);

if ($max_jobs <= 0) {
  # path.sh sets OMP_NUM_THREADS=1 for the jobs, and nproc obeys it: ignore it here.
  my $cores = `env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null` || 1;
  chomp $cores;
  $max_jobs = $cores;
}
if ($gpu > 0) {
  my $visible = $ENV{CUDA_VISIBLE_DEVICES} // `nvidia-smi -L 2>/dev/null | wc -l`;
  chomp $visible;
  my $ngpu = ($visible =~ /,/ || $visible =~ /^\d+$/ && defined $ENV{CUDA_VISIBLE_DEVICES})
    ? scalar(split(/,/, $visible)) : $visible;
  $ngpu = 1 if !$ngpu;
  my $slots = int($ngpu / $gpu) || 1;
  $max_jobs = $slots if $slots < $max_jobs;
}

my %running;
my @failed;
for my $job ($first .. $last) {
  while (scalar(keys %running) >= $max_jobs) { reap(1); }
  my $this_cmd = $cmd;
  my $this_log = $logfile;
  if ($jobname ne "") { $this_cmd =~ s/\b$jobname\b/$job/g; $this_log =~ s/\b$jobname\b/$job/g; }
  my $dir = $this_log; $dir =~ s:/[^/]*$::;
  system("mkdir", "-p", $dir) if $dir ne $this_log;
  my $pid = fork();
  die "run.pl: fork failed\n" unless defined $pid;
  if ($pid == 0) {
    open(my $log, ">", $this_log) or die "run.pl: cannot write $this_log\n";
    print $log "# $this_cmd\n# Started at " . localtime() . "\n";
    close($log);
    # The log path goes to bash as $1, never into the command text (any name is safe).
    my $status = system("bash", "-c", 'set -o pipefail; ( ' . $this_cmd . ' ) >>"$1" 2>&1',
                        "run.pl", $this_log);
    my $code = $status == -1 ? 127 : ($status & 127 ? 128 + ($status & 127) : $status >> 8);
    open($log, ">>", $this_log);
    print $log "# Accounting: time=" . (time() - $^T) . " threads=1\n";
    print $log "# Ended (code $code) at " . localtime() . "\n";
    close($log);
    exit($code ? 1 : 0);
  }
  $running{$pid} = $this_log;
}
reap(1) while %running;

if (@failed) {
  my $n = $last - $first + 1;
  if ($n == 1) { print STDERR "run.pl: job failed, log is in $failed[0]\n"; }
  else { print STDERR "run.pl: " . scalar(@failed) . " / $n failed, log is in $failed[0]\n"; }
  exit 1;
}
exit 0;

sub reap {
  my $pid = waitpid(-1, 0);
  return if $pid <= 0 || !exists $running{$pid};
  push @failed, $running{$pid} if $? != 0;
  delete $running{$pid};
}
