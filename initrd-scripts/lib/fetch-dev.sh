# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# dev:// sources: an image file on a local filesystem (a disk, USB stick or CD).

# How long a dev:// source's disk may take to appear, in centiseconds. Tests shorten it; as
# PID 1 /init drops every RAM_* variable of its environment first.
RAM_DEV_WAIT_CS=${RAM_DEV_WAIT_CS:-1000}

# dev://SPEC/PATH: the file PATH on the filesystem SPEC (LABEL=name, UUID=uuid or a kernel device
# name such as sdb1, vdb), mounted read-only just for the copy into file $2. With $3 = ondisk
# (toram=0) the file is not copied: the filesystem stays mounted, RAM_FETCHED is the file on it
# and RAM_ON_DISK its device.
ram_fetch_dev() {
	ram_fd_rest=${1#dev://}
	ram_fd_spec=${ram_fd_rest%%/*}
	ram_fd_path=/${ram_fd_rest#*/}
	if [ "$ram_fd_spec" = "$ram_fd_rest" ] || [ "$ram_fd_path" = / ] || [ -z "$ram_fd_spec" ]; then
		RAM_FETCH_ERROR="not dev://LABEL=name/path, dev://UUID=uuid/path or dev://sdb1/path"
		return 1
	fi
	RAM_FETCH_ATTEMPTS=$((${RAM_FETCH_ATTEMPTS:-0} + 1))
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
	elif [ "$3" = ondisk ]; then
		# Mounted from the disk itself: the disk stays mounted (read-only) for the boot's life.
		RAM_ON_DISK=$ram_fd_dev
		RAM_FETCHED=$ram_fd_mnt$ram_fd_path
		return 0
	else
		ram_fetch_fits "$(stat -c %s "$ram_fd_mnt$ram_fd_path")" "size of $ram_fd_path on $ram_fd_dev"
		cp "$ram_fd_mnt$ram_fd_path" "$2" 2>"$RAM_ERR" || {
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
