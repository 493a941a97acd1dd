# shellcheck shell=sh
# Kernel modules: the builder resolved RAM_MODULES (dependencies first, every one a file in
# /lib/modules/$RAM_KVER with a modules.dep), so this stage only loads them.

ram_stage_modules() {
	if [ -z "$RAM_MODULES" ]; then
		ram_log "modules: none to load"
		return 0
	fi
	if [ -n "$RAM_KVER" ] && [ "$RAM_KVER" != "$RAM_OSRELEASE" ]; then
		ram_die "modules: this initrd has modules for kernel $RAM_KVER but the running kernel is $RAM_OSRELEASE (boot the vmlinuz built with this initrd)"
	fi
	# shellcheck disable=SC2086 # a list of module names
	modprobe -q -a $RAM_MODULES 2>"$RAM_ERR" && return 0
	# Something did not load. Retry the rest one by one, so one failure cannot hide the others,
	# and name them: a driver for hardware this machine lacks may refuse to load, which is fine.
	ram_mod_failed=
	for ram_mod in $RAM_MODULES; do
		ram_name "$ram_mod"
		[ -d "$RAM_PREFIX/sys/module/$RAM_NAME" ] || modprobe -q "$ram_mod" 2>"$RAM_ERR" ||
			ram_mod_failed="$ram_mod_failed $ram_mod"
	done
	[ -z "$ram_mod_failed" ] || ram_warn "modules: could not load:$ram_mod_failed (dmesg says why)"
}

