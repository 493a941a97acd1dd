# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# initrddebug=ssh: the optional ssh-debug hook (hooks/ssh-debug/) starts dropbear once the network
# is up and stops it before switch_root; this is the part /init itself needs, for a boot that
# fails in between: instead of the console alone, the error says how to get in over the network.
# The boot then waits in the debug shell as for any initrddebug value, so a headless machine stays
# up until someone logs in and ends it (poweroff -f, reboot -f).

# Where the hook's start script records dropbear's pid.
RAM_DROPBEAR_PID=/run/ramboot/dropbear.pid

# Say whether dropbear is there to log in to, and where.
ram_ssh_hint() {
	ram_sh_pid=
	read -r ram_sh_pid 2>/dev/null <"$RAM_PREFIX$RAM_DROPBEAR_PID"
	case $ram_sh_pid in
	'' | *[!0-9]*) ram_sh_pid= ;;
	esac
	if [ -z "$ram_sh_pid" ] || ! kill -0 "$ram_sh_pid" 2>/dev/null; then
		ram_warn "initrddebug=ssh: no dropbear is running (an initrd built without --ssh-key, or the boot failed before the network was up): console shell only"
		return 0
	fi
	ram_say "$RAM_LVL_WARN" "initrddebug: ssh: the boot stopped here and waits; log in with ssh root@${RAM_NET_IP:-<this machine>} (port 22) and end it with poweroff -f or reboot -f"
}
