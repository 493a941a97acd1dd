# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# RAM for the root image: how much is free, whether an image fits before a byte of it is
# written, and the image's own tmpfs, capped below the free memory so a too big image fails
# with a message instead of an out-of-memory kill with none.

# RAM kept free while the image downloads (kB): the kernel, the page cache the squashfs reads
# need, and what runs until the real root takes over.
RAM_RESERVE_KB=65536
# The least overlay upper a booted root can live with (kB): logs, /tmp, a package cache.
RAM_OVERLAY_MIN_KB=32768
# The biggest byte count the shell may do arithmetic with (18 digits, see lib/validate.sh).
RAM_BYTES_MAX=999999999999999999

# RAM_MEM_AVAIL_KB = MemAvailable, RAM_FREE_KB = what an image may use of it (kB). Both come
# from the kernel's /proc/meminfo, so they are numbers.
ram_memory_free() {
	ram_meminfo MemAvailable
	RAM_MEM_AVAIL_KB=$RAM_VALUE
	RAM_FREE_KB=$((RAM_VALUE - RAM_RESERVE_KB))
}

# Refuse, before anything is written, an image of $1 bytes (as $2 says) that would not leave the
# minimal overlay: one line instead of an out-of-memory kill halfway through the download. $1 is
# digits only; more than 18 of them cannot be added up, and cannot fit either.
ram_fetch_fits() {
	RAM_SIZE_FROM=$2
	if ram_check_uint "$1" "$RAM_BYTES_MAX"; then
		ram_ff_kb=$((($1 + 1023) / 1024))
		[ $((ram_ff_kb + RAM_OVERLAY_MIN_KB)) -gt "$RAM_FREE_KB" ] || return 0
		ram_ff_size="$((ram_ff_kb >> 10)) MiB"
	else
		ram_ff_size="$1 bytes"
	fi
	ram_die "image $ram_ff_size + overlay $((RAM_OVERLAY_MIN_KB >> 10)) MiB > $((RAM_FREE_KB >> 10)) MiB free ($2; $((RAM_RESERVE_KB >> 10)) MiB kept for the kernel): add RAM or serve a smaller image"
}

# Before the root image is fetched: is there room at all, and for the size the builder knew?
# toram=0 may keep the image on a disk, so only a download is checked then.
ram_memory_check_root() {
	ram_memory_free
	RAM_SIZE_FROM=
	[ "$RAM_FREE_KB" -gt "$RAM_OVERLAY_MIN_KB" ] ||
		ram_die "only $((RAM_MEM_AVAIL_KB >> 10)) MiB of RAM are free, too little to hold a root image (add RAM)"
	[ -z "$RAM_ROOTSIZE" ] || [ "$RAM_TORAM" = n ] || ram_fetch_fits "$RAM_ROOTSIZE" "built into the initrd"
}

# The image's tmpfs at $1, capped so that the minimal overlay stays free.
ram_image_tmpfs() {
	mkdir -p "$1" || ram_die "cannot create $1"
	ram_must "mounting the image's tmpfs" mount -t tmpfs -o "size=$((RAM_FREE_KB - RAM_OVERLAY_MIN_KB))k,mode=0700" tmpfs "$1"
}

# Once fetched: shrink tmpfs $1 to the RAM_IMAGE_BYTES image's pages, so it holds the image and
# nothing else, or, when the image stayed on its disk (toram=0), unmount the unused tmpfs.
# RAM_IMAGE_PAGES = the pages it holds.
ram_image_tmpfs_fit() {
	if [ -n "$RAM_ON_DISK" ]; then
		RAM_IMAGE_PAGES=0
		umount "$1" || ram_warn "fetch: could not unmount the unused $1"
		return 0
	fi
	RAM_IMAGE_PAGES=$(((RAM_IMAGE_BYTES + 4095) / 4096))
	mount -o "remount,size=$((RAM_IMAGE_PAGES * 4))k" "$1" ||
		ram_warn "fetch: could not shrink $1 to the image"
}

# report.json's "memory": the figures the check above used.
ram_memory_report() {
	ram_json "$RAM_OVERLAY_SIZE"
	ram_mr_overlay=$RAM_JSON
	ram_json "$RAM_SIZE_FROM"
	[ -n "$RAM_SIZE_FROM" ] || RAM_JSON=null
	ram_report memory "{\"available_kib\": $RAM_MEM_AVAIL_KB, \"reserve_kib\": $RAM_RESERVE_KB, \"overlay_min_kib\": $RAM_OVERLAY_MIN_KB, \"image_kib\": $((RAM_IMAGE_PAGES * 4)), \"checked_before_fetch\": $RAM_JSON, \"overlay_size\": $ram_mr_overlay}"
}
