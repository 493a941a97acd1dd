# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# The first stage: kernel filesystems, logging, /etc/ram.conf and the command line.

# /proc, /sys, /dev and /run, moved into the new root at the end. Mounting devtmpfs over an
# already mounted one (a kernel that automounts it) stacks harmlessly, so nothing is checked first.
ram_mount_kernel_fs() {
	mount -t proc -o nosuid,nodev,noexec proc "$RAM_PREFIX/proc" || ram_die "cannot mount /proc"
	mount -t sysfs -o nosuid,nodev,noexec sysfs "$RAM_PREFIX/sys" || ram_die "cannot mount /sys"
	mount -t devtmpfs -o nosuid,mode=0755 devtmpfs "$RAM_PREFIX/dev" || ram_die "cannot mount devtmpfs on /dev"
	mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs "$RAM_PREFIX/run" || ram_die "cannot mount a tmpfs on /run"
}

ram_stage_setup() {
	umask 022
	ram_mount_kernel_fs
	if [ -z "${RAM_KMSG:-}" ] && [ -c "$RAM_PREFIX/dev/kmsg" ]; then
		RAM_KMSG=$RAM_PREFIX/dev/kmsg
	fi
	# cat, not read: a /proc/sys file answers a read at a non-zero offset with EOF, and the
	# shell's read takes one byte at a time, so it would stop after the first digit.
	RAM_CONSOLE_LEVEL=$(cat "$RAM_PREFIX/proc/sys/kernel/printk" 2>/dev/null)
	RAM_CONSOLE_LEVEL=${RAM_CONSOLE_LEVEL%%[!0-9]*}
	read -r RAM_OSRELEASE 2>/dev/null <"$RAM_PREFIX/proc/sys/kernel/osrelease" || RAM_OSRELEASE=unknown
	mkdir -p "$RAM_PREFIX/run/ramboot" || ram_die "cannot create /run/ramboot"
	RAM_ERR=$RAM_PREFIX/run/ramboot/stderr
	# Every line said, kept with /run after the switch (the console scrolls, dmesg is a ring).
	RAM_LOG=$RAM_PREFIX/run/ramboot/log
	ram_load_params
	[ "$RAM_RAMDEBUG" = y ] && set -x
	ram_check_params
	ram_now
	ram_fmt "$RAM_NOW"
	ram_log "version ${RAM_VERSION:-unknown}, kernel $RAM_OSRELEASE, ${RAM_FMT}s after boot"
	ram_json "${RAM_VERSION:-unknown}"
	ram_report version "$RAM_JSON"
	ram_json "$RAM_OSRELEASE"
	ram_report kernel "$RAM_JSON"
}

# Every parameter against its row of the table's checks (RAM_PARAM_RULES, rendered from
# src/cmdline/params.ts into /etc/ram.conf; lib/validate.sh applies a row): the same rules
# `ramboot cmdline lint` applies, checked once here so no later stage does arithmetic with, or
# mounts with, a value nobody checked. Each message names the parameter as it is spelt on the
# command line.
ram_check_params() {
	[ "$RAM_BOOT" = ram ] || ram_die "boot=$RAM_BOOT: this initrd only boots boot=ram"
	if [ -z "${RAM_PARAM_RULES:-}" ] || [ -z "${RAM_STAGES:-}" ]; then
		ram_die "/etc/ram.conf has no RAM_PARAM_RULES or RAM_STAGES: rebuild the initrd with this ramboot"
	fi
	set -f
	ram_ck_ifs=$IFS
	IFS=$RAM_NL
	for ram_ck_row in $RAM_PARAM_RULES; do
		IFS=$ram_ck_ifs
		# shellcheck disable=SC2086 # a row is blank-separated words
		ram_check_param $ram_ck_row
	done
	IFS=$ram_ck_ifs
	set +f
}
