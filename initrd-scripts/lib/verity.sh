# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# The verity hook's boot side (hooks/verity): the image is mapped through dm-verity, so the
# kernel checks every block against the root hash baked into /etc/ram.conf when it is read —
# each time it is read from a disk (toram=0), not once before mounting — and a block that does
# not match is an I/O error, never other data. The tree's layout (RAM_VERITY_*) was fixed by
# the builder (src/rootfs/verity.ts) and comes from ram.conf: nothing is read from the image to
# set the mapping up. Without the hook, RAM_VERITY_ROOTHASH is unset and none of this runs.

# The device-mapper name, and where dmsetup makes its node.
RAM_VERITY_NAME=ramboot-root

ram_verity_on() {
	[ -n "${RAM_VERITY_ROOTHASH:-}" ]
}

# The verify step with verity: the image's sha256 is not compared (and with toram=0 the image
# is not read through once before it is mounted). The root hash is the pin: a tampered or stale
# image fails block by block when read, or at once (ram_verity_open).
ram_verity_verify() {
	ram_log "verify: no sha256 check: dm-verity checks every block of the image against root hash $RAM_VERITY_ROOTHASH when it is read"
	ram_report verify "{\"result\": \"verity\", \"roothash\": \"$RAM_VERITY_ROOTHASH\"}"
}

# Map the image file RAM_IMAGE (in RAM, or on its disk with toram=0) through dm-verity:
# RAM_ROOT_SRC becomes the verity device, which the mount stage mounts instead of the file.
ram_verity_open() {
	ram_vo_size=$(stat -c %s "$RAM_IMAGE" 2>/dev/null) || ram_die "verity: cannot read the size of $RAM_IMAGE"
	# The tree is at a fixed place in the file: an image of another size was not built with
	# this initrd (the hash check would fail anyway, with a less helpful message).
	[ -z "${RAM_ROOTSIZE:-}" ] || [ "$ram_vo_size" = "$RAM_ROOTSIZE" ] ||
		ram_die "verity: the image from $RAM_IMAGE_URL is $ram_vo_size bytes, but this initrd's dm-verity tree is for an image of $RAM_ROOTSIZE bytes (a stale image on the server, or the wrong initrd?)"
	ram_vo_loop=$(losetup -f 2>"$RAM_ERR") || {
		ram_tail "$RAM_ERR"
		ram_die "verity: no free loop device: ${RAM_TAIL:-no message} (loop module loaded?)"
	}
	ram_must "verity: attaching $RAM_IMAGE to $ram_vo_loop read-only" losetup -r "$ram_vo_loop" "$RAM_IMAGE"
	# dm-verity table, format 1: data and hash device are the same loop device; the hash tree
	# starts one block after the hash offset (the verity superblock veritysetup writes first).
	ram_vo_table="0 $((RAM_VERITY_DATA_BLOCKS * (RAM_VERITY_BLOCK_SIZE / 512))) verity 1 $ram_vo_loop $ram_vo_loop"
	ram_vo_table="$ram_vo_table $RAM_VERITY_BLOCK_SIZE $RAM_VERITY_BLOCK_SIZE $RAM_VERITY_DATA_BLOCKS"
	ram_vo_table="$ram_vo_table $((RAM_VERITY_HASH_OFFSET / RAM_VERITY_BLOCK_SIZE + 1)) sha256 $RAM_VERITY_ROOTHASH $RAM_VERITY_SALT"
	# No udev in the initrd: dmsetup makes /dev/mapper/NAME itself instead of waiting for udev.
	ram_must "verity: dmsetup create $RAM_VERITY_NAME (dm_verity module loaded?)" \
		env DM_DISABLE_UDEV=1 "$RAM_PREFIX/sbin/dmsetup" create "$RAM_VERITY_NAME" --readonly --noudevsync --table "$ram_vo_table"
	RAM_ROOT_SRC=$RAM_PREFIX/dev/mapper/$RAM_VERITY_NAME
	[ -b "$RAM_ROOT_SRC" ] || ram_die "verity: dmsetup made no $RAM_ROOT_SRC"
	# The squashfs superblock is in the first block: a wrong image fails here with a clear line.
	dd if="$RAM_ROOT_SRC" of=/dev/null bs="$RAM_VERITY_BLOCK_SIZE" count=1 2>/dev/null ||
		ram_die "verity: the first block of the image from $RAM_IMAGE_URL does not match root hash $RAM_VERITY_ROOTHASH: it is not the image this initrd was built with (stale on the server, or tampered)"
	ram_log "verity: $RAM_ROOT_SRC maps $RAM_IMAGE ($ram_vo_loop) through dm-verity: every block is checked when read"
	ram_report verity "{\"device\": \"/dev/mapper/$RAM_VERITY_NAME\", \"loop\": \"${ram_vo_loop#"$RAM_PREFIX"}\", \"roothash\": \"$RAM_VERITY_ROOTHASH\"}"
}
