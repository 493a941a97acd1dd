# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# Logging, timing, the failure policy and the debug shell of the ram boot script.
# Every path goes through $RAM_PREFIX (empty at boot) so tests can run this on a fake tree.

# Kernel log levels, include/linux/kern_levels.h.
RAM_LVL_ERR=3
RAM_LVL_WARN=4
RAM_LVL_INFO=6

# A newline, for IFS and for lists kept one item per line.
RAM_NL='
'

# One line to the console and to the kernel log. The kernel itself prints a /dev/kmsg record on
# the console when its level is below console_loglevel, so the line is echoed only when the kernel
# will not show it: the console gets each line once and dmesg (or netconsole) gets them all.
ram_say() {
	ram_say_level=$1
	shift
	[ -z "${RAM_LOG:-}" ] || printf 'ramboot: %s\n' "$*" 2>/dev/null >>"$RAM_LOG"
	if [ -n "${RAM_KMSG:-}" ] &&
		printf '<%s>ramboot: %s\n' "$ram_say_level" "$*" 2>/dev/null >>"$RAM_KMSG" &&
		[ "$ram_say_level" -lt "${RAM_CONSOLE_LEVEL:-0}" ]; then
		return 0
	fi
	printf 'ramboot: %s\n' "$*"
}

ram_log() { ram_say "$RAM_LVL_INFO" "$*"; }
ram_warn() { ram_say "$RAM_LVL_WARN" "warning: $*"; }

# The one failure path: a single line naming what failed and why, then a shell when initrddebug
# is set, else exit. /init exiting makes the kernel panic, and panic=N on the command line turns
# that into a reboot, i.e. a retry.
ram_die() {
	ram_say "$RAM_LVL_ERR" "error: $*"
	ram_json "$*"
	ram_report error "$RAM_JSON"
	ram_report stages "{${RAM_REPORT_STAGES:-}}"
	[ ! -d "$RAM_PREFIX/run/ramboot" ] || ram_write_report
	case ${RAM_INITRDDEBUG:-n} in
	n) ;;
	*)
		[ "$RAM_INITRDDEBUG" != ssh ] || ram_ssh_hint
		ram_shell "shell after the error above (exit to give up; the kernel then panics)"
		;;
	esac
	exit 1
}

# An interactive shell on the console. cttyhack gives it the console as controlling tty, so ^C
# works; setsid is needed first because a shell started by PID 1 has no session of its own.
ram_shell() {
	ram_say "$RAM_LVL_WARN" "initrddebug: $1"
	PS1='ramboot# ' setsid cttyhack sh -i
}

# initrddebug=<stage> stops before that stage; initrddebug=y before the switch to the real root.
ram_breakpoint() {
	if [ "$RAM_INITRDDEBUG" = "$1" ] || { [ "$RAM_INITRDDEBUG" = y ] && [ "$1" = switch ]; }; then
		ram_shell "shell before $1 (exit to continue)"
	fi
}

# RAM_NOW = centiseconds since boot. busybox date has no sub-second clock; /proc/uptime has.
ram_now() {
	RAM_NOW=0
	IFS=' .' read -r ram_now_s ram_now_cs _ 2>/dev/null <"$RAM_PREFIX/proc/uptime" || return 0
	RAM_NOW=$((ram_now_s * 100 + ${ram_now_cs#0}))
}

# RAM_FMT = centiseconds $1 as seconds, e.g. 123 -> 1.23.
ram_fmt() {
	RAM_FMT=$(($1 % 100))
	[ "$RAM_FMT" -ge 10 ] || RAM_FMT=0$RAM_FMT
	RAM_FMT=$(($1 / 100)).$RAM_FMT
}

# RAM_TAIL = the last non-empty line of file $1: what a failed tool said last.
ram_tail() {
	RAM_TAIL=
	while IFS= read -r ram_tail_line || [ -n "$ram_tail_line" ]; do
		[ -n "$ram_tail_line" ] && RAM_TAIL=$ram_tail_line
	done <"$1"
}

# Run a command; when it fails, die naming $1 and quoting the command's own last stderr line.
ram_must() {
	ram_must_what=$1
	shift
	"$@" 2>"$RAM_ERR" && return 0
	ram_must_status=$?
	ram_tail "$RAM_ERR"
	ram_die "$ram_must_what: ${RAM_TAIL:-exit status $ram_must_status}"
}

# RAM_VALUE = the number on the "$1:" line of /proc/meminfo (kB).
ram_meminfo() {
	while read -r ram_mi_key RAM_VALUE _; do
		[ "$ram_mi_key" = "$1:" ] && return 0
	done <"$RAM_PREFIX/proc/meminfo"
	ram_die "no $1 in /proc/meminfo"
}

# RAM_NAME = $1 with every - as _: module and parameter names treat the two as the same.
ram_name() {
	RAM_NAME=$1
	while :; do
		case $RAM_NAME in
		*-*) RAM_NAME=${RAM_NAME%%-*}_${RAM_NAME#*-} ;;
		*) return 0 ;;
		esac
	done
}

# The boot report, /run/ramboot/report.json (kept after the switch): each stage adds `"key": json`
# with ram_report, ram_write_report closes the object (before the switch, or at a failure).
ram_report() { RAM_REPORT="${RAM_REPORT:-}${RAM_REPORT:+, }\"$1\": $2"; }

# Stage $1 took $2 seconds.
ram_report_stage() { RAM_REPORT_STAGES="${RAM_REPORT_STAGES:-}${RAM_REPORT_STAGES:+, }\"$1\": $2"; }

ram_write_report() {
	printf '{%s}\n' "${RAM_REPORT:-}" >"$RAM_PREFIX/run/ramboot/report.json" ||
		ram_warn "cannot write /run/ramboot/report.json"
}

# RAM_JSON = $1 as a JSON string: backslashes and quotes escaped, control characters dropped.
ram_json() {
	ram_js_rest=$1
	RAM_JSON=
	while [ -n "$ram_js_rest" ]; do
		ram_js_char=${ram_js_rest%"${ram_js_rest#?}"}
		ram_js_rest=${ram_js_rest#?}
		case $ram_js_char in
		\\ | \") RAM_JSON="$RAM_JSON\\$ram_js_char" ;;
		[[:cntrl:]]) ;;
		*) RAM_JSON=$RAM_JSON$ram_js_char ;;
		esac
	done
	RAM_JSON="\"$RAM_JSON\""
}
