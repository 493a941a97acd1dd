# shellcheck shell=sh
# What a diskless root needs from the boot, written into the overlay (the image stays as built):
# DHCP on every NIC for whichever network manager the root runs, and the DNS servers and
# hostname the boot network handed out. After a static ip= boot no manager is told about the
# NICs: the kernel keeps the static address, and a DHCP client could only take it away.

ram_stage_fixups() {
	RAM_FIXED=
	if [ "$RAM_NET_HOW" = dhcp ]; then
		ram_fix_ifupdown
		ram_fix_networkd
	fi
	if [ -n "$RAM_NET_IFACE" ]; then
		ram_fix_resolv
		ram_fix_hostname
	fi
	ram_fix_ssh_host_keys
	ram_log "fixups: ${RAM_FIXED:-nothing to write}"
}

ram_fix_wrote() { RAM_FIXED="$RAM_FIXED${RAM_FIXED:+, }$1"; }

# ifupdown reads interfaces.d through the `source` line Debian's default interfaces file has.
# NICs the image already configures are left to it (a second stanza would be a duplicate).
# Kernel names are all the initrd knows; the boot NIC keeps its name because udev cannot rename
# an interface that is up, the others may be renamed and then fall to the image's own config.
ram_fix_ifupdown() {
	ram_fu_dir=$RAM_NEWROOT/etc/network
	[ -d "$ram_fu_dir" ] || return 0
	mkdir -p "$ram_fu_dir/interfaces.d" || ram_die "fixups: cannot create /etc/network/interfaces.d in the new root"
	{
		echo "# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP."
		for ram_fu_nic in $RAM_NICS; do
			grep -qsE "^[[:space:]]*iface[[:space:]]+${ram_fu_nic}[[:space:]]" "$ram_fu_dir/interfaces" "$ram_fu_dir"/interfaces.d/* && continue
			printf 'allow-hotplug %s\niface %s inet dhcp\n' "$ram_fu_nic" "$ram_fu_nic"
		done
	} >"$ram_fu_dir/interfaces.d/ramboot" || ram_die "fixups: cannot write /etc/network/interfaces.d/ramboot"
	ram_fix_wrote /etc/network/interfaces.d/ramboot
	if [ -f "$ram_fu_dir/interfaces" ] && ! grep -qs '^[[:space:]]*source' "$ram_fu_dir/interfaces"; then
		ram_warn "fixups: the image's /etc/network/interfaces has no source line, so it ignores interfaces.d/ramboot"
	fi
}

# Name= rather than Type=ether, which would also match the veth pairs of containers.
ram_fix_networkd() {
	[ -d "$RAM_NEWROOT/etc/systemd" ] || return 0
	ram_fn_file=$RAM_NEWROOT/etc/systemd/network/90-ramboot-dhcp.network
	if ! mkdir -p "${ram_fn_file%/*}" ||
		! printf '%s\n' "# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP." \
			'[Match]' 'Name=en* eth*' '' '[Network]' 'DHCP=yes' >"$ram_fn_file"; then
		ram_die "fixups: cannot write ${ram_fn_file#"$RAM_NEWROOT"}"
	fi
	ram_fix_wrote /etc/systemd/network/90-ramboot-dhcp.network
}

# A symlinked resolv.conf belongs to a resolver service (systemd-resolved, resolvconf): kept.
ram_fix_resolv() {
	if [ -z "$RAM_NET_DNS" ] || [ ! -d "$RAM_NEWROOT/etc" ] || [ -h "$RAM_NEWROOT/etc/resolv.conf" ]; then
		return 0
	fi
	ram_net_resolv >"$RAM_NEWROOT/etc/resolv.conf" || ram_die "fixups: cannot write /etc/resolv.conf"
	ram_fix_wrote /etc/resolv.conf
}

ram_fix_hostname() {
	if [ -z "$RAM_NET_HOSTNAME" ] || [ ! -d "$RAM_NEWROOT/etc" ]; then
		return 0
	fi
	echo "$RAM_NET_HOSTNAME" >"$RAM_NEWROOT/etc/hostname" || ram_die "fixups: cannot write /etc/hostname"
	ram_fix_wrote /etc/hostname
}

# The image carries no ssh host keys (rootfs-excludes/identity: every machine needs its own) and
# Debian makes them only when the package is installed, so sshd would refuse to start. A drop-in
# makes them before sshd's own config test; the list is reset because drop-in lines run after
# the unit's, and `sshd -t` fails without keys.
ram_fix_ssh_host_keys() {
	[ -e "$RAM_NEWROOT/usr/sbin/sshd" ] || return 0
	for ram_fk_key in "$RAM_NEWROOT"/etc/ssh/ssh_host_*_key; do
		[ -e "$ram_fk_key" ] && return 0
	done
	ram_fk_unit=
	for ram_fk_dir in etc/systemd/system usr/lib/systemd/system lib/systemd/system; do
		if [ -e "$RAM_NEWROOT/$ram_fk_dir/ssh.service" ]; then
			ram_fk_unit=ssh.service
			break
		elif [ -e "$RAM_NEWROOT/$ram_fk_dir/sshd.service" ]; then
			ram_fk_unit=sshd.service
			break
		fi
	done
	if [ -z "$ram_fk_unit" ]; then
		ram_warn "fixups: the image has sshd but no ssh host keys and no systemd ssh unit: run ssh-keygen -A before sshd starts"
		return 0
	fi
	ram_fk_file=$RAM_NEWROOT/etc/systemd/system/$ram_fk_unit.d/ramboot-host-keys.conf
	if ! mkdir -p "${ram_fk_file%/*}" ||
		! printf '%s\n' "# Written by ramboot at boot: the image has no host keys, so each boot makes its own." \
			'[Service]' 'ExecStartPre=' 'ExecStartPre=/usr/bin/ssh-keygen -A' 'ExecStartPre=/usr/sbin/sshd -t' >"$ram_fk_file"; then
		ram_die "fixups: cannot write ${ram_fk_file#"$RAM_NEWROOT"}"
	fi
	ram_fix_wrote "/etc/systemd/system/$ram_fk_unit.d/ramboot-host-keys.conf"
}
