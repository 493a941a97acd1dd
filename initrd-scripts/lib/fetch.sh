# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# Fetch the root image into RAM and verify it. The image gets a tmpfs of its own, capped below
# the free memory so a too big image fails with a message instead of an OOM with none.

# RAM kept free while the image downloads (kB): the kernel, the page cache the squashfs reads
# need, and what runs until the real root takes over.
RAM_RESERVE_KB=65536

ram_stage_fetch() {
	[ -n "$RAM_ROOTURL" ] ||
		ram_die "no rooturl= on the kernel command line (e.g. rooturl=http://SERVER/rootfs.squashfs)"
	RAM_IMAGE_DIR=$RAM_PREFIX/run/ramboot/image
	RAM_IMAGE=$RAM_IMAGE_DIR/rootfs.squashfs
	ram_meminfo MemAvailable
	ram_fe_cap=$((RAM_VALUE - RAM_RESERVE_KB))
	[ "$ram_fe_cap" -gt 0 ] || ram_die "only $((RAM_VALUE >> 10)) MiB of RAM are free, too little to hold a root image"
	if [ -n "$RAM_ROOTSIZE" ] && [ $((RAM_ROOTSIZE / 1024)) -gt "$ram_fe_cap" ]; then
		ram_die "the root image needs $((RAM_ROOTSIZE >> 20)) MiB of RAM but only $((ram_fe_cap >> 10)) MiB are free (give the machine more RAM or shrink the image)"
	fi
	mkdir -p "$RAM_IMAGE_DIR" || ram_die "cannot create $RAM_IMAGE_DIR"
	ram_must "mounting the image's tmpfs" mount -t tmpfs -o "size=${ram_fe_cap}k,mode=0700" tmpfs "$RAM_IMAGE_DIR"
	RAM_IMAGE_URL=
	ram_fe_errors=
	set -f
	ram_fe_ifs=$IFS
	IFS=,
	# shellcheck disable=SC2086 # mirrors are comma-separated
	set -- $RAM_ROOTURL
	IFS=$ram_fe_ifs
	set +f
	for ram_fe_url; do
		shift
		[ -n "$ram_fe_url" ] || continue
		if ram_fetch_url "$ram_fe_url"; then
			RAM_IMAGE_URL=$ram_fe_url
			break
		fi
		ram_fe_errors="$ram_fe_errors${ram_fe_errors:+; }$ram_fe_url: $RAM_FETCH_ERROR"
		[ $# -eq 0 ] || ram_warn "fetch: $ram_fe_url: $RAM_FETCH_ERROR; trying the next mirror"
	done
	[ -n "$RAM_IMAGE_URL" ] || ram_die "cannot download the root image: ${ram_fe_errors:-no URL in rooturl=$RAM_ROOTURL}"
	ram_fe_size=$(stat -c %s "$RAM_IMAGE")
	# Shrink the tmpfs to the image's pages, so it holds the image and nothing else.
	ram_fe_pages=$(((ram_fe_size + 4095) / 4096))
	mount -o "remount,size=$((ram_fe_pages * 4))k" "$RAM_IMAGE_DIR" ||
		ram_warn "fetch: could not shrink $RAM_IMAGE_DIR to the image"
	ram_fmt $((ram_fe_size * 100 >> 20))
	ram_log "fetch: $RAM_FMT MiB from $RAM_IMAGE_URL"
}

# Download URL $1 to RAM_IMAGE; on failure RAM_FETCH_ERROR says why, in the tool's words.
ram_fetch_url() {
	rm -f "$RAM_IMAGE"
	RAM_FETCH_ERROR=
	case $1 in
	http://* | https://*)
		# busybox wget does not check TLS certificates: the sha256 check is what protects.
		wget -q -O "$RAM_IMAGE" "$1" 2>"$RAM_ERR"
		;;
	tftp://*) ram_fetch_tftp "$1" ;;
	*)
		RAM_FETCH_ERROR="not an http://, https:// or tftp:// URL"
		false
		;;
	esac
	ram_fu_status=$?
	if [ "$ram_fu_status" = 0 ] && [ -s "$RAM_IMAGE" ]; then
		return 0
	fi
	if [ -z "$RAM_FETCH_ERROR" ]; then
		ram_tail "$RAM_ERR"
		RAM_FETCH_ERROR=${RAM_TAIL:-the server sent an empty file}
	fi
	rm -f "$RAM_IMAGE"
	return 1
}

# tftp://host[:port]/file; the file name is the path without its leading slash (RFC 3617).
# 1468-byte blocks fill an Ethernet frame; the default 512 makes big images crawl.
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
	tftp -g -b 1468 -r "$ram_ft_file" -l "$RAM_IMAGE" "$ram_ft_host" "$ram_ft_port" 2>"$RAM_ERR"
}

ram_stage_verify() {
	if [ -z "$RAM_ROOTSHA256" ]; then
		ram_warn "verify: no rootsha256= given or built in: $RAM_IMAGE_URL is NOT verified"
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
	[ "$ram_ve_got" = "$ram_ve_want" ] ||
		ram_die "checksum mismatch for $RAM_IMAGE_URL: got $ram_ve_got, expected $ram_ve_want (a stale image on the server, or the wrong rootsha256=?)"
	ram_log "verify: sha256 $ram_ve_got matches"
}
