# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# http:// and https:// with curl, used instead of busybox wget when the initrd has it (the
# optional `curl` hook packs the root's /usr/bin/curl with its libraries and the root's CA
# bundle). curl checks the server's certificate against that bundle, which busybox wget never
# does, and bounds its own waits: --connect-timeout, and --speed-limit/--speed-time stop a
# transfer that moves less than a byte a second for fetch_stall= seconds, so no watchdog is
# needed. Mirrors, retries and the size check are the ones wget uses (lib/fetch.sh,
# ram_http_size in lib/fetch-http.sh); -C - resumes a cut transfer as wget -c does.

# The root's CA bundle (Debian's ca-certificates), packed by the curl hook.
RAM_CURL_BUNDLE=/etc/ssl/certs/ca-certificates.crt

# True when the curl hook put curl into this initrd.
ram_curl_present() { [ -x "$RAM_PREFIX/usr/bin/curl" ]; }

# curl "$@" with what every request needs: no .curlrc (-q), errors on stderr but no progress
# meter, an HTTP error as a failure, redirects followed (as wget does) but only to http(s), the
# bundle as the only trust, no URL globbing (an IPv6 literal's [ ] is not a range), and the
# stall bounds.
ram_curl() {
	"$RAM_PREFIX/usr/bin/curl" -q -sS --fail -g -L --max-redirs 5 --proto =http,https \
		--cacert "$RAM_PREFIX$RAM_CURL_BUNDLE" \
		--connect-timeout "${RAM_FETCH_STALL:-20}" \
		--speed-limit 1 --speed-time "${RAM_FETCH_STALL:-20}" "$@"
}

# Like ram_fetch_http: the size first (HEAD), checked against the free RAM, then the GET with
# bounded retries. A refusal that trying again cannot help (a 4xx, an untrusted certificate)
# fails this mirror at once.
ram_fetch_curl() {
	if [ -z "${RAM_CURL_SAID:-}" ]; then
		ram_log "fetch: curl, certificates checked against $RAM_CURL_BUNDLE"
		RAM_CURL_SAID=1
	fi
	RAM_CURL_HEADERS=$RAM_ERR.headers
	rm -f "$RAM_CURL_HEADERS"
	ram_curl -I -o /dev/null -D "$RAM_CURL_HEADERS" "$1" 2>"$RAM_ERR" || {
		ram_curl_cause $? "$2"
		[ -z "$RAM_FETCH_FATAL" ] || return 1
	}
	ram_curl_headers
	ram_http_size "$1" || return 1
	ram_fetch_retry "$1" "$2" ram_fetch_curl_once
}

# One attempt, as ram_fetch_http_once makes it with wget: a fresh one (no -C: it only appends)
# is hashed as it is written (lib/verify.sh), so the digest is ready with the last byte; one
# after a cut continues the partial file with -C - (a Range request), and that image is hashed
# whole once complete.
ram_fetch_curl_once() {
	rm -f "$RAM_CURL_HEADERS"
	ram_fco_status=0
	if [ -s "$2" ]; then
		ram_curl -C - -o "$2" -D "$RAM_CURL_HEADERS" "$1" 2>"$RAM_ERR" || ram_fco_status=$?
		[ "$ram_fco_status" -ne 0 ] || return 0
	else
		ram_hash_start "$2"
		ram_curl -o "$2" -D "$RAM_CURL_HEADERS" "$1" 2>"$RAM_ERR" || ram_fco_status=$?
		ram_hash_finish "$2" || RAM_HASHED_FILE=
		[ "$ram_fco_status" -ne 0 ] || return 0
		RAM_HASHED_FILE=
	fi
	ram_curl_cause "$ram_fco_status" "$2"
	return 1
}

# The headers curl saved, without their CRs, added to RAM_ERR (where ram_http_size reads the
# Content-Length, as it does from wget -S); RAM_CURL_STATUS = the last status line's code and
# reason ("404 Not Found"; HTTP/2 has no reason), the answer after any redirects.
ram_curl_headers() {
	RAM_CURL_STATUS=
	[ -f "$RAM_CURL_HEADERS" ] || return 0
	ram_ch_cr=$(printf '\r')
	while IFS= read -r ram_ch_line; do
		ram_ch_line=${ram_ch_line%"$ram_ch_cr"}
		case $ram_ch_line in
		HTTP/*) RAM_CURL_STATUS=${ram_ch_line#* } ;;
		esac
		printf '%s\n' "$ram_ch_line"
	done <"$RAM_CURL_HEADERS" >>"$RAM_ERR"
}

# RAM_FETCH_ERROR = why curl exited with status $1 (curl's exit codes, man curl "EXIT CODES"),
# file $2 being what it wrote so far, in the words wget's causes use (ram_fetch_cause);
# RAM_FETCH_STATUS = the HTTP status of an error answer; RAM_FETCH_FATAL is set when trying the
# same URL again cannot help (a 4xx but 429 Too Many Requests, which asks for a wait).
ram_curl_cause() {
	RAM_FETCH_STATUS=
	RAM_FETCH_FATAL=
	ram_cc_have=0
	[ ! -f "$2" ] || ram_cc_have=$(stat -c %s "$2")
	# curl's own line, `curl: (60) SSL: ...`: for a certificate it adds a paragraph of advice after it.
	ram_cc_said=
	while IFS= read -r ram_cc_line; do
		case $ram_cc_line in
		"curl: ("*) ram_cc_said=${ram_cc_line#curl: (*) } ;;
		esac
	done <"$RAM_ERR"
	case $1 in
	6)
		RAM_FETCH_ERROR="DNS: cannot resolve ${ram_cc_said#Could not resolve host: } (wrong host name, or no DNS server from DHCP?)"
		RAM_FETCH_FATAL=1
		;;
	7) RAM_FETCH_ERROR="cannot connect: $ram_cc_said (no server listening on that host and port?)" ;;
	22)
		ram_curl_headers
		ram_cc_status=$RAM_CURL_STATUS
		[ -n "$ram_cc_status" ] || ram_cc_status=${ram_cc_said##* }
		ram_fetch_http_error "$ram_cc_status"
		;;
	28)
		case $ram_cc_said in
		*"too slow"*) RAM_FETCH_ERROR="stalled: no data for ${RAM_FETCH_STALL:-20}s at byte $ram_cc_have${RAM_FETCH_SIZE:+ of $RAM_FETCH_SIZE} (fetch_stall=${RAM_FETCH_STALL:-20})" ;;
		*) RAM_FETCH_ERROR="no connection within ${RAM_FETCH_STALL:-20}s (fetch_stall=${RAM_FETCH_STALL:-20}): $ram_cc_said" ;;
		esac
		;;
	18 | 56) RAM_FETCH_ERROR="short read: the server closed the connection at byte $ram_cc_have${RAM_FETCH_SIZE:+ of $RAM_FETCH_SIZE} ($ram_cc_said)" ;;
	33)
		# The server ignored the Range and would send the whole file again: start over.
		rm -f "$2"
		RAM_FETCH_ERROR="the server cannot resume (no byte ranges); the next try starts over"
		;;
	35) RAM_FETCH_ERROR="TLS handshake failed: $ram_cc_said" ;;
	51 | 60)
		RAM_FETCH_ERROR="TLS: the server's certificate is refused: $ram_cc_said (trusted: the CAs of the root's $RAM_CURL_BUNDLE)"
		RAM_FETCH_FATAL=1
		;;
	77)
		RAM_FETCH_ERROR="cannot read the CA bundle $RAM_CURL_BUNDLE: $ram_cc_said (rebuild the initrd from a root with ca-certificates)"
		RAM_FETCH_FATAL=1
		;;
	*) RAM_FETCH_ERROR=${ram_cc_said:-curl failed with exit status $1} ;;
	esac
}
