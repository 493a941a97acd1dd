# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# The fetch stage: the root image from the first of rooturl='s mirrors that delivers it, into a
# tmpfs of its own (lib/memory.sh), then the overlays= layers (lib/layers.sh). Each source kind
# has its file: lib/fetch-http.sh, lib/fetch-tftp.sh, lib/fetch-dev.sh; this one holds what they
# share: the URL dispatch, relative URLs, the bounded retries and how a fleet that boots at once
# spreads out (lib/fetch-backoff.sh).

# Tries per URL (fetch_tries=, from /etc/ram.conf); the waits between them start at
# RAM_FETCH_WAIT seconds and double (lib/fetch-backoff.sh). Tests shorten them; as PID 1 /init
# drops every RAM_* variable of its environment first.
RAM_FETCH_TRIES=${RAM_FETCH_TRIES:-4}
RAM_FETCH_WAIT=${RAM_FETCH_WAIT:-1}

ram_stage_fetch() {
	if [ -z "$RAM_ROOTURL" ] && [ -n "${RAM_EMBEDDED:-}" ] && [ -f "$RAM_PREFIX$RAM_EMBEDDED" ]; then
		ram_fetch_embedded
		ram_verify_root
		ram_fetch_layers
		return 0
	fi
	[ -n "$RAM_ROOTURL" ] ||
		ram_die "no rooturl= on the kernel command line (e.g. rooturl=http://SERVER/rootfs.squashfs)"
	RAM_IMAGE_DIR=$RAM_PREFIX/run/ramboot/image
	RAM_FETCH_ATTEMPTS=0
	ram_memory_check_root
	ram_image_tmpfs "$RAM_IMAGE_DIR"
	ram_now
	ram_sf_start=$RAM_NOW
	# cache= (lib/cache.sh): the network only when the local copy is absent or does not match.
	ram_cache_fetch "$RAM_IMAGE_DIR/rootfs.squashfs" ||
		ram_fetch_mirrors "$RAM_ROOTURL" "$RAM_IMAGE_DIR/rootfs.squashfs"
	RAM_IMAGE=$RAM_FETCHED
	RAM_IMAGE_BYTES=$(stat -c %s "$RAM_IMAGE")
	ram_now
	RAM_FETCH_CS=$((RAM_NOW - ram_sf_start))
	ram_image_tmpfs_fit "$RAM_IMAGE_DIR"
	if [ -n "$RAM_ON_DISK" ]; then
		ram_log "fetch: toram=0: the image stays on $RAM_ON_DISK"
	elif [ "$RAM_TORAM" = n ]; then
		ram_warn "fetch: toram=0 keeps only dev:// images on their disk; $RAM_IMAGE_URL is in RAM"
	fi
	ram_fetch_report
	ram_memory_report
	# Not a stage of its own since the digest is taken during the download (issue 16): the
	# image is accepted here, and only then mounted or cached.
	ram_verify_root
	ram_cache_store
	ram_fetch_layers
}

# RAM_IMAGE_URL/RAM_FETCHED = the first of the comma-separated mirrors $1 that could be fetched
# to $2 (a dev:// image may stay on its disk with toram=0); else die with every mirror's cause.
# They are tried in this machine's rotation of the list (ram_fetch_rotate), each of them once.
ram_fetch_mirrors() {
	ram_fm_dest=$2
	ram_fm_keep=
	[ "$RAM_TORAM" != n ] || ram_fm_keep=ondisk
	RAM_IMAGE_URL=
	ram_fm_errors=
	set -f
	ram_fm_ifs=$IFS
	IFS=,
	# shellcheck disable=SC2086 # mirrors are comma-separated
	set -- $1
	IFS=$ram_fm_ifs
	set +f
	# The list without empty entries (rooturl=a,,b), then rotated: the `for` reads the old one.
	for ram_fm_url; do
		shift
		[ -z "$ram_fm_url" ] || set -- "$@" "$ram_fm_url"
	done
	ram_fetch_rotate $#
	while [ "$RAM_ROTATE" -gt 0 ]; do
		set -- "$@" "$1"
		shift
		RAM_ROTATE=$((RAM_ROTATE - 1))
	done
	RAM_FETCH_ORDER_JSON=
	for ram_fm_url; do
		ram_json "$ram_fm_url"
		RAM_FETCH_ORDER_JSON="$RAM_FETCH_ORDER_JSON${RAM_FETCH_ORDER_JSON:+, }$RAM_JSON"
	done
	if [ $# -gt 1 ]; then
		IFS=,
		ram_fm_order="$*"
		IFS=$ram_fm_ifs
		ram_fm_how=fetch_order=${RAM_FETCH_ORDER:-rotate}
		[ -n "$RAM_FETCH_SEED" ] || [ "$ram_fm_how" = fetch_order=listed ] || ram_fm_how="$ram_fm_how, but no MAC to rotate by"
		ram_log "fetch: mirror order${RAM_FETCH_SEED:+ for MAC $RAM_FETCH_SEED} ($ram_fm_how): $ram_fm_order"
	fi
	for ram_fm_url; do
		shift
		ram_resolve_url "$ram_fm_url"
		if [ -z "$RAM_URL" ]; then
			RAM_FETCH_ERROR="a relative URL, but DHCP named no server to resolve it against"
		elif ram_fetch_url "$RAM_URL" "$ram_fm_dest" "$ram_fm_keep"; then
			RAM_IMAGE_URL=$RAM_URL
			return 0
		fi
		ram_fm_errors="$ram_fm_errors${ram_fm_errors:+; }${RAM_URL:-$ram_fm_url}: $RAM_FETCH_ERROR"
		[ $# -eq 0 ] || ram_warn "fetch: ${RAM_URL:-$ram_fm_url}: $RAM_FETCH_ERROR; trying the next mirror"
	done
	ram_die "cannot download the root image: ${ram_fm_errors:-no URL in rooturl=$RAM_ROOTURL}"
}

# Fetch URL $1 to the file $2. With $3 = ondisk a dev:// file may stay where it is (toram=0):
# RAM_FETCHED is the file to use, RAM_ON_DISK its device then. On failure RAM_FETCH_ERROR says
# why and no partial file is left.
ram_fetch_url() {
	rm -f "$2"
	RAM_FETCHED=$2
	RAM_HASHED_FILE=
	RAM_ON_DISK=
	RAM_FETCH_ERROR=
	RAM_FETCH_SIZE=
	case $1 in
	http://* | https://*) ram_fetch_http "$1" "$2" ;;
	tftp://*) ram_fetch_tftp "$1" "$2" ;;
	dev://*) ram_fetch_dev "$1" "$2" "${3:-}" ;;
	*)
		RAM_FETCH_ERROR="not an http://, https://, tftp:// or dev:// URL"
		false
		;;
	esac || {
		rm -f "$2"
		return 1
	}
	[ -s "$RAM_FETCHED" ] && return 0
	RAM_FETCH_ERROR="the server sent an empty file"
	rm -f "$2"
	return 1
}

# Bounded retries: run "$3 URL FILE" (one attempt, which sets RAM_FETCH_ERROR, RAM_FETCH_STATUS
# for an HTTP error answer and, when trying again cannot help, RAM_FETCH_FATAL) until it succeeds
# or fetch_tries= are spent, with ram_fetch_wait's jittered backoff or Retry-After in between.
# $4 = probe: the tries of HTTP's size probe are not download attempts.
ram_fetch_retry() {
	ram_fr_try=1
	while :; do
		[ "${4:-}" = probe ] || RAM_FETCH_ATTEMPTS=$((${RAM_FETCH_ATTEMPTS:-0} + 1))
		RAM_FETCH_STATUS=
		"$3" "$1" "$2" && return 0
		[ -z "$RAM_FETCH_FATAL" ] && [ "$ram_fr_try" -lt "$RAM_FETCH_TRIES" ] || return 1
		ram_fetch_wait "$1" "$ram_fr_try"
		ram_fr_try=$((ram_fr_try + 1))
	done
}

# RAM_URL = URL $1, with a relative one (no scheme://) resolved against the boot server: the
# directory of DHCP's boot file when that is a URL (iPXE), else the boot file's directory over
# TFTP on the next-server (what PXE fetched it with), else http://<next-server>/. The
# next-server is DHCP's siaddr, else the DHCP server itself, or <server> of a static ip=.
ram_resolve_url() {
	RAM_URL=$1
	case $1 in
	*://*) return 0 ;;
	esac
	ram_ru_path=${1#/}
	ram_ru_server=${RAM_NET_SERVER:-$RAM_NET_SERVERID}
	ram_ru_boot=${RAM_NET_BOOTFILE#/}
	case $ram_ru_boot in
	*://*/*) RAM_URL=${ram_ru_boot%/*}/$ram_ru_path ;;
	*://*) RAM_URL=$ram_ru_boot/$ram_ru_path ;;
	*/*) RAM_URL=tftp://$ram_ru_server/${ram_ru_boot%/*}/$ram_ru_path ;;
	?*) RAM_URL=tftp://$ram_ru_server/$ram_ru_path ;;
	*) RAM_URL=http://$ram_ru_server/$ram_ru_path ;;
	esac
	case $ram_ru_boot in
	*://*) ;;
	*) [ -n "$ram_ru_server" ] || RAM_URL= ;;
	esac
	[ -z "$RAM_URL" ] || ram_log "fetch: $1 is relative: $RAM_URL"
}

# The image the builder put into the initrd (--embed): already in RAM, so nothing is fetched or
# copied. switch_root empties the initramfs afterwards, but the loop device keeps the file open.
ram_fetch_embedded() {
	RAM_IMAGE=$RAM_PREFIX$RAM_EMBEDDED
	RAM_IMAGE_URL=initrd:$RAM_EMBEDDED
	RAM_IMAGE_BYTES=$(stat -c %s "$RAM_IMAGE")
	ram_fmt $((RAM_IMAGE_BYTES * 100 >> 20))
	ram_log "fetch: no rooturl=: using the $RAM_FMT MiB image built into the initrd"
	ram_report fetch "{\"url\": \"$RAM_IMAGE_URL\", \"bytes\": $RAM_IMAGE_BYTES, \"embedded\": true}"
}

# The fetch line and report.json's "fetch": size, speed, attempts, and how the boot coped with a
# busy fleet: retries, seconds waited, busy answers (503, 429), waits a Retry-After set, the
# mirror order and the MAC it came from. Sizes come from stat and times from /proc/uptime:
# numbers the shell can trust.
ram_fetch_report() {
	ram_fmt $((RAM_IMAGE_BYTES * 100 >> 20))
	ram_fr_mib=$RAM_FMT
	ram_fmt $((RAM_IMAGE_BYTES * 10000 / (RAM_FETCH_CS > 0 ? RAM_FETCH_CS : 1) >> 20))
	ram_fr_speed=$RAM_FMT
	ram_log "fetch: $ram_fr_mib MiB from $RAM_IMAGE_URL at $ram_fr_speed MiB/s"
	ram_fmt "$RAM_FETCH_CS"
	ram_json "$RAM_IMAGE_URL"
	ram_fr_toram=true
	[ -z "$RAM_ON_DISK" ] || ram_fr_toram=false
	ram_fr_json="{\"url\": $RAM_JSON, \"bytes\": $RAM_IMAGE_BYTES, \"seconds\": $RAM_FMT, \"mib_per_s\": $ram_fr_speed, \"attempts\": $RAM_FETCH_ATTEMPTS, \"toram\": $ram_fr_toram"
	ram_fmt "${RAM_FETCH_WAITED_CS:-0}"
	ram_fr_json="$ram_fr_json, \"retries\": ${RAM_FETCH_RETRIES:-0}, \"waited_s\": $RAM_FMT, \"busy_answers\": ${RAM_FETCH_BUSY:-0}, \"retry_after_waits\": ${RAM_FETCH_RETRY_AFTER_WAITS:-0}"
	ram_fr_mac=null
	[ -z "${RAM_FETCH_SEED:-}" ] || ram_fr_mac="\"$RAM_FETCH_SEED\""
	ram_report fetch "$ram_fr_json, \"mirror_order\": [${RAM_FETCH_ORDER_JSON:-}], \"jitter_mac\": $ram_fr_mac}"
}
