#!/bin/sh
# grade-array.sh — grade a class on a Slurm cluster: one array task per shard, then the summary.
#
#   tools/slurm/grade-array.sh submit [-n TASKS] SUBMISSIONS/ SOURCE.ipynb OUTDIR [grade options]
#
# submits two jobs from a login node: an array job of TASKS tasks (default 8), each running
#
#   conclab grade SUBMISSIONS/ --source SOURCE.ipynb -o OUTDIR --shard I/TASKS [grade options]
#
# on its own slice of the class (I = the task's place in the array, from 1), and a job that starts
# when every task has ended (afterany: also after a failed or cancelled one) and rebuilds the
# class summary from every report with `conclab grade ... --summary-only`. OUTDIR must be on a
# file system every node sees. Extra options go to each task's `conclab grade` (--timeout 10,
# --repeat 20, --sandbox, ...); each task grades --jobs $SLURM_CPUS_PER_TASK submissions at a
# time, so ask for cores with sbatch's own options, through the environment:
#
#   SBATCH_CPUS_PER_TASK=4 SBATCH_TIMELIMIT=01:00:00 SBATCH_PARTITION=batch \
#     tools/slurm/grade-array.sh submit -n 16 submitted/ source/hw3.ipynb graded/
#
# A task that runs out of time or is cancelled leaves only complete reports; submit again (or
# `scontrol requeue` the task) and the graded submissions are skipped. The same script is what
# each job runs: sbatch calls it back with `task` or `summary`, which can also be run by hand with
# the SLURM_ARRAY_* variables set as sbatch sets them (tests/grading_batch does exactly that).
#
# CONCLAB names the conclab executable (default: `conclab` on PATH).
set -eu

conclab=${CONCLAB:-conclab}
self=$(readlink -f "$0")

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$self" >&2
    exit 2
}

# The task's shard, "I/N", from the array's variables (the array may start at any index).
shard_of_task() {
    : "${SLURM_ARRAY_TASK_ID:?not in a Slurm array task}" "${SLURM_ARRAY_TASK_COUNT:?}"
    first=${SLURM_ARRAY_TASK_MIN:-0}
    echo "$((SLURM_ARRAY_TASK_ID - first + 1))/$SLURM_ARRAY_TASK_COUNT"
}

submit() {
    tasks=8
    if [ "${1:-}" = "-n" ]; then
        [ $# -ge 2 ] || usage
        tasks=$2
        shift 2
    fi
    [ $# -ge 3 ] || usage
    case $tasks in '' | *[!0-9]* | 0) echo "grade-array.sh: -n needs a number of tasks" >&2; exit 2 ;; esac
    [ -d "$1" ] || { echo "grade-array.sh: $1 is not a folder of submissions" >&2; exit 2; }
    [ -f "$2" ] || { echo "grade-array.sh: no instructor notebook $2" >&2; exit 2; }
    mkdir -p "$3"
    # the compute nodes may start elsewhere: absolute paths
    dir=$(readlink -f "$1") source=$(readlink -f "$2") outdir=$(readlink -f "$3")
    shift 3
    array=$(sbatch --parsable --job-name=conclab-grade --array="0-$((tasks - 1))" \
        --output="$outdir/slurm-%A_%a.log" "$self" task "$dir" "$source" "$outdir" "$@")
    array=${array%%;*}
    summary=$(sbatch --parsable --job-name=conclab-grade-summary --dependency="afterany:$array" \
        --output="$outdir/slurm-%j-summary.log" "$self" summary "$dir" "$source" "$outdir")
    summary=${summary%%;*}
    echo "array job $array ($tasks tasks), summary job $summary; results in $outdir"
}

task() {
    [ $# -ge 3 ] || usage
    dir=$1 source=$2 outdir=$3
    shift 3
    exec "$conclab" grade "$dir" --source "$source" -o "$outdir" --shard "$(shard_of_task)" \
        --jobs "${SLURM_CPUS_PER_TASK:-1}" "$@"
}

summary() {
    [ $# -eq 3 ] || usage
    exec "$conclab" grade "$1" --source "$2" -o "$3" --summary-only
}

[ $# -ge 1 ] || usage
what=$1
shift
case $what in
    submit) submit "$@" ;;
    task) task "$@" ;;
    summary) summary "$@" ;;
    -h | --help) usage ;;
    *) echo "grade-array.sh: submit, task or summary, not '$what'" >&2; exit 2 ;;
esac
