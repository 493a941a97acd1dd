# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# http:// and https:// sources, with busybox wget. Its TLS does not check certificates: the
# sha256 check (lib/verify.sh) is what protects. Its own timeout is 900 s and -T crashes in 1.35
# (docs/facts.md), so a watchdog stops a transfer that has gone quiet for fetch_stall= seconds.

# HTTP(S): ask for the size first (a refusal needs no download; busybox's --spider is a GET that
# hangs up after the headers), then GET URL $1 into file $2 with bounded retries. A busy server
# (503, 429) is asked again after a wait, with its own fetch_tries=, before any download.
ram_fetch_http() {
	ram_proxy_can_fetch "$1" || return 1
	# With the curl hook, curl fetches instead and checks certificates (lib/fetch-curl.sh).
	if ram_curl_present; then
		ram_fetch_curl "$1" "$2"
		return
	fi
	ram_fetch_retry "$1" "$2" ram_fetch_http_probe probe || return 1
	# The headers of a failed probe count too: busybox wget gives up itself on a Content-Length
	# past 2^63 ("is garbage"), which is an image too big for any machine, not a reason to retry.
	ram_http_size "$1" || return 1
	ram_fetch_retry "$1" "$2" ram_fetch_http_once
}

# One size probe of URL $1. It fails only when trying again cannot help (RAM_FETCH_FATAL) or the
# server is busy (503, 429: worth a wait, and a download now would only add to its load); any
# other failure is left to the download, whose tries say why.
ram_fetch_http_probe() {
	ram_wget_watched '' -q -S --spider "$1" && return 0
	ram_fetch_cause "$2"
	[ -z "$RAM_FETCH_FATAL" ] || return 1
	case $RAM_FETCH_STATUS in
	503 | 429) return 1 ;;
	esac
}

# RAM_FETCH_SIZE = the Content-Length the size probe saw for $1 (empty: none), checked against
# the free RAM. The header is the server's word, so it must be a plain decimal number before any
# arithmetic: `08` would be an octal syntax error that kills PID 1, 20 digits wrap negative. A
# value that is not one fails this mirror, as a lie about the size cannot be trusted for the rest.
ram_http_size() {
	ram_hs_seen=
	while read -r ram_hs_key ram_hs_value _; do
		case $ram_hs_key in
		[Cc]ontent-[Ll]ength:)
			RAM_FETCH_SIZE=$ram_hs_value
			ram_hs_seen=1
			;;
		esac
	done <"$RAM_ERR"
	[ -n "$ram_hs_seen" ] || return 0
	case $RAM_FETCH_SIZE in
	0) ;;
	'' | *[!0-9]* | 0*)
		RAM_FETCH_ERROR="the server's Content-Length '$RAM_FETCH_SIZE' is not a byte count (a broken server or proxy)"
		RAM_FETCH_SIZE=
		return 1
		;;
	esac
	ram_fetch_fits "$RAM_FETCH_SIZE" "Content-Length of $1"
}

# One HTTP(S) attempt. A fresh one (no -c: it never seeks) is hashed as it is written
# (lib/verify.sh), so the digest is ready with the last byte; one after a cut continues the
# partial file with -c, which may rewrite it from byte 0 (a server that ignores the Range), so
# that image is hashed over the whole file once complete ("hashed": "after" in report.json).
ram_fetch_http_once() {
	if [ -s "$2" ]; then
		ram_wget_watched "$2" -q -c -O "$2" "$1" && return 0
	else
		ram_hash_start "$2"
		ram_wget_watched "$2" -q -O "$2" "$1"
		ram_fh_status=$?
		ram_hash_finish "$2" || RAM_HASHED_FILE=
		[ "$ram_fh_status" -ne 0 ] || return 0
		RAM_HASHED_FILE=
	fi
	ram_fetch_cause "$2"
	return 1
}

# Run wget "$@" (stderr to RAM_ERR) while a watchdog looks at file $1 (empty: one that never
# grows, for the size probe): when it has not grown for fetch_stall= seconds, wget is killed
# and RAM_FETCH_STALLED set. Waiting on wget itself, not polling it, adds no delay to a fetch.
ram_wget_watched() {
	RAM_FETCH_STALLED=
	ram_ww_file=$1
	shift
	wget "$@" 2>"$RAM_ERR" &
	ram_ww_pid=$!
	ram_wget_watchdog "$ram_ww_pid" "$ram_ww_file" </dev/null >/dev/null 2>&1 &
	ram_ww_dog=$!
	wait "$ram_ww_pid"
	ram_ww_status=$?
	kill "$ram_ww_dog" 2>/dev/null
	wait "$ram_ww_dog"
	[ $? -ne 3 ] || [ "$ram_ww_status" -eq 0 ] || RAM_FETCH_STALLED=1
	return "$ram_ww_status"
}

# The watchdog, a child of its own: kill process $1 and exit 3 once file $2 has kept its size
# for RAM_FETCH_STALL one-second looks. `command sleep` is the real one even where tests replace
# `sleep` (the retry waits) with a fake clock: wget is a real process, watched in real time.
ram_wget_watchdog() {
	ram_wd_last=$(stat -c %s "$2" 2>/dev/null) || ram_wd_last=0
	ram_wd_idle=0
	while command sleep 1; do
		ram_wd_size=$(stat -c %s "$2" 2>/dev/null) || ram_wd_size=0
		if [ "$ram_wd_size" != "$ram_wd_last" ]; then
			ram_wd_last=$ram_wd_size
			ram_wd_idle=0
			continue
		fi
		ram_wd_idle=$((ram_wd_idle + 1))
		[ "$ram_wd_idle" -ge "${RAM_FETCH_STALL:-20}" ] || continue
		# Deaf to the TERM that ram_wget_watched sends once wget is gone, so the stall is told.
		trap '' TERM
		kill "$1"
		exit 3
	done
}

# RAM_FETCH_ERROR, RAM_FETCH_STATUS and RAM_FETCH_FATAL from the error answer $1 of an HTTP server
# ("503 Service Unavailable"), for wget and curl alike: a 4xx other than 429 stays the same
# however often it is asked again; 429 and 5xx may not.
ram_fetch_http_error() {
	RAM_FETCH_ERROR="HTTP $1"
	case $1 in
	[1-5][0-9][0-9] | [1-5][0-9][0-9]" "*) RAM_FETCH_STATUS=${1%% *} ;;
	esac
	case $RAM_FETCH_STATUS in
	429) ;;
	4*) RAM_FETCH_FATAL=1 ;;
	esac
}

# RAM_FETCH_ERROR = why the last wget failed, file $1 being what it wrote so far; RAM_FETCH_STATUS
# = the HTTP status of an error answer; RAM_FETCH_FATAL is set when trying the same URL again
# cannot help (no such host, a 4xx answer but 429 Too Many Requests, which asks for a wait).
ram_fetch_cause() {
	RAM_FETCH_STATUS=
	RAM_FETCH_FATAL=
	ram_fc_have=0
	[ ! -f "$1" ] || ram_fc_have=$(stat -c %s "$1")
	if [ -n "$RAM_FETCH_STALLED" ]; then
		RAM_FETCH_ERROR="stalled: no data for ${RAM_FETCH_STALL:-20}s at byte $ram_fc_have${RAM_FETCH_SIZE:+ of $RAM_FETCH_SIZE} (fetch_stall=${RAM_FETCH_STALL:-20})"
		return 0
	fi
	ram_tail "$RAM_ERR"
	case $RAM_TAIL in
	*"bad address"*)
		RAM_FETCH_ERROR="DNS: cannot resolve ${RAM_TAIL#*bad address } (wrong host name, or no DNS server from DHCP?)"
		RAM_FETCH_FATAL=1
		;;
	*"Connection refused"*) RAM_FETCH_ERROR="connection refused (no server listening on that host and port?)" ;;
	*"server returned error: "*)
		ram_fc_status=${RAM_TAIL#*server returned error: }
		ram_fetch_http_error "${ram_fc_status#HTTP/* }"
		;;
	*"closed prematurely"* | *"short read"*)
		RAM_FETCH_ERROR="short read: the server closed the connection at byte $ram_fc_have${RAM_FETCH_SIZE:+ of $RAM_FETCH_SIZE}"
		;;
	'') RAM_FETCH_ERROR="wget failed without a message" ;;
	*) RAM_FETCH_ERROR=$RAM_TAIL ;;
	esac
}
