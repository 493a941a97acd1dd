# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# Build hooks' stage scripts ("stageScripts" in hook.json): the builder packs them to
# /lib/ramboot/hooks/<before|after>-<stage>/NN-<hook>-<file>, NN in hook order. Each is run, not
# sourced, by this busybox sh, so a script cannot change the boot's own variables by mistake; it
# gets RAM_HOOK_POINT (e.g. before-mount), RAM_NEWROOT (/newroot, mounted from the mount stage
# on) and RAM_INITRDDEBUG (the initrddebug= value, which the ssh-debug hook acts on) in its
# environment, and its output goes to the console. A non-zero exit stops the boot.

# Run the scripts of point $1 (before-<stage> or after-<stage>) in name order.
ram_run_stage_hooks() {
	for ram_sh_script in "$RAM_PREFIX/lib/ramboot/hooks/$1"/*; do
		[ -f "$ram_sh_script" ] || continue
		ram_log "hook: $1: running ${ram_sh_script##*/}"
		RAM_HOOK_POINT=$1 RAM_NEWROOT=$RAM_PREFIX/newroot RAM_INITRDDEBUG=$RAM_INITRDDEBUG sh "$ram_sh_script" ||
			ram_die "hook: stage script ${ram_sh_script##*/} ($1) failed with exit status $? (see its output above)"
	done
}
