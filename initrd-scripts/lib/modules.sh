# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# Kernel modules, without udev. The builder packed the modules with a modules.dep/alias of their
# own, so busybox modprobe resolves names, aliases and dependencies here. Two steps:
#  - force-load RAM_FORCE_LOAD: what the boot needs whatever the hardware (squashfs, overlay,
#    loop, zram and its compressor), since no device would ever ask for it;
#  - coldplug: every device the kernel found (/sys/bus/*/devices/*) says in its modalias which
#    driver it wants; hand those to modprobe, again for the devices a new driver brings (a
#    virtio PCI device, once virtio_pci binds it, adds a virtio device that wants virtio_net).
#    Drivers for hardware this machine lacks are never loaded.

# Rounds of modprobe per ram_coldplug call: a chain of buses is rarely deeper than three
# (PCI -> virtio -> NIC; PCI -> USB host -> USB device), so more means a loop.
RAM_COLDPLUG_ROUNDS=${RAM_COLDPLUG_ROUNDS:-8}
# Modaliases handed to modprobe so far, one per line: each is tried once per boot, so a later
# stage can call ram_coldplug again and only new devices cost anything.
RAM_COLDPLUG_SEEN=

ram_stage_modules() {
	if [ -n "$RAM_KVER" ] && [ "$RAM_KVER" != "$RAM_OSRELEASE" ]; then
		ram_die "modules: this initrd has modules for kernel $RAM_KVER but the running kernel is $RAM_OSRELEASE (boot the vmlinuz built with this initrd)"
	fi
	ram_modules_loaded
	ram_mods_before=$RAM_LOADED
	ram_force_load
	ram_coldplug
	ram_modules_loaded
	ram_mods_new=
	for ram_mod in $RAM_LOADED; do
		case " $ram_mods_before " in *" $ram_mod "*) ;; *) ram_mods_new="$ram_mods_new $ram_mod" ;; esac
	done
	ram_log "modules: loaded${ram_mods_new:- none} ($RAM_COLDPLUG_DEVICES devices, $RAM_COLDPLUG_ROUND coldplug rounds)"
}

ram_force_load() {
	[ -n "$RAM_FORCE_LOAD" ] || return 0
	# shellcheck disable=SC2086 # a list of module names
	modprobe -q -a $RAM_FORCE_LOAD 2>"$RAM_ERR" && return 0
	# Something did not load. Retry the rest one by one, so one failure cannot hide the others,
	# and name them; the stage that needs one says what is missing.
	ram_mod_failed=
	for ram_mod in $RAM_FORCE_LOAD; do
		ram_name "$ram_mod"
		[ -d "$RAM_PREFIX/sys/module/$RAM_NAME" ] || modprobe -q "$ram_mod" 2>"$RAM_ERR" ||
			ram_mod_failed="$ram_mod_failed $ram_mod"
	done
	[ -z "$ram_mod_failed" ] || ram_warn "modules: could not load:$ram_mod_failed (dmesg says why)"
}

# RAM_LOADED = the names in /proc/modules, in load order (the kernel lists the newest first).
ram_modules_loaded() {
	RAM_LOADED=
	while read -r ram_ml_name _; do
		RAM_LOADED="$ram_ml_name${RAM_LOADED:+ }$RAM_LOADED"
	done 2>/dev/null <"$RAM_PREFIX/proc/modules"
}

# RAM_COLDPLUG_NEW = modaliases of devices without a driver that no round has tried yet, one per
# line; RAM_COLDPLUG_DEVICES counts the devices with a modalias.
ram_coldplug_scan() {
	RAM_COLDPLUG_NEW=
	RAM_COLDPLUG_DEVICES=0
	for ram_cs_file in "$RAM_PREFIX"/sys/bus/*/devices/*/modalias; do
		IFS= read -r ram_cs_alias 2>/dev/null <"$ram_cs_file" || continue
		[ -n "$ram_cs_alias" ] || continue
		RAM_COLDPLUG_DEVICES=$((RAM_COLDPLUG_DEVICES + 1))
		[ -e "${ram_cs_file%/modalias}/driver" ] && continue
		case $RAM_NL$RAM_COLDPLUG_SEEN$RAM_COLDPLUG_NEW in *"$RAM_NL$ram_cs_alias$RAM_NL"*) continue ;; esac
		RAM_COLDPLUG_NEW=$RAM_COLDPLUG_NEW$ram_cs_alias$RAM_NL
	done
}

# Load drivers for the devices present, round after round while a round brings devices no round
# has tried (bounded by RAM_COLDPLUG_ROUNDS). Devices a driver finds later, after modprobe has
# returned (a USB stick behind a controller just loaded, a disk behind a SATA port), are not
# waited for here: a stage that needs one polls for it and calls ram_coldplug again, which
# hands only the devices not tried before to modprobe.
ram_coldplug() {
	RAM_COLDPLUG_ROUND=0
	while ram_coldplug_scan && [ -n "$RAM_COLDPLUG_NEW" ]; do
		if [ "$RAM_COLDPLUG_ROUND" -ge "$RAM_COLDPLUG_ROUNDS" ]; then
			ram_warn "modules: coldplug: still new devices after $RAM_COLDPLUG_ROUNDS rounds; stopping"
			return 0
		fi
		RAM_COLDPLUG_ROUND=$((RAM_COLDPLUG_ROUND + 1))
		RAM_COLDPLUG_SEEN=$RAM_COLDPLUG_SEEN$RAM_COLDPLUG_NEW
		# -q: most modaliases match no packed module (bridges, the CPU, the keyboard
		# controller); only a module that fails to load still says something.
		set -f
		ram_cp_ifs=$IFS
		IFS=$RAM_NL
		# shellcheck disable=SC2086 # one modalias per line
		modprobe -q -a $RAM_COLDPLUG_NEW 2>"$RAM_ERR"
		IFS=$ram_cp_ifs
		set +f
		ram_tail "$RAM_ERR"
		[ -z "$RAM_TAIL" ] || ram_warn "modules: coldplug: $RAM_TAIL"
	done
}
