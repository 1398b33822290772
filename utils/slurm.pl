#!/usr/bin/env perl
# slurm.pl: run.pl's command line, but the jobs go to Slurm as one array job
# (sbatch --wait, so the caller blocks until every task has finished).
#
# Usage: utils/slurm.pl [options] [JOB=1:N] LOG_FILE COMMAND...
# Options:
#   --config FILE      site settings: lines "default SBATCH-OPTIONS..." (e.g. --partition=gpu)
#   --gpu N            --gres=gpu:N
#   --mem X            --mem=X          --time X      --time=X
#   --num-threads N    --cpus-per-task=N
#   --max-jobs-run N   --array=1-N%M
# The job script is kept beside the logs (LOG_DIR/q/<name>.sh); sbatch's own output goes
# to LOG_DIR/q/<name>-%a.out. Each task's log has the same header and trailer as run.pl's.
use strict;
use warnings;
use File::Basename;
use File::Path qw(make_path);

my %opt = (gpu => 0, mem => "", time => "", threads => 0, max => 0, config => "");
while (@ARGV && $ARGV[0] =~ /^--/) {
  my $o = shift @ARGV;
  die "slurm.pl: option $o needs a value\n" unless @ARGV;
  my $v = shift @ARGV;
  if ($o eq "--gpu") { $opt{gpu} = $v; }
  elsif ($o eq "--mem") { $opt{mem} = $v; }
  elsif ($o eq "--time") { $opt{time} = $v; }
  elsif ($o eq "--num-threads") { $opt{threads} = $v; }
  elsif ($o eq "--max-jobs-run") { $opt{max} = $v; }
  elsif ($o eq "--config") { $opt{config} = $v; }
  else { die "slurm.pl: unknown option $o\n"; }
}
my ($jobname, $first, $last) = ("", 1, 1);
if (@ARGV && $ARGV[0] =~ /^([\w_][\w\d_]*)=(\d+):(\d+)$/) {
  ($jobname, $first, $last) = ($1, $2, $3);
  shift @ARGV;
}
die "Usage: $0 [options] [JOB=1:N] LOG_FILE COMMAND...\n" if @ARGV < 2;
my $logfile = shift @ARGV;
if ($jobname ne "" && $last > $first && $logfile !~ /$jobname/) {
  die "slurm.pl: an array job needs $jobname in the log file name ($logfile)\n";
}
# Every word of the job script is shell-quoted; JOB becomes "${SLURM_ARRAY_TASK_ID}"
# outside the quotes, so that no file or argument name can run as shell code.
sub quote { my $a = shift; return $a =~ /^[\w\/.:=,+@%-]+$/ ? $a : "'" . ($a =~ s/'/'\\''/gr) . "'"; }
sub task_word {
  my $a = shift;
  return quote($a) if $jobname eq "" || $a eq "";
  return join('"${SLURM_ARRAY_TASK_ID}"', map { $_ eq "" ? "" : quote($_) } split(/\b\Q$jobname\E\b/, $a, -1));
}
my $cmd = join(" ", map { quote($_) } @ARGV);
my $task_cmd = join(" ", map { task_word($_) } @ARGV);
my $task_log = task_word($logfile);
my $task_header = task_word("# " . ($cmd =~ s/\n/\\n/gr));

my @sbatch = ("--wait", "--export=ALL", "--chdir=" . `pwd` =~ s/\n//r);
if ($opt{config} ne "") {
  open(my $c, "<", $opt{config}) or die "slurm.pl: cannot read $opt{config}\n";
  while (<$c>) { next if /^\s*(#|$)/; my ($k, @v) = split; push @sbatch, @v if $k eq "default"; }
  close($c);
}
push @sbatch, "--gres=gpu:$opt{gpu}" if $opt{gpu} > 0;
push @sbatch, "--mem=$opt{mem}" if $opt{mem} ne "";
push @sbatch, "--time=$opt{time}" if $opt{time} ne "";
push @sbatch, "--cpus-per-task=$opt{threads}" if $opt{threads} > 0;
push @sbatch, "--array=$first-$last" . ($opt{max} > 0 ? "%$opt{max}" : "");

my $logdir = dirname($logfile);
my $base = basename($logfile);
$base =~ s/\.$jobname\b// if $jobname ne "";
$base =~ s/\.log$//;
make_path("$logdir/q");
push @sbatch, "--job-name=$base", "--output=$logdir/q/$base-%a.out";

my $script = "$logdir/q/$base.sh";
my $comment = $cmd =~ s/\n/\\n/gr;
open(my $s, ">", $script) or die "slurm.pl: cannot write $script\n";
print $s <<"END";
#!/usr/bin/env bash
# written by slurm.pl for: $comment
set -o pipefail
log=$task_log
mkdir -p "\$(dirname "\$log")"
{ echo $task_header; echo "# Started at \$(date) on \$(hostname)"; } > "\$log"
( $task_cmd ) >> "\$log" 2>&1
code=\$?
echo "# Ended (code \$code) at \$(date)" >> "\$log"
exit \$code
END
close($s);
chmod 0755, $script;

my $status = system("sbatch", @sbatch, $script);
if ($status != 0) {
  my @failed;
  for my $j ($first .. $last) {
    my $l = $logfile; $l =~ s/\b$jobname\b/$j/g if $jobname ne "";
    push @failed, $l unless last_line($l) =~ /code 0\)/;
  }
  my $n = $last - $first + 1;
  print STDERR "slurm.pl: " . scalar(@failed) . " / $n failed, log is in " . ($failed[0] // "$logdir/q") . "\n";
  exit 1;
}
exit 0;

sub last_line {
  my $path = shift;
  open(my $f, "<", $path) or return "";
  my $line = "";
  $line = $_ while <$f>;
  close($f);
  return $line;
}
