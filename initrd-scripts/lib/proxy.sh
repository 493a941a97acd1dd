# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# proxy=http://HOST[:PORT]/ (alias http_proxy=): the forward proxy the http:// and https://
# fetches go through. busybox wget and curl read it from the http_proxy/https_proxy environment.
# busybox wget (1.35) sends even an https:// request to the proxy as a plain `GET https://...`,
# never CONNECT, so proxies that only tunnel TLS (tinyproxy, squid's default) refuse it: https
# through such a proxy needs the curl hook, which tunnels with CONNECT.

# True for http://HOST[:PORT] with an optional final /, HOST a name, an IPv4 address or an IPv6
# one in brackets. No user:password@ (it would be logged) and no path (a proxy has none).
ram_check_proxy() {
	case $1 in
	http://*) ram_cx_rest=${1#http://} ;;
	*) return 1 ;;
	esac
	ram_cx_rest=${ram_cx_rest%/}
	ram_cx_port=
	case $ram_cx_rest in
	*[@/]*) return 1 ;;
	\[*\]:*)
		ram_cx_port=${ram_cx_rest##*\]:}
		ram_cx_rest=${ram_cx_rest%\]:*}
		ram_check_ipv6 "${ram_cx_rest#\[}" || return 1
		;;
	\[*\])
		ram_cx_rest=${ram_cx_rest#\[}
		ram_check_ipv6 "${ram_cx_rest%\]}" || return 1
		;;
	*:*)
		ram_cx_port=${ram_cx_rest##*:}
		ram_valid 'A-Za-z0-9.-' "${ram_cx_rest%:*}" || return 1
		;;
	*) ram_valid 'A-Za-z0-9.-' "$ram_cx_rest" || return 1 ;;
	esac
	[ -z "$ram_cx_port" ] || { ram_check_uint "$ram_cx_port" 65535 && [ "$ram_cx_port" -ge 1 ]; }
}

# The kernel hands a command line word it does not know (http_proxy=...) to init's environment
# as it is: only the checked RAM_PROXY may reach wget and curl.
ram_proxy_env() {
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
	[ -n "${RAM_PROXY:-}" ] || return 0
	ram_check_proxy "$RAM_PROXY" ||
		ram_die "proxy=$RAM_PROXY: not http://HOST[:PORT] (a name, an IPv4 address or [IPv6], no user@ or path)"
	http_proxy=$RAM_PROXY
	https_proxy=$RAM_PROXY
	export http_proxy https_proxy
	ram_log "net: http:// and https:// fetches go through the proxy $RAM_PROXY"
}

# False for an https:// URL $1 while a proxy is set and the initrd has no curl, RAM_FETCH_ERROR
# naming the fix: busybox wget would hand the request to the proxy as a plain `GET https://...`
# (it never tunnels with CONNECT), which a proxy refuses, or carries without TLS. Nothing is
# sent then, and no other try can help (RAM_FETCH_FATAL).
ram_proxy_can_fetch() {
	case $1 in
	https://*) ;;
	*) return 0 ;;
	esac
	[ -n "${https_proxy:-}" ] || return 0
	ram_curl_present && return 0
	RAM_FETCH_ERROR="https:// through proxy=$https_proxy needs curl, which this initrd lacks: busybox wget cannot tunnel TLS through a proxy (it sends no CONNECT); build the initrd with --hook curl"
	RAM_FETCH_FATAL=1
	return 1
}
