# shellcheck shell=sh disable=SC2034,SC2153 # RAM_* globals cross the lib files and /etc/ram.conf
# How a fleet that boots at once (a power cut coming back, a rolling update) spreads its load
# instead of hammering its servers in step: every machine waits a different, bounded time before
# each retry (jitter), starts on a different mirror of rooturl=, and waits as long as a busy
# server (503, 429) asks in its Retry-After header. "Different" comes from the boot NIC's MAC, so
# one machine does the same on every boot and its logs can be compared; the randomness is a
# 31-bit LCG in shell arithmetic (busybox sh promises no $RANDOM), its numbers kept below 2^31 so
# no product ever leaves the 64-bit range.

# The longest answer a HEAD for Retry-After may take, in seconds; tests shorten it.
RAM_HEAD_WAIT=${RAM_HEAD_WAIT:-5}
RAM_CR=$(printf '\r')

# RAM_FETCH_SEED = the MAC the sequence is seeded from (empty: none), RAM_FETCH_STATE the LCG's
# state. Once per boot. The boot NIC is the one the net stage configured (RAM_NET_IFACE); with no
# NIC (ip=off, a dev:// image) there is no fleet to spread: listed order, plain doubling.
ram_fetch_seed() {
	[ -z "${RAM_FETCH_SEEDED:-}" ] || return 0
	RAM_FETCH_SEEDED=1
	RAM_FETCH_SEED=
	RAM_FETCH_STATE=0
	[ -n "${RAM_NET_IFACE:-}" ] || return 0
	ram_fs_mac=
	read -r ram_fs_mac 2>/dev/null <"$RAM_PREFIX/sys/class/net/$RAM_NET_IFACE/address"
	# Checked before arithmetic like anything read from outside this script: 12 hex digits only.
	case $ram_fs_mac in
	[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]) ;;
	*)
		ram_warn "fetch: $RAM_NET_IFACE has no usable MAC address ('$ram_fs_mac'): retries without jitter, mirrors in the listed order"
		return 0
		;;
	esac
	RAM_FETCH_SEED=$ram_fs_mac
	ram_fs_hex=
	ram_fs_rest=$ram_fs_mac:
	while [ -n "$ram_fs_rest" ]; do
		ram_fs_hex=$ram_fs_hex${ram_fs_rest%%:*}
		ram_fs_rest=${ram_fs_rest#*:}
	done
	# 48 bits. A fleet shares the vendor half (the upper 24 bits), so it is folded onto the device
	# half: machines of one vendor get distinct seeds. Two LCG steps then stir neighbouring MACs.
	ram_fs_n=$((0x$ram_fs_hex))
	RAM_FETCH_STATE=$(((ram_fs_n ^ (ram_fs_n >> 24)) & 2147483647))
	ram_fetch_random
	ram_fetch_random
}

# RAM_RANDOM = the next number 0..2^30-1 of this machine's sequence: the high 15 bits of two LCG
# steps (the low bits of a power-of-two LCG repeat with short periods).
ram_fetch_random() {
	RAM_FETCH_STATE=$(((RAM_FETCH_STATE * 1103515245 + 12345) & 2147483647))
	RAM_RANDOM=$((RAM_FETCH_STATE >> 16))
	RAM_FETCH_STATE=$(((RAM_FETCH_STATE * 1103515245 + 12345) & 2147483647))
	RAM_RANDOM=$((RAM_RANDOM << 15 | RAM_FETCH_STATE >> 16))
}

# RAM_FETCH_WAIT_CS = the wait after failed try $1, in centiseconds: b = RAM_FETCH_WAIT seconds
# doubled per try up to fetch_backoff_max=, then a draw from [b/2, b] ("equal jitter": the fleet
# spreads over half the interval, and no machine comes back sooner than half of it). Without a
# seed, b itself.
ram_fetch_backoff() {
	ram_fetch_seed
	ram_fb_max=$((${RAM_FETCH_BACKOFF_MAX:-30} * 100))
	ram_fb_cs=$((RAM_FETCH_WAIT * 100))
	ram_fb_n=1
	# Doubling in a loop, not a shift by the try number: fetch_tries=100 must not overflow.
	while [ "$ram_fb_n" -lt "$1" ] && [ "$ram_fb_cs" -lt "$ram_fb_max" ]; do
		ram_fb_cs=$((ram_fb_cs * 2))
		ram_fb_n=$((ram_fb_n + 1))
	done
	[ "$ram_fb_cs" -le "$ram_fb_max" ] || ram_fb_cs=$ram_fb_max
	if [ -n "$RAM_FETCH_SEED" ]; then
		ram_fetch_random
		ram_fb_half=$((ram_fb_cs / 2))
		ram_fb_cs=$((ram_fb_cs - ram_fb_half + RAM_RANDOM % (ram_fb_half + 1)))
	fi
	RAM_FETCH_WAIT_CS=$ram_fb_cs
}

# RAM_ROTATE = how many of the $1 mirrors move from the front of the list to its back: with
# fetch_order=rotate (the default) each machine starts on a mirror of its own, so a fleet's first
# requests spread over all of them; the rest follow in the listed order, so every mirror is still
# tried. 0 with fetch_order=listed, one mirror, or no MAC to seed from.
ram_fetch_rotate() {
	RAM_ROTATE=0
	ram_fetch_seed
	[ "${RAM_FETCH_ORDER:-rotate}" = rotate ] && [ "$1" -gt 1 ] && [ -n "$RAM_FETCH_SEED" ] || return 0
	ram_fetch_random
	RAM_ROTATE=$((RAM_RANDOM % $1))
}

# Wait before try $2 + 1 of URL $1, after the failure try $2 left in RAM_FETCH_ERROR and
# RAM_FETCH_STATUS: as long as a busy server (503, 429) asked in a usable Retry-After, plus up to
# a quarter more so the machines it sent away do not all come back in the same second; else the
# backoff. Each wait is one warning line and is counted for report.json.
ram_fetch_wait() {
	RAM_RETRY_AFTER=
	RAM_RETRY_AFTER_NOTE=
	case ${RAM_FETCH_STATUS:-} in
	503 | 429)
		RAM_FETCH_BUSY=$((${RAM_FETCH_BUSY:-0} + 1))
		ram_http_retry_after "$1"
		;;
	esac
	if [ -n "$RAM_RETRY_AFTER" ]; then
		ram_fetch_seed
		RAM_FETCH_WAIT_CS=$((RAM_RETRY_AFTER * 100))
		if [ -n "$RAM_FETCH_SEED" ]; then
			ram_fetch_random
			RAM_FETCH_WAIT_CS=$((RAM_FETCH_WAIT_CS + RAM_RANDOM % (RAM_FETCH_WAIT_CS / 4 + 101)))
		fi
		RAM_FETCH_RETRY_AFTER_WAITS=$((${RAM_FETCH_RETRY_AFTER_WAITS:-0} + 1))
	else
		ram_fetch_backoff "$2"
	fi
	RAM_FETCH_RETRIES=$((${RAM_FETCH_RETRIES:-0} + 1))
	RAM_FETCH_WAITED_CS=$((${RAM_FETCH_WAITED_CS:-0} + RAM_FETCH_WAIT_CS))
	# Whole seconds print as such (sleep 1, "in 1s"); a jittered wait with its hundredths.
	if [ $((RAM_FETCH_WAIT_CS % 100)) -eq 0 ]; then
		ram_fw_s=$((RAM_FETCH_WAIT_CS / 100))
	else
		ram_fmt "$RAM_FETCH_WAIT_CS"
		ram_fw_s=$RAM_FMT
	fi
	ram_warn "fetch: $1: $RAM_FETCH_ERROR${RAM_RETRY_AFTER_NOTE:+ ($RAM_RETRY_AFTER_NOTE)}; try $(($2 + 1)) of $RAM_FETCH_TRIES in ${ram_fw_s}s"
	[ "$RAM_FETCH_WAIT_CS" -eq 0 ] || sleep "$ram_fw_s"
}

# RAM_RETRY_AFTER = the seconds the busy server of http:// URL $1 asks to wait (Retry-After), or
# empty; RAM_RETRY_AFTER_NOTE says what was found, for the warning line. busybox wget prints none
# of an error answer's headers (it stops at the status line), so this asks once more, with a
# HEAD through nc: a few hundred bytes, bounded by RAM_HEAD_WAIT seconds and 16 KiB. Not over
# https:// (nc has no TLS) or through http_proxy: the backoff alone then.
ram_http_retry_after() {
	RAM_RETRY_AFTER=
	RAM_RETRY_AFTER_NOTE=
	# A fetcher that saw the error answer's headers itself (curl -D) names them in RAM_FETCH_HEADERS.
	if [ -n "${RAM_FETCH_HEADERS:-}" ] && [ -s "$RAM_FETCH_HEADERS" ]; then
		ram_http_read_retry_after "$RAM_FETCH_HEADERS"
		return 0
	fi
	case $1 in
	http://*) ;;
	*)
		RAM_RETRY_AFTER_NOTE="Retry-After is not read over ${1%%://*}://"
		return 0
		;;
	esac
	if [ -n "${http_proxy:-}" ]; then
		RAM_RETRY_AFTER_NOTE="Retry-After is not read through http_proxy"
		return 0
	fi
	ram_ra_rest=${1#http://}
	ram_ra_authority=${ram_ra_rest%%/*}
	ram_ra_path=${ram_ra_rest#"$ram_ra_authority"}
	ram_ra_path=${ram_ra_path%%#*}
	ram_ra_host=${ram_ra_authority%:*}
	ram_ra_port=80
	[ "$ram_ra_host" = "$ram_ra_authority" ] || ram_ra_port=${ram_ra_authority##*:}
	# Only what can go into a request line and a Host header as it is (no blank, no CR or LF that
	# would start a header of our own); user@host and [IPv6] are left to the backoff.
	case $ram_ra_host$ram_ra_path in
	'' | *[![:graph:]]*) ram_ra_host= ;;
	esac
	case $ram_ra_host in
	*[!A-Za-z0-9.-]*) ram_ra_host= ;;
	esac
	if [ -z "$ram_ra_host" ] || ! ram_check_uint "$ram_ra_port" 65535; then
		RAM_RETRY_AFTER_NOTE="Retry-After is not read for this URL"
		return 0
	fi
	ram_ra_out=$RAM_ERR.head
	printf 'HEAD %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ramboot\r\nConnection: close\r\n\r\n' \
		"${ram_ra_path:-/}" "$ram_ra_authority" >"$RAM_ERR.req"
	nc "$ram_ra_host" "$ram_ra_port" <"$RAM_ERR.req" >"$ram_ra_out" 2>/dev/null &
	ram_ra_pid=$!
	ram_head_watchdog "$ram_ra_pid" "$ram_ra_out" </dev/null >/dev/null 2>&1 &
	ram_ra_dog=$!
	wait "$ram_ra_pid"
	kill "$ram_ra_dog" 2>/dev/null
	wait "$ram_ra_dog"
	ram_http_read_retry_after "$ram_ra_out"
	rm -f "$RAM_ERR.req" "$ram_ra_out"
}

# The HEAD's watchdog, a child of its own: busybox nc's -w bounds only the connect, so nc (process
# $1) is stopped after RAM_HEAD_WAIT seconds, or as soon as its answer (file $2) passes 16 KiB.
ram_head_watchdog() {
	ram_hw_left=$RAM_HEAD_WAIT
	while [ "$ram_hw_left" -gt 0 ] && command sleep 1; do
		ram_hw_left=$((ram_hw_left - 1))
		ram_hw_size=$(stat -c %s "$2" 2>/dev/null) || ram_hw_size=0
		[ "$ram_hw_size" -le 16384 ] || break
	done
	kill "$1"
}

# RAM_RETRY_AFTER from the headers in file $1 (status lines and header lines; of several answers,
# as after a redirect, the last counts), when that answer is a busy one (503, 429).
ram_http_read_retry_after() {
	RAM_RETRY_AFTER=
	ram_rr_status=
	ram_rr_value=
	ram_rr_n=0
	# A hundred lines are more than any server sends for a HEAD; the file is at most 16 KiB.
	while IFS= read -r ram_rr_line && [ "$ram_rr_n" -lt 100 ]; do
		ram_rr_n=$((ram_rr_n + 1))
		ram_rr_line=${ram_rr_line%"$RAM_CR"}
		case $ram_rr_line in
		HTTP/*)
			ram_rr_status=${ram_rr_line#HTTP/* }
			ram_rr_status=${ram_rr_status%% *}
			ram_rr_value=
			;;
		[Rr][Ee][Tt][Rr][Yy]-[Aa][Ff][Tt][Ee][Rr]:*) ram_rr_value=${ram_rr_line#*:} ;;
		esac
	done <"$1"
	case $ram_rr_status in
	503 | 429) ram_retry_after_value "$ram_rr_value" ;;
	[1-5][0-9][0-9]) RAM_RETRY_AFTER_NOTE="no Retry-After: the server now answers $ram_rr_status" ;;
	*) RAM_RETRY_AFTER_NOTE="no Retry-After: no answer to a HEAD within ${RAM_HEAD_WAIT}s" ;;
	esac
}

# RAM_RETRY_AFTER = header value $1 as whole seconds 0..fetch_backoff_max=, or empty. The header
# is the server's word: only delta-seconds (digits, RFC 9110 10.2.3) are taken, and checked
# before any arithmetic; more than the cap is cut to it, so a boot stays bounded whatever a server
# says. An HTTP date is ignored: the initrd has no clock worth comparing with.
ram_retry_after_value() {
	RAM_RETRY_AFTER=
	ram_rv=$1
	ram_rv=${ram_rv#"${ram_rv%%[! 	]*}"}
	ram_rv=${ram_rv%"${ram_rv##*[! 	]}"}
	ram_rv_max=${RAM_FETCH_BACKOFF_MAX:-30}
	case $ram_rv in
	'')
		RAM_RETRY_AFTER_NOTE="no Retry-After"
		return 0
		;;
	*[!0-9]*)
		ram_printable "$ram_rv" 40
		case $ram_rv in
		[A-Z][a-z][a-z],\ *) RAM_RETRY_AFTER_NOTE="Retry-After '$RAM_PRINTABLE' is a date: ignored, the initrd has no clock to trust" ;;
		*) RAM_RETRY_AFTER_NOTE="Retry-After '$RAM_PRINTABLE' is not a number of seconds: ignored" ;;
		esac
		return 0
		;;
	esac
	# Leading zeros go before arithmetic (007 would be octal); 0 stays.
	while :; do
		case $ram_rv in
		0?*) ram_rv=${ram_rv#0} ;;
		*) break ;;
		esac
	done
	if [ "${#ram_rv}" -gt 9 ] || [ "$ram_rv" -gt "$ram_rv_max" ]; then
		ram_printable "$ram_rv" 24
		RAM_RETRY_AFTER_NOTE="Retry-After $RAM_PRINTABLE s cut to fetch_backoff_max=$ram_rv_max"
		ram_rv=$ram_rv_max
	else
		RAM_RETRY_AFTER_NOTE="Retry-After: ${ram_rv}s"
	fi
	RAM_RETRY_AFTER=$ram_rv
}

# RAM_PRINTABLE = $1 with anything but printable ASCII dropped, cut to $2 characters ("..." then):
# a server's text may go into a log line, never a control sequence into the console. printf's
# precision and tr look at a bounded prefix once; a character loop in sh would be quadratic in a
# server's long line. (busybox 1.35's tr takes [:print:] as empty; ' -~' is that set.)
ram_printable() {
	RAM_PRINTABLE=$(printf "%.$(($2 * 4))s" "$1" | tr -cd ' -~')
	if [ "${#RAM_PRINTABLE}" -gt "$2" ] || [ "${#1}" -gt $(($2 * 4)) ]; then
		RAM_PRINTABLE=$(printf "%.${2}s" "$RAM_PRINTABLE")...
	fi
}
