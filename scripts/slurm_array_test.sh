#!/usr/bin/env bash
# End-to-end test of starface under a real Slurm, on this one machine (Debian 12):
#
#   scripts/slurm_array_test.sh
#
# 1. Installs slurm-wlm, munge and ffmpeg from Debian when missing (root, else sudo).
# 2. Starts munged, slurmctld and slurmd with every file they write (key, config, state,
#    spool, pid files, logs) in a temporary folder; the machine's own /etc/slurm and
#    /etc/munge are not read or changed. They are stopped on exit, failure or Ctrl-C.
# 3. Makes a folder of videos: a byte copy of the test video (434 frames) and short ffmpeg
#    cuts of it.
# 4. Submits scripts/starface_array.sbatch (the template documented for users) as an array
#    of NTASKS tasks over that folder, cancels the task holding the longest video while it is
#    in the middle of it, waits for the array, and submits the same array again, which
#    --skip-existing turns into "finish what the cancelled task left".
# 5. Checks the outputs: one complete CSV (and profile) per input with a row for every frame
#    ffprobe decodes, nothing partial or extra left; prints "ok: ..." / "FAIL: ..." per check,
#    then "N passed, M failed", and exits 1 when a check failed.
#
# It takes 2-4 minutes on 2 cores with the tiny STAR model. Environment:
#   STARFACE        the binary (default build/starface; never rebuilt here)
#   LANDMARK_MODEL  STAR checkpoint (default: the tiny fixture model, so that it runs quickly)
#   DETECTOR_MODEL  RetinaFace checkpoint
#   VIDEO           the source video (default: the shared test video, 434 decoded frames)
#   NTASKS          array size (default 3)
#   KEEP_TMP=1      keep the temporary folder (configs, daemon and task logs, outputs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${STARFACE_SHARED_DIR:-$ROOT/../shared}
STARFACE=${STARFACE:-$ROOT/build/starface}
LANDMARK_MODEL=${LANDMARK_MODEL:-$SHARED/fixtures/star/models/star_wflw_tiny.pth}
DETECTOR_MODEL=${DETECTOR_MODEL:-$SHARED/models/retinaface_mobilenet0.25.pth}
VIDEO=${VIDEO:-$SHARED/data/face_video_1280x720.avi}
NTASKS=${NTASKS:-3}
SBATCH_TEMPLATE=$ROOT/scripts/starface_array.sbatch
WAIT_LIMIT_S=${WAIT_LIMIT_S:-600}   # per array run

log() { echo "== $*"; }
die() { echo "slurm_array_test: $*" >&2; exit 2; }

passed=0
failed=0
check() {  # check "description" command...: one line, ok or FAIL
  local what=$1
  shift
  if "$@"; then
    echo "ok: $what"
    passed=$((passed + 1))
  else
    echo "FAIL: $what"
    failed=$((failed + 1))
  fi
}

for f in "$STARFACE" "$LANDMARK_MODEL" "$DETECTOR_MODEL" "$VIDEO" "$SBATCH_TEMPLATE"; do
  [ -e "$f" ] || die "missing $f (see the environment variables at the top of this script)"
done
[ -x "$STARFACE" ] || die "$STARFACE is not executable"
STARFACE=$(readlink -f "$STARFACE")

# --- 1. packages -------------------------------------------------------------------------
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in slurm-wlm munge ffmpeg; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# --- 2. a single-node Slurm in a temporary folder ----------------------------------------
TMP=$(mktemp -d /tmp/starface-slurm-test.XXXXXX)
chmod 755 "$TMP"   # munged runs as the munge user and must reach its folder
CONF=$TMP/slurm.conf
MUNGE_DIR=$TMP/munge
MUNGE_SOCKET=$MUNGE_DIR/munge.socket
export SLURM_CONF=$CONF   # for sinfo, sbatch, squeue, scancel, scontrol

pid_of() { if [ -s "$1" ]; then cat "$1" 2>/dev/null || true; fi; }

# Stops one daemon by the pid in its pid file: SIGTERM, up to 15 s, then SIGKILL.
stop_pid_file() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  $sudo kill "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  $sudo kill -9 "$pid" 2>/dev/null || true
}

stopped=0
stop_cluster() {
  [ "$stopped" -eq 0 ] || return 0
  stopped=1
  # Jobs first: a task's slurmstepd and starface outlive slurmd.
  if [ -n "$(pid_of "$TMP/slurmctld.pid")" ]; then
    scancel --user "$(id -un)" >/dev/null 2>&1 || true
    for _ in $(seq 100); do
      [ -z "$(squeue -h 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  stop_pid_file "$TMP/slurmd.pid"
  stop_pid_file "$TMP/slurmctld.pid"
  stop_pid_file "$MUNGE_DIR/munged.pid"
}

on_exit() {
  local status=$?
  [ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || echo "slurm_array_test: stopped early (status $status)" >&2
  stop_cluster
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "kept $TMP"
  else
    $sudo rm -rf "$TMP"
  fi
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# A TCP port nobody listens on (checked against /proc/net/tcp and tcp6).
free_port() {
  local port hex
  while :; do
    port=$((20000 + RANDOM % 20000))
    hex=$(printf ':%04X' "$port")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2}' | grep -q "$hex\$" || break
  done
  echo "$port"
}

log "munged"
mkdir -p "$MUNGE_DIR"
dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none
chmod 400 "$MUNGE_DIR/munge.key"
chmod 755 "$MUNGE_DIR"   # munged: the socket folder must be searchable by all
$sudo chown -R munge:munge "$MUNGE_DIR"
munged_cmd=(/usr/sbin/munged --socket="$MUNGE_SOCKET" --key-file="$MUNGE_DIR/munge.key"
  --pid-file="$MUNGE_DIR/munged.pid" --log-file="$MUNGE_DIR/munged.log"
  --seed-file="$MUNGE_DIR/munged.seed")
if [ -z "$sudo" ]; then
  su -s /bin/sh munge -c "$(printf '%q ' "${munged_cmd[@]}")"
else
  sudo -u munge "${munged_cmd[@]}"
fi
munge -S "$MUNGE_SOCKET" -n | unmunge -S "$MUNGE_SOCKET" | grep -q "STATUS: *Success" ||
  die "munge does not work (see $MUNGE_DIR/munged.log)"

NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/MemAvailable/ {m = int($2 / 1024) - 1024; print (m < 512 ? 512 : m)}' /proc/meminfo)
mkdir -p "$TMP/state" "$TMP/spool" "$TMP/logs" "$TMP/out" "$TMP/videos"
: >"$TMP/plugstack.conf"
cat >"$CONF" <<EOF
# Written by scripts/slurm_array_test.sh: one node, everything under $TMP.
ClusterName=starfacetest
SlurmctldHost=$NODE
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
PlugStackConfig=$TMP/plugstack.conf
# No systemd or cgroups here: plain process tracking, no task binding, no accounting.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# Keep finished jobs visible to scontrol for the checks; a cancelled task is killed 5 s
# after its SIGTERM at the latest.
MinJobAge=900
KillWait=5
NodeName=$NODE CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

log "slurmctld and slurmd on $NODE ($CPUS CPUs)"
$sudo slurmctld -f "$CONF"
$sudo slurmd -f "$CONF"
for _ in $(seq 60); do
  state=$(sinfo -h -N -o %T 2>/dev/null | head -n1)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "${state:-}" = idle ] || die "node not idle after 30 s (state '${state:-}'; see $TMP/*.log)"

# --- 3. the videos -----------------------------------------------------------------------
# Input k of the sorted folder goes to task k mod NTASKS. a_long.avi (the whole video, about
# a minute of work on one core with the tiny model) is task 0's first input: the one
# cancelled mid-run. Task 0 holds one more input after it, which the cancel keeps from
# starting.
log "videos"
V=$TMP/videos
# -ss after -i: decoded from the start and cut at the time, exactly (seeking the input
# lands between the video's keyframes and makes the decoder complain).
cut() {  # cut NAME START_S FRAMES: re-encoded, every decoded frame kept as it is
  ffmpeg -v error -nostdin -y -i "$VIDEO" -ss "$2" -an -fps_mode passthrough -frames:v "$3" \
    -c:v libx264 -preset ultrafast "$V/$1"
}
cp "$VIDEO" "$V/a_long.avi"
cut b_cut.mp4 0 72
cut c_cut.mp4 10 48
for i in $(seq 1 $((NTASKS - 1))); do  # enough inputs for task 0 to have a second one
  cut "d${i}_cut.mp4" $((12 + 3 * i)) 40
done
INPUTS=()
while IFS= read -r f; do INPUTS+=("$(basename "$f")"); done < <(find "$V" -type f | LC_ALL=C sort)
KILLED=a_long
AFTER_KILLED=$(basename "${INPUTS[$NTASKS]}")
AFTER_KILLED=${AFTER_KILLED%.*}
declare -A FRAMES
for f in "${INPUTS[@]}"; do
  FRAMES[${f%.*}]=$(ffprobe -v error -count_frames -select_streams v:0 \
    -show_entries stream=nb_read_frames -of csv=p=0 "$V/$f")
done
for k in "${!INPUTS[@]}"; do
  f=${INPUTS[$k]}
  printf '   %-14s task %d  %4s frames\n' "$f" $((k % NTASKS)) "${FRAMES[${f%.*}]}"
done

# --- 4. the array, a cancel, the array again -------------------------------------------
OUT=$TMP/out
submit() {  # prints the array job id
  sbatch --parsable --array="0-$((NTASKS - 1))" --cpus-per-task=1 \
    --output="$TMP/logs/run$1_%A_%a.log" \
    --export=ALL,STARFACE="$STARFACE",STARFACE_SHARDS="$NTASKS" \
    "$SBATCH_TEMPLATE" "$V" -o "$OUT" \
    --landmark-model "$LANDMARK_MODEL" --detector-model "$DETECTOR_MODEL"
}

wait_array() {  # wait_array JOBID: until squeue no longer lists any of its tasks
  local t0=$SECONDS
  while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
    [ $((SECONDS - t0)) -lt "$WAIT_LIMIT_S" ] || { echo "array $1 still running after ${WAIT_LIMIT_S}s"; return 1; }
    sleep 1
  done
}

# JobState and ExitCode of one task, from slurmctld's memory (accounting is off).
task_field() {  # task_field JOBID TASK FIELD
  scontrol -o show job "$1_$2" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$3=//p" | head -n1
}

t_start=$SECONDS
log "run 1: sbatch --array=0-$((NTASKS - 1)) starface_array.sbatch $V -o $OUT ..."
JOB1=$(submit 1)
log "array job $JOB1; waiting for task 0 to be in the middle of $KILLED"
partial_csv=$OUT/.$KILLED.partial.csv
# The partial CSV appears when the input is opened and grows a row per frame: once it holds
# rows, the task is mid-video, seconds away from the end of a 434-frame input.
killed_mid_run=0
for _ in $(seq $((WAIT_LIMIT_S * 10))); do
  if [ -s "$partial_csv" ] && [ "$(wc -l <"$partial_csv")" -ge 5 ]; then
    if [ ! -e "$OUT/$KILLED.csv" ]; then
      rows_at_kill=$(wc -l <"$partial_csv")
      scancel "${JOB1}_0"
      killed_mid_run=1
    fi
    break
  fi
  [ -n "$(squeue -h -j "${JOB1}_0" 2>/dev/null)" ] || break  # ended before we saw it
  sleep 0.1
done
if [ "$killed_mid_run" = 1 ]; then
  log "scancel ${JOB1}_0 at $rows_at_kill lines of $KILLED's partial CSV"
else
  log "task 0 was not caught mid-run"
fi
wait_array "$JOB1" || true
log "run 1 done after $((SECONDS - t_start)) s"
check "task ${JOB1}_0 cancelled while it was processing $KILLED" \
  test "$killed_mid_run" = 1 -a "$(task_field "$JOB1" 0 JobState)" = CANCELLED
check "the cancelled task left no $KILLED.csv, only its partial file" \
  test ! -e "$OUT/$KILLED.csv" -a -e "$partial_csv"
check "the cancelled task never started its next input ($AFTER_KILLED)" \
  test ! -e "$OUT/$AFTER_KILLED.csv" -a ! -e "$OUT/.$AFTER_KILLED.partial.csv"
other_ok=1
for t in $(seq 1 $((NTASKS - 1))); do
  [ "$(task_field "$JOB1" "$t" JobState)" = COMPLETED ] || other_ok=0
  [ "$(task_field "$JOB1" "$t" ExitCode)" = 0:0 ] || other_ok=0
done
check "run 1: tasks 1-$((NTASKS - 1)) COMPLETED with exit code 0" test "$other_ok" = 1
declare -A MTIME
for f in "$OUT"/*.csv; do MTIME[$f]=$(stat -c %Y.%y "$f"); done

log "run 2: the same sbatch again"
JOB2=$(submit 2)
wait_array "$JOB2" || true
log "run 2 done after $((SECONDS - t_start)) s in all"
all_ok=1
for t in $(seq 0 $((NTASKS - 1))); do
  [ "$(task_field "$JOB2" "$t" JobState)" = COMPLETED ] || all_ok=0
  [ "$(task_field "$JOB2" "$t" ExitCode)" = 0:0 ] || all_ok=0
done
check "run 2: all $NTASKS tasks COMPLETED with exit code 0" test "$all_ok" = 1
unchanged=1
for f in "${!MTIME[@]}"; do
  [ "$(stat -c %Y.%y "$f" 2>/dev/null)" = "${MTIME[$f]}" ] || unchanged=0
done
skipped=$(cat "$TMP"/logs/run2_*.log | grep -c "skipped, .* exists" || true)
check "run 2 skipped the ${#MTIME[@]} inputs run 1 finished (logs: $skipped skipped; CSVs untouched)" \
  test "$unchanged" = 1 -a "$skipped" = "${#MTIME[@]}" -a "${#MTIME[@]}" -gt 0

# --- 5. the outputs ----------------------------------------------------------------------
# A complete CSV: the OpenFace-style header, then rows whose frame numbers run 1..frames,
# every frame present (one row per face, or one "success 0" row for a frame without a face).
csv_complete() {  # csv_complete FILE FRAMES
  [ -s "$1" ] || return 1
  head -n1 "$1" | grep -Eq '^frame, *face_id, *timestamp, *confidence, *success, *x_0' || return 1
  awk -F, -v n="$2" 'NR > 1 { f = $1 + 0; seen[f] = 1; if (f > max) max = f; rows++ }
    END { for (i = 1; i <= n; i++) if (!(i in seen)) exit 1; exit !(rows >= n && max == n) }' "$1"
}
profile_frames() { sed -n 's/^ *"frames": *\([0-9]*\).*/\1/p' "$1" | head -n1; }

expected=()
for f in "${INPUTS[@]}"; do
  name=${f%.*}
  n=${FRAMES[$name]}
  expected+=("$name.csv" "${name}_profile.json")
  check "$name.csv: header and rows for frames 1..$n" csv_complete "$OUT/$name.csv" "$n"
  check "${name}_profile.json: $n frames" test "$(profile_frames "$OUT/${name}_profile.json" 2>/dev/null)" = "$n"
done
check "the copy of the video decodes to 434 frames (ffprobe)" test "${FRAMES[a_long]}" = 434
leftover=$(find "$OUT" -name '.*' -type f | sort | tr '\n' ' ')
check "no hidden .*.partial.* or other hidden file left in OUT${leftover:+ ($leftover)}" test -z "$leftover"
actual=$(cd "$OUT" && find . -mindepth 1 | sed 's|^\./||' | sort)
wanted=$(printf '%s\n' "${expected[@]}" | sort)
check "OUT holds exactly one CSV and one profile per input, nothing else" test "$actual" = "$wanted"
if [ "$actual" != "$wanted" ]; then diff <(echo "$wanted") <(echo "$actual") || true; fi

# --- 6. stop everything --------------------------------------------------------------------
daemons=("$(pid_of "$TMP/slurmd.pid")" "$(pid_of "$TMP/slurmctld.pid")" "$(pid_of "$MUNGE_DIR/munged.pid")")
stop_cluster
alive=""
for pid in "${daemons[@]}"; do
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive="$alive $pid"
done
check "slurmd, slurmctld and munged stopped${alive:+ (still running:$alive)}" test -z "$alive"

echo "$passed passed, $failed failed ($((SECONDS - t_start)) s from the first sbatch)"
[ "$failed" -eq 0 ]
