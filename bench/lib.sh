# What the bench scripts share; `source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"` after
# defining die().

# One of the flags every script takes: --rounds, --runs, --threads, --out (setting ROUNDS,
# RUNS, THREADS, OUT from its value). Returns 1 for any other flag.
bench_flag() {
  case "$1" in
    --rounds) ROUNDS="${2:?$1 needs a value}" ;;
    --runs) RUNS="${2:?$1 needs a value}" ;;
    --threads) THREADS="${2:?$1 needs a value}" ;;
    --out) OUT="${2:?$1 needs a value}" ;;
    *) return 1 ;;
  esac
}

# The whole command line of a script that takes only those flags and --help.
bench_parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) bench_usage ;;
      *) bench_flag "$1" "${2:-}" || die "unknown argument '$1' (see --help)"; shift ;;
    esac
    shift
  done
  bench_check_counts "$ROUNDS" "$RUNS" "$THREADS"
}

# Dies unless every argument is a positive integer.
bench_check_counts() {
  for v in "$@"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "rounds, runs, threads and load must be positive integers (got '$v')"
  done
}

# Prints the comment block at the top of the script that was run (its usage) and exits.
bench_usage() {
  sed -n '2,/^[^#]/p' "${BASH_SOURCE[-1]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 0
}
