# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# The new root: the image read-only (squashfs on a loop device) under an overlay whose writable
# upper lives on a tmpfs capped by overlay_size=; then the switch to the root's own init.
# Everything sits under /run/ramboot, so moving /run into the new root keeps it reachable there
# at the same paths the overlay's lowerdir/upperdir name.

ram_stage_mount() {
	RAM_LOWER=$RAM_PREFIX/run/ramboot/lower
	RAM_RW=$RAM_PREFIX/run/ramboot/rw
	RAM_NEWROOT=$RAM_PREFIX/newroot
	mkdir -p "$RAM_LOWER" "$RAM_RW" "$RAM_NEWROOT" || ram_die "cannot create the mount points under /run/ramboot"
	# busybox mount sets up the loop device itself for a regular file; with the verity hook the
	# image is mounted through its dm-verity device instead (lib/verity.sh).
	RAM_ROOT_SRC=$RAM_IMAGE
	! ram_verity_on || ram_verity_open
	ram_must "mounting the image from $RAM_IMAGE_URL (not a squashfs? squashfs and loop modules loaded?)" \
		mount -t squashfs -o ro "$RAM_ROOT_SRC" "$RAM_LOWER"
	if [ -n "$RAM_PERSIST" ]; then
		ram_persist_mount
	else
		ram_must "overlay_size=$RAM_OVERLAY_SIZE: mounting the overlay's tmpfs" \
			mount -t tmpfs -o "size=$RAM_OVERLAY_SIZE,mode=0755" tmpfs "$RAM_RW"
		RAM_UPPER_DIR=$RAM_RW
		RAM_UPPER_WHAT="a tmpfs of size $RAM_OVERLAY_SIZE"
	fi
	mkdir -p "$RAM_UPPER_DIR/upper" "$RAM_UPPER_DIR/work" || ram_die "cannot create the overlay's upper and work directories"
	ram_mount_layers "$RAM_LOWER"
	ram_must "mounting the overlay" mount -t overlay \
		-o "lowerdir=$RAM_LOWERDIRS,upperdir=$RAM_UPPER_DIR/upper,workdir=$RAM_UPPER_DIR/work" overlay "$RAM_NEWROOT"
	if ! ram_resolve_in_root "$RAM_NEWROOT" "$RAM_INIT" ||
		[ ! -f "$RAM_NEWROOT$RAM_RESOLVED" ] || [ ! -x "$RAM_NEWROOT$RAM_RESOLVED" ]; then
		ram_die "init=$RAM_INIT: no such executable in the image from $RAM_IMAGE_URL"
	fi
	ram_log "mount: / is an overlay of the image (read-only) and $RAM_UPPER_WHAT"
}

# persist=LABEL=name (or UUID=, or a device name): the overlay's upper on that filesystem, in its
# ramboot/ directory, so changes to / outlive a reboot. It is an error, not a fallback to RAM,
# when the device is missing: a boot that silently forgets would lose what the user kept.
ram_persist_mount() {
	ram_find_dev "$RAM_PERSIST" || ram_die "persist=$RAM_PERSIST: $RAM_DEV_ERROR"
	modprobe -q -a ext4 vfat 2>/dev/null
	ram_must "persist=$RAM_PERSIST: mounting $RAM_DEV read-write" mount -o rw "$RAM_DEV" "$RAM_RW"
	RAM_UPPER_DIR=$RAM_RW/ramboot
	RAM_UPPER_WHAT="ramboot/ on $RAM_DEV (persist=$RAM_PERSIST)"
}

# RAM_RESOLVED = path $2 inside root $1 with every symlink followed as if $1 were /, so an
# absolute link such as /sbin/init -> /lib/systemd/systemd is judged in the image, not here.
ram_resolve_in_root() {
	RAM_RESOLVED=
	ram_rr_todo=$2
	ram_rr_hops=0
	while [ -n "$ram_rr_todo" ]; do
		ram_rr_todo=${ram_rr_todo#"${ram_rr_todo%%[!/]*}"}
		ram_rr_name=${ram_rr_todo%%/*}
		ram_rr_todo=${ram_rr_todo#"$ram_rr_name"}
		case $ram_rr_name in
		'' | .) continue ;;
		..)
			RAM_RESOLVED=${RAM_RESOLVED%/*}
			continue
			;;
		esac
		if [ -h "$1$RAM_RESOLVED/$ram_rr_name" ]; then
			ram_rr_hops=$((ram_rr_hops + 1))
			# The kernel's own limit on links in one lookup.
			[ "$ram_rr_hops" -le 40 ] || return 1
			ram_rr_target=$(readlink "$1$RAM_RESOLVED/$ram_rr_name")
			case $ram_rr_target in
			/*) RAM_RESOLVED= ;;
			esac
			ram_rr_todo=$ram_rr_target$ram_rr_todo
		else
			RAM_RESOLVED=$RAM_RESOLVED/$ram_rr_name
		fi
	done
}

# Hand the kernel filesystems to the new root and exec its init as PID 1. Arguments are the ones
# the kernel gave /init (words after `--`, single, ...), which belong to the real init.
ram_stage_switch() {
	ram_now
	ram_fmt "$RAM_NOW"
	ram_log "switching to $RAM_INIT, ${RAM_FMT}s after boot"
	ram_report stages "{$RAM_REPORT_STAGES}"
	ram_report switch_after_s "$RAM_FMT"
	ram_write_report
	ram_hand_over_mounts
	for ram_sw_dir in dev proc sys run; do
		[ -d "$RAM_NEWROOT/$ram_sw_dir" ] || mkdir "$RAM_NEWROOT/$ram_sw_dir" ||
			ram_die "cannot create /$ram_sw_dir in the new root"
		ram_must "moving /$ram_sw_dir into the new root" mount -o move "$RAM_PREFIX/$ram_sw_dir" "$RAM_NEWROOT/$ram_sw_dir"
	done
	# proxy= was for the initrd's fetches (lib/proxy.sh); the real init starts without it.
	unset http_proxy https_proxy
	# Only PID 1 can switch roots. Under test (a fake tree, never PID 1) the stub that stands in
	# for switch_root is a shell function, which exec would bypass.
	[ -z "$RAM_PREFIX" ] || {
		switch_root "$RAM_NEWROOT" "$RAM_INIT" "$@"
		exit
	}
	exec switch_root "$RAM_NEWROOT" "$RAM_INIT" "$@"
}

# The mounts under /run/ramboot that / stands on (the image's tmpfs, the squashfs, the upper,
# the layers) move to /run/initramfs/ramboot, and a symlink keeps each old path. systemd leaves
# every mount below /run/initramfs alone at shutdown ("This should stay around from before we
# boot until after we shutdown", mount_is_extrinsic() in src/core/mount.c; the /run/initramfs
# convention of https://systemd.io/INITRD_INTERFACE/): elsewhere it stops them with
# umount.target, fails on the busy image ("Failed unmounting /run/ramboot/image") and leaves
# them to its final pass anyway. A move keeps the mount itself, so the loop device and the
# overlay never notice.
ram_hand_over_mounts() {
	ram_ho_to=$RAM_PREFIX/run/initramfs/ramboot
	ram_ho_moved=
	[ -r "$RAM_PREFIX/proc/mounts" ] || return 0
	while read -r _ ram_ho_point _; do
		case ${ram_ho_point#"$RAM_PREFIX/run/ramboot/"} in
		"$ram_ho_point" | */* | '') continue ;;
		esac
		ram_ho_name=${ram_ho_point##*/}
		mkdir -p "$ram_ho_to/$ram_ho_name" || ram_die "cannot create $ram_ho_to/$ram_ho_name"
		ram_must "handing /run/ramboot/$ram_ho_name to /run/initramfs/ramboot" mount -o move "$ram_ho_point" "$ram_ho_to/$ram_ho_name"
		{ rmdir "$ram_ho_point" && ln -s "../initramfs/ramboot/$ram_ho_name" "$ram_ho_point"; } ||
			ram_die "cannot link /run/ramboot/$ram_ho_name to /run/initramfs/ramboot/$ram_ho_name"
		ram_ho_moved="$ram_ho_moved $ram_ho_name"
	done <"$RAM_PREFIX/proc/mounts"
	[ -z "$ram_ho_moved" ] || ram_log "mount: /run/ramboot/{${ram_ho_moved# }} now under /run/initramfs/ramboot, which systemd keeps until the end"
}
