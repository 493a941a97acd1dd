# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# cache=LABEL=name (or UUID=uuid, or a device name such as sdb1): a local filesystem that keeps
# the last root image that verified, as ramboot-cache/<sha256>.squashfs (issue 12). At boot the
# image rootsha256= pins is copied from there into RAM, hashed as it is copied (lib/verify.sh); only
# when it is absent or does not match is the network asked, and an image that then verifies is
# written back under a temporary name and renamed, so a boot cut short never leaves half an
# image under the real name. The copy in RAM is what is checked and mounted, never the disk
# file, so a disk changed after the check cannot change the root. The cache only saves time: a
# missing disk, a filesystem that will not mount, a read-only or full one is a warning, and the
# boot goes on from the network.

RAM_CACHE_SUBDIR=ramboot-cache

# True when the pinned image was copied from the cache into file $1 and its digest matched:
# RAM_FETCHED and RAM_IMAGE_URL say so as ram_fetch_url would. Else the network is next; the
# cache stays mounted (RAM_CACHE_MNT) for ram_cache_store.
ram_cache_fetch() {
	RAM_CACHE_MNT=
	RAM_CACHE_FOUND=none
	RAM_CACHE_WHY=
	[ -n "$RAM_CACHE" ] || return 1
	case $RAM_ROOTSHA256 in
	off | '')
		ram_cache_skip "rootsha256=${RAM_ROOTSHA256:-} gives no pin to check a cached image against"
		return 1
		;;
	esac
	ram_sha256_pin "$RAM_ROOTSHA256" "rootsha256=$RAM_ROOTSHA256"
	RAM_CACHE_NAME=$RAM_SHA256_WANT.squashfs
	ram_cache_mount || return 1
	ram_cf_file=$RAM_CACHE_MNT/$RAM_CACHE_SUBDIR/$RAM_CACHE_NAME
	if [ ! -f "$ram_cf_file" ]; then
		ram_log "cache: no image of sha256 $RAM_SHA256_WANT on $RAM_CACHE_DEV; fetching it"
		return 1
	fi
	ram_hash_start "$1" always
	cp "$ram_cf_file" "$1" 2>"$RAM_ERR"
	ram_cf_status=$?
	RAM_HASHED_SHA256=
	if ram_hash_finish "$1" && [ "$ram_cf_status" -eq 0 ] && [ "$RAM_HASHED_SHA256" = "$RAM_SHA256_WANT" ]; then
		RAM_CACHE_FOUND=match
		RAM_FETCHED=$1
		RAM_ON_DISK=
		RAM_IMAGE_URL=dev://$RAM_CACHE/$RAM_CACHE_SUBDIR/$RAM_CACHE_NAME
		ram_log "cache: the image is on $RAM_CACHE_DEV (cache=$RAM_CACHE): nothing to download"
		return 0
	fi
	ram_cf_why="its sha256 is ${RAM_HASHED_SHA256:-unknown}"
	if [ "$ram_cf_status" -ne 0 ]; then
		ram_tail "$RAM_ERR"
		ram_cf_why="it cannot be copied: ${RAM_TAIL:-cp failed} (is the image tmpfs full?)"
	fi
	RAM_HASHED_FILE=
	rm -f "$1"
	RAM_CACHE_FOUND=mismatch
	ram_warn "cache: ${ram_cf_file#"$RAM_CACHE_MNT/"} on $RAM_CACHE_DEV is damaged ($ram_cf_why); fetching it"
	# A damaged copy is dropped at once, so a boot that fails later does not meet it again.
	[ -n "$RAM_CACHE_RO" ] || rm -f "$ram_cf_file"
	return 1
}

# Mount the cache= filesystem at /run/ramboot/cache (RAM_CACHE_MNT, RAM_CACHE_DEV) read-write,
# else read-only (RAM_CACHE_RO: read, never updated); false, with a warning, when there is no
# such device or nothing mounts it.
ram_cache_mount() {
	RAM_CACHE_RO=
	RAM_CACHE_DEV=
	ram_find_dev "$RAM_CACHE" || {
		ram_cache_skip "$RAM_DEV_ERROR"
		return 1
	}
	RAM_CACHE_DEV=$RAM_DEV
	ram_cm_mnt=$RAM_PREFIX/run/ramboot/cache
	mkdir -p "$ram_cm_mnt" || ram_die "cannot create $ram_cm_mnt"
	# busybox mount tries the filesystems the kernel has registered, so load the usual ones.
	modprobe -q -a ext4 vfat 2>/dev/null
	if ! mount -o rw "$RAM_DEV" "$ram_cm_mnt" 2>"$RAM_ERR"; then
		ram_tail "$RAM_ERR"
		ram_cm_said=${RAM_TAIL:-no known filesystem}
		if ! mount -o ro "$RAM_DEV" "$ram_cm_mnt" 2>/dev/null; then
			ram_cache_skip "cannot mount $RAM_DEV: $ram_cm_said"
			return 1
		fi
		RAM_CACHE_RO=1
		ram_warn "cache=$RAM_CACHE: $RAM_DEV mounts only read-only ($ram_cm_said): it is read, never updated"
	fi
	RAM_CACHE_MNT=$ram_cm_mnt
}

# The cache is not used this boot, for reason $1: a warning, never an error.
ram_cache_skip() {
	RAM_CACHE_WHY=$1
	ram_warn "cache=$RAM_CACHE: $1; fetching from the network"
}

# After ram_verify_root accepted RAM_IMAGE: write it into the cache when it came from the
# network, unmount the cache, and add report.json's "cache".
ram_cache_store() {
	[ -n "$RAM_CACHE" ] || return 0
	ram_cs_result=miss
	ram_cs_seconds=null
	if [ -z "$RAM_CACHE_MNT" ]; then
		:
	elif [ "$RAM_CACHE_FOUND" = match ]; then
		ram_cs_result=hit
	elif [ -n "$RAM_CACHE_RO" ]; then
		RAM_CACHE_WHY="$RAM_CACHE_DEV is read-only"
	elif [ "${RAM_SHA256_HOW:-}" = '' ] || [ "$RAM_SHA256" != "$RAM_SHA256_WANT" ]; then
		# Only an image whose digest this boot compared with the pin goes in (not rootsha256=off).
		RAM_CACHE_WHY="the image was not checked against a pin"
	else
		ram_now
		ram_cs_start=$RAM_NOW
		if ram_cache_write; then
			ram_cs_result=stored
			ram_now
			ram_fmt $((RAM_NOW - ram_cs_start))
			ram_cs_seconds=$RAM_FMT
			ram_log "cache: stored the image on $RAM_CACHE_DEV in ${RAM_FMT}s for the next boot"
		else
			ram_warn "cache=$RAM_CACHE: cannot store the image: $RAM_CACHE_WHY; the next boot downloads it again"
		fi
	fi
	if [ -n "$RAM_CACHE_MNT" ]; then
		umount "$RAM_CACHE_MNT" 2>/dev/null || ram_warn "cache: could not unmount $RAM_CACHE_DEV"
	fi
	ram_json "$RAM_CACHE"
	ram_cs_spec=$RAM_JSON
	ram_json "$RAM_CACHE_DEV"
	[ -n "$RAM_CACHE_DEV" ] || RAM_JSON=null
	ram_cs_dev=$RAM_JSON
	ram_json "$RAM_CACHE_WHY"
	[ -n "$RAM_CACHE_WHY" ] || RAM_JSON=null
	ram_report cache "{\"spec\": $ram_cs_spec, \"device\": $ram_cs_dev, \"result\": \"$ram_cs_result\", \"found\": \"$RAM_CACHE_FOUND\", \"why\": $RAM_JSON, \"store_seconds\": $ram_cs_seconds}"
}

# Copy RAM_IMAGE to ramboot-cache/<sha256>.squashfs: a temporary name, synced, then renamed, and
# only then are the images of other pins removed (the cache keeps the last good one). A full
# filesystem gets one more try after those older images are gone. RAM_CACHE_WHY on failure.
ram_cache_write() {
	ram_cw_dir=$RAM_CACHE_MNT/$RAM_CACHE_SUBDIR
	ram_cw_tmp=$ram_cw_dir/.$RAM_CACHE_NAME.part
	for ram_cw_try in 1 2; do
		if mkdir -p "$ram_cw_dir" 2>"$RAM_ERR" && cp "$RAM_IMAGE" "$ram_cw_tmp" 2>"$RAM_ERR" &&
			sync -f "$ram_cw_tmp" 2>"$RAM_ERR" && mv -f "$ram_cw_tmp" "$ram_cw_dir/$RAM_CACHE_NAME" 2>"$RAM_ERR"; then
			ram_cache_prune "$RAM_CACHE_NAME"
			return 0
		fi
		ram_tail "$RAM_ERR"
		RAM_CACHE_WHY=${RAM_TAIL:-cp failed}
		rm -f "$ram_cw_tmp"
		[ "$ram_cw_try" = 1 ] && ram_cache_prune "$RAM_CACHE_NAME" || return 1
		ram_log "cache: removed older images to make room; trying again"
	done
	return 1
}

# Remove every cached image but $1 (a name in the cache directory); true when there was one.
ram_cache_prune() {
	RAM_CACHE_PRUNED=
	for ram_cp_file in "$RAM_CACHE_MNT/$RAM_CACHE_SUBDIR"/*.squashfs "$RAM_CACHE_MNT/$RAM_CACHE_SUBDIR"/.*.part; do
		if [ -f "$ram_cp_file" ] && [ "${ram_cp_file##*/}" != "$1" ]; then
			rm -f "$ram_cp_file" && RAM_CACHE_PRUNED=1
		fi
	done
	[ -n "$RAM_CACHE_PRUNED" ]
}
