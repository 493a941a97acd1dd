# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# Fetch the root image into RAM and verify it. The image gets a tmpfs of its own, capped below
# the free memory so a too big image fails with a message instead of an OOM with none.

# RAM kept free while the image downloads (kB): the kernel, the page cache the squashfs reads
# need, and what runs until the real root takes over.
RAM_RESERVE_KB=65536
# The least overlay upper a booted root can live with (kB): logs, /tmp, a package cache.
RAM_OVERLAY_MIN_KB=32768
# Attempts per URL; the waits between them double from RAM_FETCH_WAIT seconds (1+2+4).
RAM_FETCH_TRIES=${RAM_FETCH_TRIES:-4}
RAM_FETCH_WAIT=${RAM_FETCH_WAIT:-1}
# How long a dev:// source's disk may take to appear, in centiseconds.
RAM_DEV_WAIT_CS=${RAM_DEV_WAIT_CS:-1000}

ram_stage_fetch() {
	if [ -z "$RAM_ROOTURL" ] && [ -n "${RAM_EMBEDDED:-}" ] && [ -f "$RAM_PREFIX$RAM_EMBEDDED" ]; then
		ram_fetch_embedded
		ram_fetch_layers
		return 0
	fi
	[ -n "$RAM_ROOTURL" ] ||
		ram_die "no rooturl= on the kernel command line (e.g. rooturl=http://SERVER/rootfs.squashfs)"
	RAM_IMAGE_DIR=$RAM_PREFIX/run/ramboot/image
	RAM_IMAGE=$RAM_IMAGE_DIR/rootfs.squashfs
	ram_meminfo MemAvailable
	ram_fe_avail=$RAM_VALUE
	RAM_FREE_KB=$((RAM_VALUE - RAM_RESERVE_KB))
	RAM_SIZE_FROM=
	RAM_FETCH_ATTEMPTS=0
	[ "$RAM_FREE_KB" -gt "$RAM_OVERLAY_MIN_KB" ] ||
		ram_die "only $((RAM_VALUE >> 10)) MiB of RAM are free, too little to hold a root image (add RAM)"
	# The builder knew the image's size; a server that names one (Content-Length) is checked again.
	# toram=0 may keep the image on a disk, so only a download is checked then.
	[ -z "$RAM_ROOTSIZE" ] || [ "$RAM_TORAM" = n ] || ram_fetch_fits "$RAM_ROOTSIZE" "built into the initrd"
	mkdir -p "$RAM_IMAGE_DIR" || ram_die "cannot create $RAM_IMAGE_DIR"
	ram_must "mounting the image's tmpfs" mount -t tmpfs -o "size=$((RAM_FREE_KB - RAM_OVERLAY_MIN_KB))k,mode=0700" tmpfs "$RAM_IMAGE_DIR"
	RAM_IMAGE_URL=
	RAM_ON_DISK=
	ram_fe_errors=
	set -f
	ram_fe_ifs=$IFS
	IFS=,
	# shellcheck disable=SC2086 # mirrors are comma-separated
	set -- $RAM_ROOTURL
	IFS=$ram_fe_ifs
	set +f
	ram_now
	ram_fe_start=$RAM_NOW
	for ram_fe_url; do
		shift
		[ -n "$ram_fe_url" ] || continue
		ram_resolve_url "$ram_fe_url"
		if [ -z "$RAM_URL" ]; then
			RAM_FETCH_ERROR="a relative URL, but DHCP named no server to resolve it against"
		elif ram_fetch_url "$RAM_URL"; then
			RAM_IMAGE_URL=$RAM_URL
			break
		fi
		ram_fe_errors="$ram_fe_errors${ram_fe_errors:+; }${RAM_URL:-$ram_fe_url}: $RAM_FETCH_ERROR"
		[ $# -eq 0 ] || ram_warn "fetch: ${RAM_URL:-$ram_fe_url}: $RAM_FETCH_ERROR; trying the next mirror"
	done
	[ -n "$RAM_IMAGE_URL" ] || ram_die "cannot download the root image: ${ram_fe_errors:-no URL in rooturl=$RAM_ROOTURL}"
	[ "$RAM_TORAM" != n ] || [ -n "$RAM_ON_DISK" ] ||
		ram_warn "fetch: toram=0 keeps only dev:// images on their disk; $RAM_IMAGE_URL is in RAM"
	RAM_IMAGE_BYTES=$(stat -c %s "$RAM_IMAGE")
	ram_now
	RAM_FETCH_CS=$((RAM_NOW - ram_fe_start))
	if [ -n "$RAM_ON_DISK" ]; then
		# toram=0: the image stays on its disk; its tmpfs is not needed.
		ram_fe_pages=0
		umount "$RAM_IMAGE_DIR" || ram_warn "fetch: could not unmount the unused $RAM_IMAGE_DIR"
		ram_log "fetch: toram=0: the image stays on $RAM_ON_DISK"
	else
		# Shrink the tmpfs to the image's pages, so it holds the image and nothing else.
		ram_fe_pages=$(((RAM_IMAGE_BYTES + 4095) / 4096))
		mount -o "remount,size=$((ram_fe_pages * 4))k" "$RAM_IMAGE_DIR" ||
			ram_warn "fetch: could not shrink $RAM_IMAGE_DIR to the image"
	fi
	ram_fmt $((RAM_IMAGE_BYTES * 100 >> 20))
	ram_fe_mib=$RAM_FMT
	ram_fmt $((RAM_IMAGE_BYTES * 10000 / (RAM_FETCH_CS > 0 ? RAM_FETCH_CS : 1) >> 20))
	ram_fe_speed=$RAM_FMT
	ram_log "fetch: $ram_fe_mib MiB from $RAM_IMAGE_URL at $ram_fe_speed MiB/s"
	ram_fmt "$RAM_FETCH_CS"
	ram_json "$RAM_IMAGE_URL"
	ram_fe_toram=true
	[ -z "$RAM_ON_DISK" ] || ram_fe_toram=false
	ram_report fetch "{\"url\": $RAM_JSON, \"bytes\": $RAM_IMAGE_BYTES, \"seconds\": $RAM_FMT, \"mib_per_s\": $ram_fe_speed, \"attempts\": $RAM_FETCH_ATTEMPTS, \"toram\": $ram_fe_toram}"
	ram_json "$RAM_OVERLAY_SIZE"
	ram_fe_overlay=$RAM_JSON
	ram_json "$RAM_SIZE_FROM"
	[ -n "$RAM_SIZE_FROM" ] || RAM_JSON=null
	ram_report memory "{\"available_kib\": $ram_fe_avail, \"reserve_kib\": $RAM_RESERVE_KB, \"overlay_min_kib\": $RAM_OVERLAY_MIN_KB, \"image_kib\": $((ram_fe_pages * 4)), \"checked_before_fetch\": $RAM_JSON, \"overlay_size\": $ram_fe_overlay}"
	ram_fetch_layers
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

# Refuse, before anything is written, an image of $1 bytes (as $2 says) that would not leave the
# minimal overlay: one line instead of an out-of-memory kill halfway through the download.
ram_fetch_fits() {
	ram_ff_kb=$((($1 + 1023) / 1024))
	RAM_SIZE_FROM=$2
	[ $((ram_ff_kb + RAM_OVERLAY_MIN_KB)) -gt "$RAM_FREE_KB" ] || return 0
	ram_die "image $((ram_ff_kb >> 10)) MiB + overlay $((RAM_OVERLAY_MIN_KB >> 10)) MiB > $((RAM_FREE_KB >> 10)) MiB free ($2; $((RAM_RESERVE_KB >> 10)) MiB kept for the kernel): add RAM or serve a smaller image"
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

# Download URL $1 to RAM_IMAGE; on failure RAM_FETCH_ERROR says why and no partial file is left.
ram_fetch_url() {
	rm -f "$RAM_IMAGE"
	RAM_FETCH_ERROR=
	RAM_FETCH_SIZE=
	case $1 in
	http://* | https://*) ram_fetch_http "$1" ;;
	tftp://*) ram_fetch_tftp "$1" ;;
	dev://*) ram_fetch_dev "$1" ;;
	*)
		RAM_FETCH_ERROR="not an http://, https://, tftp:// or dev:// URL"
		false
		;;
	esac || {
		rm -f "$RAM_IMAGE"
		return 1
	}
	[ -s "$RAM_IMAGE" ] && return 0
	RAM_FETCH_ERROR="the server sent an empty file"
	rm -f "$RAM_IMAGE"
	return 1
}

# HTTP(S): ask for the size first (a refusal needs no download; busybox's --spider is a GET that
# hangs up after the headers), then GET with bounded retries;
# wget -c resumes a cut transfer with a Range request instead of starting over.
# busybox wget does not check TLS certificates: the sha256 check is what protects.
ram_fetch_http() {
	if wget -q -S --spider "$1" 2>"$RAM_ERR"; then
		while read -r ram_fh_key ram_fh_value _; do
			case $ram_fh_key in
			[Cc]ontent-[Ll]ength:) RAM_FETCH_SIZE=$ram_fh_value ;;
			esac
		done <"$RAM_ERR"
		case $RAM_FETCH_SIZE in
		'' | *[!0-9]*) RAM_FETCH_SIZE= ;;
		*) ram_fetch_fits "$RAM_FETCH_SIZE" "Content-Length of $1" ;;
		esac
	else
		ram_fetch_cause
		[ -z "$RAM_FETCH_FATAL" ] || return 1
	fi
	ram_fetch_retry "$1" ram_fetch_http_once
}

# One HTTP(S) attempt; -c continues a partial file, so a retry after a cut transfer resumes.
ram_fetch_http_once() {
	wget -q -c -O "$RAM_IMAGE" "$1" 2>"$RAM_ERR" && return 0
	ram_fetch_cause
	return 1
}

# Bounded retries with doubling waits: run "$2 URL" (one attempt, which sets RAM_FETCH_ERROR and,
# when trying again cannot help, RAM_FETCH_FATAL) until it succeeds or RAM_FETCH_TRIES are spent.
ram_fetch_retry() {
	ram_fr_try=1
	ram_fr_wait=$RAM_FETCH_WAIT
	while :; do
		RAM_FETCH_ATTEMPTS=$((RAM_FETCH_ATTEMPTS + 1))
		"$2" "$1" && return 0
		[ -z "$RAM_FETCH_FATAL" ] && [ "$ram_fr_try" -lt "$RAM_FETCH_TRIES" ] || return 1
		ram_warn "fetch: $1: $RAM_FETCH_ERROR; try $((ram_fr_try + 1)) of $RAM_FETCH_TRIES in ${ram_fr_wait}s"
		sleep "$ram_fr_wait"
		ram_fr_try=$((ram_fr_try + 1))
		ram_fr_wait=$((ram_fr_wait * 2))
	done
}

# RAM_FETCH_ERROR = what wget's last stderr line means; RAM_FETCH_FATAL is set when trying the
# same URL again cannot help (no such host, a 4xx answer).
ram_fetch_cause() {
	ram_tail "$RAM_ERR"
	RAM_FETCH_FATAL=
	ram_fc_have=0
	[ ! -f "$RAM_IMAGE" ] || ram_fc_have=$(stat -c %s "$RAM_IMAGE")
	case $RAM_TAIL in
	*"bad address"*)
		RAM_FETCH_ERROR="DNS: cannot resolve ${RAM_TAIL#*bad address } (wrong host name, or no DNS server from DHCP?)"
		RAM_FETCH_FATAL=1
		;;
	*"Connection refused"*) RAM_FETCH_ERROR="connection refused (no server listening on that host and port?)" ;;
	*"server returned error: "*)
		ram_fc_status=${RAM_TAIL#*server returned error: }
		ram_fc_status=${ram_fc_status#HTTP/* }
		RAM_FETCH_ERROR="HTTP $ram_fc_status"
		case $ram_fc_status in
		4*) RAM_FETCH_FATAL=1 ;;
		esac
		;;
	*"closed prematurely"* | *"short read"*)
		RAM_FETCH_ERROR="short read: the server closed the connection at byte $ram_fc_have${RAM_FETCH_SIZE:+ of $RAM_FETCH_SIZE}"
		;;
	'') RAM_FETCH_ERROR="wget failed without a message" ;;
	*) RAM_FETCH_ERROR=$RAM_TAIL ;;
	esac
}

# tftp://host[:port]/file; the file name is the path without its leading slash (RFC 3617).
# 1468-byte blocks fill an Ethernet frame; the default 512 makes big images crawl. TFTP cannot
# resume, so a retry starts over.
ram_fetch_tftp() {
	ram_ft_rest=${1#tftp://}
	ram_ft_host=${ram_ft_rest%%/*}
	ram_ft_file=${ram_ft_rest#*/}
	if [ "$ram_ft_host" = "$ram_ft_rest" ] || [ -z "$ram_ft_file" ]; then
		RAM_FETCH_ERROR="no file name in the URL"
		return 1
	fi
	ram_ft_port=69
	case $ram_ft_host in
	*:*)
		ram_ft_port=${ram_ft_host##*:}
		ram_ft_host=${ram_ft_host%:*}
		;;
	esac
	ram_fetch_retry "$1" ram_fetch_tftp_once
}

# One TFTP attempt of the file, host and port ram_fetch_tftp took from the URL.
ram_fetch_tftp_once() {
	tftp -g -b 1468 -r "$ram_ft_file" -l "$RAM_IMAGE" "$ram_ft_host" "$ram_ft_port" 2>"$RAM_ERR" && return 0
	ram_tail "$RAM_ERR"
	RAM_FETCH_ERROR=${RAM_TAIL:-tftp failed without a message}
	rm -f "$RAM_IMAGE"
	RAM_FETCH_FATAL=
	case $RAM_FETCH_ERROR in
	*"not found"* | *"access violation"*) RAM_FETCH_FATAL=1 ;;
	esac
	return 1
}

# dev://SPEC/PATH: the file PATH on a local filesystem (a disk, USB stick or CD), SPEC being
# LABEL=name, UUID=uuid or a kernel device name (sdb1, vdb), mounted read-only just for the copy.
# Disks appear after their controller's driver loads, so the device is waited for, bounded.
ram_fetch_dev() {
	ram_fd_rest=${1#dev://}
	ram_fd_spec=${ram_fd_rest%%/*}
	ram_fd_path=/${ram_fd_rest#*/}
	if [ "$ram_fd_spec" = "$ram_fd_rest" ] || [ "$ram_fd_path" = / ] || [ -z "$ram_fd_spec" ]; then
		RAM_FETCH_ERROR="not dev://LABEL=name/path, dev://UUID=uuid/path or dev://sdb1/path"
		return 1
	fi
	RAM_FETCH_ATTEMPTS=$((RAM_FETCH_ATTEMPTS + 1))
	ram_find_dev "$ram_fd_spec" || {
		RAM_FETCH_ERROR=$RAM_DEV_ERROR
		return 1
	}
	ram_fd_dev=$RAM_DEV
	ram_fd_mnt=$RAM_PREFIX/run/ramboot/media
	mkdir -p "$ram_fd_mnt" || ram_die "cannot create $ram_fd_mnt"
	# busybox mount tries the filesystems the kernel has registered, so load the usual ones.
	modprobe -q -a ext4 vfat iso9660 2>/dev/null
	if ! mount -o ro "$ram_fd_dev" "$ram_fd_mnt" 2>"$RAM_ERR"; then
		ram_tail "$RAM_ERR"
		RAM_FETCH_ERROR="cannot mount $ram_fd_dev read-only: ${RAM_TAIL:-no known filesystem}"
		return 1
	fi
	if [ ! -f "$ram_fd_mnt$ram_fd_path" ]; then
		RAM_FETCH_ERROR="no file $ram_fd_path on $ram_fd_dev"
	elif [ "$RAM_TORAM" = n ]; then
		# Mounted from the disk itself: the disk stays mounted (read-only) for the boot's life.
		RAM_ON_DISK=$ram_fd_dev
		RAM_IMAGE=$ram_fd_mnt$ram_fd_path
		return 0
	else
		ram_fetch_fits "$(stat -c %s "$ram_fd_mnt$ram_fd_path")" "size of $ram_fd_path on $ram_fd_dev"
		cp "$ram_fd_mnt$ram_fd_path" "$RAM_IMAGE" 2>"$RAM_ERR" || {
			ram_tail "$RAM_ERR"
			RAM_FETCH_ERROR="copying $ram_fd_path from $ram_fd_dev: $RAM_TAIL"
		}
	fi
	umount "$ram_fd_mnt" 2>/dev/null || ram_warn "fetch: could not unmount $ram_fd_dev"
	[ -z "$RAM_FETCH_ERROR" ]
}

# RAM_DEV = the block device of $1 (LABEL=name, UUID=uuid or a kernel name such as sdb1), waited
# for up to RAM_DEV_WAIT_CS: disks appear after their controller's driver loads. On failure,
# RAM_DEV_ERROR says so and lists the block devices there are.
ram_find_dev() {
	ram_now
	ram_fv_end=$((RAM_NOW + RAM_DEV_WAIT_CS))
	while :; do
		RAM_DEV=
		case $1 in
		LABEL=* | UUID=*) RAM_DEV=$(findfs "$1" 2>/dev/null) ;;
		*) [ ! -b "$RAM_PREFIX/dev/$1" ] || RAM_DEV=$RAM_PREFIX/dev/$1 ;;
		esac
		[ -z "$RAM_DEV" ] || return 0
		ram_now
		[ "$RAM_NOW" -lt "$ram_fv_end" ] || break
		sleep 0.1
	done
	ram_fv_all=
	for ram_fv_blk in "$RAM_PREFIX"/sys/class/block/*; do
		[ -e "$ram_fv_blk" ] && ram_fv_all="$ram_fv_all ${ram_fv_blk##*/}"
	done
	ram_fmt "$RAM_DEV_WAIT_CS"
	RAM_DEV_ERROR="no block device $1 after ${RAM_FMT}s (there are:${ram_fv_all:- none}; is its disk driver in the initrd?)"
	return 1
}

ram_stage_verify() {
	if [ -z "$RAM_ROOTSHA256" ]; then
		ram_warn "verify: no rootsha256= given or built in: $RAM_IMAGE_URL is NOT verified"
		ram_report verify '{"result": "unverified"}'
		return 0
	fi
	ram_ve_want=$RAM_ROOTSHA256
	case $ram_ve_want in
	*[A-F]*) ram_ve_want=$(printf %s "$ram_ve_want" | tr A-F a-f) ;;
	esac
	case $ram_ve_want in
	*[!0-9a-f]*) ram_ve_want= ;;
	esac
	[ ${#ram_ve_want} -eq 64 ] || ram_die "rootsha256=$RAM_ROOTSHA256 is not a sha256 (64 hex digits)"
	ram_ve_got=$(sha256sum "$RAM_IMAGE" 2>"$RAM_ERR") || ram_die "sha256sum $RAM_IMAGE failed"
	ram_ve_got=${ram_ve_got%% *}
	[ "$ram_ve_got" = "$ram_ve_want" ] || {
		ram_report verify "{\"result\": \"mismatch\", \"sha256\": \"$ram_ve_got\", \"expected\": \"$ram_ve_want\"}"
		ram_die "checksum mismatch for $RAM_IMAGE_URL: got $ram_ve_got, expected $ram_ve_want (a stale image on the server, or the wrong rootsha256=?)"
	}
	ram_log "verify: sha256 $ram_ve_got matches"
	ram_report verify "{\"result\": \"match\", \"sha256\": \"$ram_ve_got\"}"
}
