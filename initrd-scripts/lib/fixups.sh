# shellcheck shell=sh
# What a diskless root needs from the boot, written into the overlay (the image stays as built):
# the NIC the initrd configured handed to whichever network manager the root runs (ifupdown,
# systemd-networkd, NetworkManager) as already configured (DHCP taken over without dropping the
# address, or a static ip= as static), DHCP on
# every other NIC, and the DNS servers and hostname the boot network handed out; the IPv6 setup
# (SLAAC, DHCPv6 or static) likewise. ip=off leaves the root's own network config alone.

ram_stage_fixups() {
	RAM_FIXED=
	# The IPv6 setup (lib/net-ipv6.sh) is handed over with the IPv4 one when both are on one NIC,
	# or alone after an IPv6-only boot; RAM_FIX_NIC is the NIC handed over, RAM_FIX_HOW says how.
	RAM_FIX6=${RAM_NET6_HOW:-}
	if [ -n "$RAM_FIX6" ] && [ -n "$RAM_NET_IFACE" ] && [ "${RAM_NET6_IFACE:-}" != "$RAM_NET_IFACE" ]; then
		ram_warn "fixups: the IPv6 setup of $RAM_NET6_IFACE is not handed to the root's network manager (IPv4 is on $RAM_NET_IFACE; one NIC is handed over)"
		RAM_FIX6=
	fi
	RAM_FIX_NIC=${RAM_NET_IFACE:-${RAM_FIX6:+$RAM_NET6_IFACE}}
	RAM_FIX_HOW=$RAM_NET_HOW${RAM_NET_IFACE:+${RAM_FIX6:+, }}$RAM_FIX6
	[ -n "$RAM_NET_IFACE" ] || RAM_FIX_HOW=$RAM_FIX6
	if [ -n "$RAM_FIX_NIC" ]; then
		if ram_fix_nm_enabled; then
			ram_fix_networkmanager
		else
			ram_fix_ifupdown
		fi
		ram_fix_networkd
		ram_fix_resolv
		ram_fix_hostname
	fi
	ram_fix_ssh_host_keys
	ram_log "fixups: ${RAM_FIXED:-nothing to write}"
}

ram_fix_wrote() { RAM_FIXED="$RAM_FIXED${RAM_FIXED:+, }$1"; }

# Start the root's own ssh-keygen making ed25519 host key $1 in the new root, in the background, and
# set RAM_FK_WAIT to the shell words with which ramboot-ssh-host-keys.service waits for it
# (systemd's `$$` for `$`). From here to the point where systemd starts units in parallel
# (switch_root, and systemd loading itself and its units) one process runs at a time and a second
# CPU idles; the key is made there instead of in the CPU-bound boot (Debian 12 under QEMU TCG: the
# unit took 2.1-2.5 s of the boot, and ssh-keygen's libcrypto is in the page cache when sshd loads
# it). The root is the one about to run as PID 1, so its binary runs with no trust it would not have
# anyway. The unit waits while that PID runs (alive and not a zombie: PIDs are not reused before
# pid_max wraps, far beyond a boot's first seconds), at most 60 s, and makes the key itself when no
# complete one is there: a .pub file, which ssh-keygen writes after the private key. A late
# ssh-keygen overwrites nothing: it asks first, and its stdin is /dev/null.
ram_fix_ssh_key_early() {
	RAM_FK_WAIT=
	ram_resolve_in_root "$RAM_NEWROOT" /usr/bin/ssh-keygen || return 0
	[ -f "$RAM_NEWROOT$RAM_RESOLVED" ] && [ -x "$RAM_NEWROOT$RAM_RESOLVED" ] || return 0
	chroot "$RAM_NEWROOT" /usr/bin/ssh-keygen -q -N '' -t ed25519 -f "$1" </dev/null >/dev/null 2>&1 &
	ram_log "fixups: making the ed25519 ssh host key in the background (PID $!) while systemd starts"
	RAM_FK_WAIT="n=0; while [ \$\$n -lt 300 ] && kill -0 $! && { ! read -r _ _ s _ </proc/$!/stat || [ \"\$\$s\" != Z ]; }; do sleep 0.2; n=\$\$((n + 1)); done 2>/dev/null; "
}

# ifupdown reads interfaces.d through the `source` line Debian's default interfaces file has.
# NICs the image already configures are left to it (a second stanza would be a duplicate).
# ifupdown matches names only: kernel names are all the initrd knows. After DHCP every NIC gets
# `inet dhcp`; dhclient takes the boot NIC's lease over and re-adds the address that is already
# there (Debian's dhclient-script flushes none before its first lease: PREINIT only raises the
# link). When the root has ISC dhclient, the boot NIC's stanza runs it as `inet dhcp` would
# (Debian ifupdown's own options) but with -nw instead of -1: it goes to the background at once
# instead of waiting until it has asked for the lease the NIC already holds. The address is the
# initrd's, with the lease's lifetime, until dhclient renews it, so nothing in the boot needs
# dhclient: under systemd the boot NIC is `allow-ramboot`, left out of networking.service's
# `ifup -a`, and ramboot-boot-nic.service (ram_fix_boot_nic_unit) brings it up once the boot has
# settled. Measured on Debian 12 under TCG: with the NIC `auto`, its ifup was 2-4 s of
# networking.service, which holds network.target and so sshd; with it, and the ECDSA key, out of
# the boot, 5 alternating boots each reached multi-user.target in 25.8 s (22.4-27.5) against
# 28.0 s (22.9-29.8). Under another init (sysvinit's networking script runs `ifup -a` alone) the
# boot NIC stays `auto`. Tried and left: the NIC's own ifup@NIC.service waited 85 s for a
# sys-subsystem-net-devices-NIC.device that a stock Debian 12 boot never activates for the NIC
# the initrd brought up (allow-hotplug likewise waits for a udev add event that never comes).
# The other NICs are allow-hotplug, as the installer writes them. A static
# ip= NIC is `inet manual`: the kernel keeps the address, and `inet static` would fail adding it
# again ("File exists"), failing networking.service.
ram_fix_ifupdown() {
	ram_fu_dir=$RAM_NEWROOT/etc/network
	[ -d "$ram_fu_dir" ] || return 0
	mkdir -p "$ram_fu_dir/interfaces.d" || ram_die "fixups: cannot create /etc/network/interfaces.d in the new root"
	# The boot NIC becomes `auto` after DHCP, or SLAAC/DHCPv6 alone.
	if { [ -n "$RAM_NET_IFACE" ] && [ "$RAM_NET_HOW" = dhcp ]; } || { [ -z "$RAM_NET_IFACE" ] && [ "$RAM_FIX6" != static6 ]; }; then
		ram_fix_ifupdown_pre
	fi
	ram_fu_deferred=
	{
		if [ -z "$RAM_NET_IFACE" ]; then
			:
		elif [ "$RAM_NET_HOW" = dhcp ]; then
			echo "# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP."
			for ram_fu_nic in $RAM_NICS; do
				ram_fix_iface_configured "$ram_fu_nic" && continue
				if [ "$ram_fu_nic" != "$RAM_NET_IFACE" ]; then
					printf 'allow-hotplug %s\niface %s inet dhcp\n' "$ram_fu_nic" "$ram_fu_nic"
					continue
				fi
				if ram_fix_systemd_init; then
					ram_fu_deferred=$ram_fu_nic
					echo "allow-ramboot $ram_fu_nic"
				else
					echo "auto $ram_fu_nic"
				fi
				if ram_fu_dhclient=$(ram_fix_dhclient); then
					ram_fu_files="-pf /run/dhclient.$ram_fu_nic.pid -lf /var/lib/dhcp/dhclient.$ram_fu_nic.leases -I -df /var/lib/dhcp/dhclient6.$ram_fu_nic.leases"
					printf 'iface %s inet manual\n' "$ram_fu_nic"
					printf '\tup %s -4 -nw -v -i %s %s\n' "$ram_fu_dhclient" "$ram_fu_files" "$ram_fu_nic"
					printf '\tdown %s -4 -v -i -r %s %s\n' "$ram_fu_dhclient" "$ram_fu_files" "$ram_fu_nic"
				else
					printf 'iface %s inet dhcp\n' "$ram_fu_nic"
				fi
			done
		else
			echo "# Written by ramboot at boot: $RAM_NET_IFACE has $RAM_NET_IP/$RAM_NET_PREFIX${RAM_NET_ROUTER:+ via $RAM_NET_ROUTER} from ip=, set in the initrd; the kernel keeps it."
			ram_fix_iface_configured "$RAM_NET_IFACE" || printf 'iface %s inet manual\n' "$RAM_NET_IFACE"
		fi
		[ -z "$RAM_FIX6" ] || ram_fix_ifupdown6
	} >"$ram_fu_dir/interfaces.d/ramboot" || ram_die "fixups: cannot write /etc/network/interfaces.d/ramboot"
	ram_fix_wrote /etc/network/interfaces.d/ramboot
	[ -z "$ram_fu_deferred" ] || ram_fix_boot_nic_unit "$ram_fu_deferred"
	if [ -f "$ram_fu_dir/interfaces" ] && ! grep -qs '^[[:space:]]*source' "$ram_fu_dir/interfaces"; then
		ram_warn "fixups: the image's /etc/network/interfaces has no source line, so it ignores interfaces.d/ramboot"
	fi
}

# The IPv6 stanza: `inet6 auto` (SLAAC) or `inet6 dhcp` (dhclient -6) takes the address over as
# `inet dhcp` does for IPv4; a static one is `inet6 manual` (the kernel keeps it; `inet6 static`
# would fail adding it again). After an IPv6-only SLAAC or DHCPv6 boot the NIC is `auto`, so
# `ifup -a` starts it. A NIC the image configures for inet6 is left to it.
ram_fix_ifupdown6() {
	grep -qsE "^[[:space:]]*iface[[:space:]]+${RAM_FIX_NIC}[[:space:]]+inet6[[:space:]]" "$ram_fu_dir/interfaces" "$ram_fu_dir"/interfaces.d/* && return 0
	case $RAM_FIX6 in
	auto6 | dhcp6)
		if [ -z "$RAM_NET_IFACE" ]; then
			echo "# Written by ramboot at boot: this root came over the network by IPv6 ($RAM_FIX6 on $RAM_FIX_NIC)."
			echo "auto $RAM_FIX_NIC"
		fi
		ram_fu6_method=auto
		[ "$RAM_FIX6" = auto6 ] || ram_fu6_method=dhcp
		printf 'iface %s inet6 %s\n' "$RAM_FIX_NIC" "$ram_fu6_method"
		;;
	static6)
		echo "# Written by ramboot at boot: $RAM_FIX_NIC has $RAM_NET6_IP/$RAM_NET6_PREFIX${RAM_NET6_ROUTER:+ via $RAM_NET6_ROUTER} from ip=, set in the initrd; the kernel keeps it."
		printf 'iface %s inet6 manual\n' "$RAM_FIX_NIC"
		;;
	esac
}

# ifupdown-pre.service runs `udevadm settle` whenever an `auto` NIC is listed, so that `ifup -a`
# finds it under its final name: it waits for every udev event of the boot (35 s of a Debian 12
# boot to multi-user under a loaded TCG, the longest link of its critical chain). When no NIC
# but the boot NIC is auto or allow-ramboot (it is up before systemd starts) there is nothing to
# wait for, and not even the unit's own ifquery is worth a start: it is masked in the overlay.
# An image with auto NICs of its own, or its own ifupdown-pre.service in /etc, keeps it.
ram_fix_ifupdown_pre() {
	ram_fp_unit=$RAM_NEWROOT/etc/systemd/system/ifupdown-pre.service
	if [ -e "$ram_fp_unit" ] || [ -h "$ram_fp_unit" ] ||
		grep -hsE '^[[:space:]]*(auto|allow-auto)[[:space:]]' "$ram_fu_dir/interfaces" "$ram_fu_dir"/interfaces.d/* |
		grep -qvE '^[[:space:]]*(auto|allow-auto)[[:space:]]+lo[[:space:]]*$'; then
		return 0
	fi
	{ mkdir -p "${ram_fp_unit%/*}" && ln -s /dev/null "$ram_fp_unit"; } || ram_die "fixups: cannot mask ifupdown-pre.service in the new root"
	ram_fix_wrote "/etc/systemd/system/ifupdown-pre.service -> /dev/null"
}

# The root's ISC dhclient, as a path inside it (ifupdown's `inet dhcp` prefers it too).
ram_fix_dhclient() {
	for ram_fd_path in /sbin/dhclient /usr/sbin/dhclient; do
		if [ -f "$RAM_NEWROOT$ram_fd_path" ] && [ -x "$RAM_NEWROOT$ram_fd_path" ]; then
			echo "$ram_fd_path"
			return 0
		fi
	done
	return 1
}

# True when init= resolves, inside the image, to systemd (/sbin/init -> /lib/systemd/systemd).
ram_fix_systemd_init() {
	ram_resolve_in_root "$RAM_NEWROOT" "$RAM_INIT" || return 1
	case $RAM_RESOLVED in
	*/systemd) [ -d "$RAM_NEWROOT/etc/systemd/system" ] ;;
	*) return 1 ;;
	esac
}

# ramboot-boot-nic.service: `ifup --allow=ramboot NIC` for boot NIC $1 once the boot has settled.
# Ordered after multi-user.target, which wants it (systemd orders a target after what it wants
# only when that makes no loop), and Type=idle: its start job is done once it is forked and its
# exec waits until the other jobs are dispatched, so the boot is over without waiting for ifup
# and dhclient, which run beside the first logins instead of under the boot's own units. dhclient
# stays in its cgroup, as it did in networking.service's. It is part of networking.service: that
# one's stop (`ifdown -a` takes down every NIC ifupdown has up) and so its restart stop and start
# this one too, after it, or a `systemctl restart networking` would leave the NIC down; at
# shutdown it takes the NIC down first (`-`: a NIC already down is no failure).
ram_fix_boot_nic_unit() {
	ram_bn_units=$RAM_NEWROOT/etc/systemd/system
	mkdir -p "$ram_bn_units/multi-user.target.wants" || ram_die "fixups: cannot create /etc/systemd/system/multi-user.target.wants in the new root"
	cat >"$ram_bn_units/ramboot-boot-nic.service" <<EOF || ram_die "fixups: cannot write /etc/systemd/system/ramboot-boot-nic.service in the new root"
# Written by ramboot at boot: $1 came up in the initrd ($RAM_FIX_HOW) and keeps that address; its
# DHCP client takes the lease over once the boot has settled (interfaces.d/ramboot: allow-ramboot).
[Unit]
Description=DHCP on $1, configured by the initrd, handed to ifupdown
After=networking.service network.target multi-user.target
PartOf=networking.service

[Service]
Type=idle
RemainAfterExit=yes
ExecStart=/sbin/ifup --allow=ramboot $1
ExecStop=-/sbin/ifdown $1
EOF
	ln -sfn ../ramboot-boot-nic.service "$ram_bn_units/multi-user.target.wants/ramboot-boot-nic.service" ||
		ram_die "fixups: cannot enable ramboot-boot-nic.service in the new root"
	ram_fix_wrote /etc/systemd/system/ramboot-boot-nic.service
}

# True when the image has an IPv4 (`inet`) stanza for NIC $1; its `inet6` ones are ram_fix_ifupdown6's.
ram_fix_iface_configured() {
	grep -qsE "^[[:space:]]*iface[[:space:]]+${1}[[:space:]]+inet[[:space:]]" "$ram_fu_dir/interfaces" "$ram_fu_dir"/interfaces.d/*
}

# systemd-networkd: the boot NIC gets its own file, matched by MAC address so it holds whatever
# name udev gives the NIC after the switch (Debian 13 renames eth0 to ens3 while it is up), and
# declared configured (systemd.network(5)): after DHCP, DHCP=ipv4 takes the lease over and
# KeepConfiguration=yes keeps the address the initrd set while it does, instead of dropping it
# as foreign; a static ip= is written as the same static address, route and DNS. After DHCP
# every other NIC asks for DHCP too (Name= rather than Type=ether, which would also match the
# veth pairs of containers); the lower-numbered file wins for the boot NIC.
ram_fix_networkd() {
	[ -d "$RAM_NEWROOT/etc/systemd" ] || return 0
	ram_fn_dir=$RAM_NEWROOT/etc/systemd/network
	mkdir -p "$ram_fn_dir" || ram_die "fixups: cannot create /etc/systemd/network"
	ram_fn_mac=
	read -r ram_fn_mac 2>/dev/null <"$RAM_PREFIX/sys/class/net/$RAM_FIX_NIC/address"
	ram_fn_match="MACAddress=$ram_fn_mac"
	ram_valid 'a-f0-9:' "$ram_fn_mac" || ram_fn_match="Name=$RAM_FIX_NIC"
	# DHCP= for the leases to take over; IPv6AcceptRA=yes for SLAAC and for DHCPv6, which
	# networkd starts on the RA's managed flag; KeepConfiguration=yes keeps the dynamic
	# addresses the initrd set while networkd takes over, =static only static ones.
	ram_fn_dhcp=
	[ -z "$RAM_NET_IFACE" ] || [ "$RAM_NET_HOW" != dhcp ] || ram_fn_dhcp=ipv4
	[ "$RAM_FIX6" != dhcp6 ] || ram_fn_dhcp=${ram_fn_dhcp:+yes}
	[ "$RAM_FIX6" != dhcp6 ] || ram_fn_dhcp=${ram_fn_dhcp:-ipv6}
	ram_fn_keep=static
	[ -z "$ram_fn_dhcp" ] && [ "$RAM_FIX6" != auto6 ] || ram_fn_keep=yes
	{
		echo "# Written by ramboot at boot: the initrd configured this NIC ($RAM_FIX_NIC, $RAM_FIX_HOW); keep it."
		printf '%s\n' '[Match]' "$ram_fn_match" '' '[Network]'
		[ -z "$ram_fn_dhcp" ] || echo "DHCP=$ram_fn_dhcp"
		if [ -n "$RAM_NET_IFACE" ] && [ "$RAM_NET_HOW" != dhcp ]; then
			echo "Address=$RAM_NET_IP/$RAM_NET_PREFIX"
			[ -z "$RAM_NET_ROUTER" ] || echo "Gateway=$RAM_NET_ROUTER"
			for ram_fn_dns in $RAM_NET_DNS; do
				echo "DNS=$ram_fn_dns"
			done
			[ -z "$RAM_NET_SEARCH" ] || echo "Domains=$RAM_NET_SEARCH"
		fi
		case $RAM_FIX6 in
		auto6 | dhcp6) echo 'IPv6AcceptRA=yes' ;;
		static6)
			echo "Address=$RAM_NET6_IP/$RAM_NET6_PREFIX"
			[ -z "$RAM_NET6_ROUTER" ] || echo "Gateway=$RAM_NET6_ROUTER"
			for ram_fn_dns in $RAM_NET6_DNS; do
				case " $RAM_NET_DNS " in
				*" $ram_fn_dns "*) ;;
				*) echo "DNS=$ram_fn_dns" ;;
				esac
			done
			;;
		esac
		echo "KeepConfiguration=$ram_fn_keep"
	} >"$ram_fn_dir/10-ramboot-boot.network" || ram_die "fixups: cannot write /etc/systemd/network/10-ramboot-boot.network"
	ram_fix_wrote /etc/systemd/network/10-ramboot-boot.network
	[ -n "$RAM_NET_IFACE" ] && [ "$RAM_NET_HOW" = dhcp ] || return 0
	if ! printf '%s\n' "# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP." \
		'[Match]' 'Name=en* eth*' '' '[Network]' 'DHCP=yes' >"$ram_fn_dir/90-ramboot-dhcp.network"; then
		ram_die "fixups: cannot write /etc/systemd/network/90-ramboot-dhcp.network"
	fi
	ram_fix_wrote /etc/systemd/network/90-ramboot-dhcp.network
}

# NetworkManager runs the network when its unit is enabled. It then leaves every NIC that
# /etc/network/interfaces names to ifupdown (Debian's [ifupdown] managed=false), so ifupdown
# gets no stanza from us on such a root: NetworkManager takes the boot NIC over instead. An
# enablement is a symlink whose absolute target means the new root's file, not ours: -h.
ram_fix_nm_enabled() {
	ram_nm_wants=$RAM_NEWROOT/etc/systemd/system/multi-user.target.wants/NetworkManager.service
	[ -h "$ram_nm_wants" ] || [ -e "$ram_nm_wants" ]
}

# NetworkManager: a keyfile for the boot NIC, matched by MAC (the name udev gives it later does
# not matter), method=auto after DHCP or the same static address, route and DNS for ip=. On
# start NetworkManager finds the NIC already configured and, as that matches this profile,
# activates it without taking the address down (its keep-configuration), then renews the lease
# itself. Other NICs get its default "Wired connection" DHCP profiles. NetworkManager ignores a
# keyfile that is not root's and mode 0600, so the umask makes it so before the first byte.
ram_fix_networkmanager() {
	ram_nm_file=$RAM_NEWROOT/etc/NetworkManager/system-connections/ramboot-boot.nmconnection
	mkdir -p "${ram_nm_file%/*}" || ram_die "fixups: cannot create /etc/NetworkManager/system-connections"
	ram_nm_mac=
	read -r ram_nm_mac 2>/dev/null <"$RAM_PREFIX/sys/class/net/$RAM_FIX_NIC/address"
	ram_valid 'a-f0-9:' "$ram_nm_mac" || ram_nm_mac=
	ram_nm_uuid=
	read -r ram_nm_uuid 2>/dev/null <"$RAM_PREFIX/proc/sys/kernel/random/uuid"
	# Without a uuid line NetworkManager derives one from the file name.
	{ ram_valid 'a-f0-9-' "$ram_nm_uuid" && [ ${#ram_nm_uuid} -eq 36 ]; } || ram_nm_uuid=
	rm -f "$ram_nm_file"
	ram_nm_umask=$(umask)
	umask 077
	{
		echo "# Written by ramboot at boot: the initrd configured this NIC ($RAM_FIX_NIC, $RAM_FIX_HOW); keep it."
		printf '%s\n' '[connection]' 'id=ramboot-boot' 'type=ethernet' 'autoconnect-priority=100'
		[ -z "$ram_nm_uuid" ] || echo "uuid=$ram_nm_uuid"
		# By MAC, whatever the name; by the kernel name only when the MAC cannot be read.
		[ -n "$ram_nm_mac" ] || echo "interface-name=$RAM_FIX_NIC"
		printf '%s\n' '' '[ethernet]'
		[ -z "$ram_nm_mac" ] || echo "mac-address=$ram_nm_mac"
		printf '%s\n' '' '[ipv4]'
		if [ -z "$RAM_NET_IFACE" ]; then
			# An IPv6-only boot: no IPv4 on this NIC either.
			echo 'method=disabled'
		elif [ "$RAM_NET_HOW" = dhcp ]; then
			echo 'method=auto'
		else
			echo 'method=manual'
			echo "address1=$RAM_NET_IP/$RAM_NET_PREFIX${RAM_NET_ROUTER:+,$RAM_NET_ROUTER}"
			ram_nm_dns=
			for ram_nm_server in $RAM_NET_DNS; do
				ram_nm_dns="$ram_nm_dns$ram_nm_server;"
			done
			[ -z "$ram_nm_dns" ] || echo "dns=$ram_nm_dns"
			[ -z "$RAM_NET_SEARCH" ] || echo "dns-search=$RAM_NET_SEARCH;"
		fi
		printf '%s\n' '' '[ipv6]'
		ram_fix_nm_ipv6
	} >"$ram_nm_file"
	ram_nm_status=$?
	umask "$ram_nm_umask"
	[ "$ram_nm_status" -eq 0 ] || ram_die "fixups: cannot write ${ram_nm_file#"$RAM_NEWROOT"}"
	ram_fix_wrote "${ram_nm_file#"$RAM_NEWROOT"}"
}

# The keyfile's [ipv6]: method=auto (SLAAC, and DHCPv6 when the RA asks), dhcp (DHCPv6 alone) or
# the same static address, route and DNS; without an IPv6 setup auto after IPv4 DHCP (as
# NetworkManager's own default), ignore after a static ip= (no address the boot did not ask for).
ram_fix_nm_ipv6() {
	case $RAM_FIX6 in
	auto6) echo 'method=auto' ;;
	dhcp6) echo 'method=dhcp' ;;
	static6)
		echo 'method=manual'
		echo "address1=$RAM_NET6_IP/$RAM_NET6_PREFIX${RAM_NET6_ROUTER:+,$RAM_NET6_ROUTER}"
		# NetworkManager takes only addresses of the section's family here.
		ram_nm_dns=
		for ram_nm_server in $RAM_NET6_DNS; do
			ram_check_ipv6 "$ram_nm_server" && ram_nm_dns="$ram_nm_dns$ram_nm_server;"
		done
		[ -z "$ram_nm_dns" ] || echo "dns=$ram_nm_dns"
		;;
	*)
		if [ "$RAM_NET_HOW" = dhcp ]; then
			echo 'method=auto'
		else
			echo 'method=ignore'
		fi
		;;
	esac
}

# A symlinked resolv.conf belongs to a resolver service (systemd-resolved, resolvconf): kept.
# The IPv6 setup's DNS servers (DHCPv6, static) follow the IPv4 setup's, as in the initrd.
ram_fix_resolv() {
	if { [ -z "$RAM_NET_DNS" ] && [ -z "${RAM_FIX6:+${RAM_NET6_DNS:-}}" ]; } || [ ! -d "$RAM_NEWROOT/etc" ] || [ -h "$RAM_NEWROOT/etc/resolv.conf" ]; then
		return 0
	fi
	{
		[ -z "$RAM_NET_DNS" ] || ram_net_resolv
		[ -z "$RAM_FIX6" ] || [ -z "${RAM_NET6_DNS:-}" ] || ram_net6_resolv_text
	} >"$RAM_NEWROOT/etc/resolv.conf" || ram_die "fixups: cannot write /etc/resolv.conf"
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
# Debian makes them only when the package is installed, so sshd would refuse to start. Units of
# ramboot's own make them, and a drop-in orders sshd (and its `sshd -t`) after the first:
# - ramboot-ssh-host-keys.service makes the ed25519 key (every OpenSSH client since 6.5 takes
#   it). Not an ExecStartPre of sshd: sshd starts after network.target, and this starts at
#   basic.target, alongside the network.
# - ramboot-ssh-idle-host-keys.service makes the ECDSA key, then the RSA key, for clients that
#   take no ed25519 (FIPS mode, OpenSSH before 6.5), at idle priority, and has sshd re-read its
#   keys after each. An RSA key is seconds of CPU (11.6 s of a Debian 12 boot to
#   multi-user.target under QEMU TCG, with the network and sshd waiting behind it), and even an
#   ECDSA key is an ssh-keygen start (1-1.5 s there, most of it loading libcrypto), so it is a
#   simple service: its start does not hold up the boot.
# An sshd_config with HostKey lines of its own may want any kind first: then one unit runs
# `ssh-keygen -A` (every default kind) before sshd, as before the split.
# Under QEMU TCG the boot to multi-user.target is CPU-bound and ends when e2scrub_reap.service, a
# Debian unit at idle CPU priority, gets its turn; so every second of CPU the boot spends is a
# second later there. The ed25519 key is made where a CPU idles instead (ram_fix_ssh_key_early),
# and the idle unit starts after multi-user.target, not beside e2scrub_reap in its CPU class.
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
	ram_fk_units=$RAM_NEWROOT/etc/systemd/system
	ram_fk_file=$ram_fk_units/$ram_fk_unit.d/ramboot-host-keys.conf
	ram_fk_wants=ramboot-ssh-host-keys.service
	mkdir -p "${ram_fk_file%/*}" || ram_die "fixups: cannot create ${ram_fk_file%/*} in the new root"
	if grep -qsiE '^[[:space:]]*HostKey[[:space:]]' "$RAM_NEWROOT/etc/ssh/sshd_config" "$RAM_NEWROOT"/etc/ssh/sshd_config.d/*.conf; then
		ram_fk_kinds='every kind: sshd_config names its HostKey files'
		ram_fk_make='ExecStart=/usr/bin/ssh-keygen -A'
	else
		ram_fk_kinds='ed25519'
		ram_fk_key=/etc/ssh/ssh_host_ed25519_key
		ram_fix_ssh_key_early "$ram_fk_key"
		ram_fk_make="ExecStart=/bin/sh -c '${RAM_FK_WAIT}[ -s $ram_fk_key.pub ] && echo \"ed25519 host key: made in the initrd\" || { rm -f $ram_fk_key $ram_fk_key.pub; ssh-keygen -q -N \"\" -t ed25519 -f $ram_fk_key; }'"
		ram_fk_wants="$ram_fk_wants ramboot-ssh-idle-host-keys.service"
		ram_fk_reload="systemctl --no-block try-reload-or-restart $ram_fk_unit"
		cat >"$ram_fk_units/ramboot-ssh-idle-host-keys.service" <<EOF || ram_die "fixups: cannot write /etc/systemd/system/ramboot-ssh-idle-host-keys.service in the new root"
# Written by ramboot at boot: the ECDSA and RSA host keys, made at idle priority without holding
# up the boot; sshd re-reads its keys as each one lands.
[Unit]
Description=ssh ECDSA and RSA host keys for this boot, at idle priority
After=ramboot-ssh-host-keys.service multi-user.target

[Service]
Type=simple
Nice=19
CPUSchedulingPolicy=idle
IOSchedulingClass=idle
ExecStart=/bin/sh -c '{ [ -e /etc/ssh/ssh_host_ecdsa_key ] || { ssh-keygen -q -N "" -t ecdsa -f /etc/ssh/ssh_host_ecdsa_key && $ram_fk_reload; }; } && { [ -e /etc/ssh/ssh_host_rsa_key ] || { ssh-keygen -q -N "" -t rsa -f /etc/ssh/ssh_host_rsa_key && $ram_fk_reload; }; }'
EOF
	fi
	if ! cat >"$ram_fk_units/ramboot-ssh-host-keys.service" <<EOF || ! cat >"$ram_fk_file" <<EOF2; then
# Written by ramboot at boot: the image has no host keys, so each boot makes its own.
[Unit]
Description=ssh host keys for this boot ($ram_fk_kinds)

[Service]
Type=oneshot
$ram_fk_make
EOF
# Written by ramboot at boot: sshd needs the keys ramboot-ssh-host-keys.service makes.
[Unit]
Wants=$ram_fk_wants
After=ramboot-ssh-host-keys.service
EOF2
		ram_die "fixups: cannot write ${ram_fk_file#"$RAM_NEWROOT"} or /etc/systemd/system/ramboot-ssh-host-keys.service in the new root"
	fi
	for ram_fk_wanted in $ram_fk_wants; do
		ram_fix_wrote "/etc/systemd/system/$ram_fk_wanted"
	done
	ram_fix_wrote "/etc/systemd/system/$ram_fk_unit.d/ramboot-host-keys.conf"
}
