# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# The network stage. ip=dhcp runs busybox udhcpc on every NIC at once and takes the first lease;
# ip=<client>:<server>:<gw>:<netmask>:<host>:<dev>:<autoconf>:<dns0>:<dns1> is the kernel's
# static form (Documentation/admin-guide/nfs/nfsroot.rst). Both end in ram_net_apply, which
# leaves RAM_NET_* for the fixups stage.

# Bounds for polling, in centiseconds; tests shorten them.
RAM_NIC_WAIT_CS=${RAM_NIC_WAIT_CS:-1000}
RAM_LINK_WAIT_CS=${RAM_LINK_WAIT_CS:-1000}
# DHCP DISCOVERs per NIC and seconds between them: a minute covers a switch port still in
# spanning-tree listening/learning (30 s by default).
RAM_DHCP_TRIES=${RAM_DHCP_TRIES:-30}
RAM_DHCP_GAP=${RAM_DHCP_GAP:-2}

ram_stage_net() {
	RAM_NETDIR=$RAM_PREFIX/run/ramboot/net
	RAM_NET_IFACE=
	RAM_NET_HOW=
	mkdir -p "$RAM_NETDIR" || ram_die "cannot create $RAM_NETDIR"
	ram_proxy_env
	# bond= and vlan= (lib/net-bond.sh, lib/net-vlan.sh) first: ip= then runs on what they made.
	ram_net_virtual
	case $RAM_IP in
	off | none) ram_log "net: ip=$RAM_IP, leaving the network alone" ;;
	'' | dhcp | on | any | both | bootp) ram_net_dhcp '' ;;
	# IPv6 and comma lists (dhcp,auto6): lib/net-ipv6.sh.
	auto6 | dhcp6 | *,*) ram_net6_methods "$RAM_IP" '' ;;
	\[*) ram_net6_static ;;
	*:*) ram_net_static ;;
	*) ram_die "net: ip=$RAM_IP is not dhcp, dhcp6, auto6, off or <client>:<server>:<gw>:<netmask>:<host>:<dev>:<autoconf>" ;;
	esac
}

# RAM_NICS = NIC $1, else the NIC whose MAC is BOOTIF= (PXE's 01-aa-bb-cc-dd-ee-ff: ARP type 1,
# Ethernet, then the address), else every NIC with a device behind it (lo, bridges and tunnels
# have none), after waiting a bounded time for a driver that registers its NIC late.
ram_net_wait_nics() {
	# No device named: the bond or VLAN interface, when there is one, before BOOTIF= or any NIC.
	set -- "${1:-${RAM_NET_VIRT:-}}"
	ram_net_bootif "$1"
	ram_now
	ram_nw_end=$((RAM_NOW + RAM_NIC_WAIT_CS))
	while :; do
		RAM_NICS=
		ram_nw_all=
		for ram_nw_dir in "$RAM_PREFIX"/sys/class/net/*; do
			[ -e "$ram_nw_dir" ] || continue
			ram_nw_all="$ram_nw_all ${ram_nw_dir##*/}"
			if [ -n "$1" ]; then
				[ "${ram_nw_dir##*/}" = "$1" ] && RAM_NICS=$1
			elif [ -n "$RAM_NET_MAC" ]; then
				ram_nw_mac=
				read -r ram_nw_mac 2>/dev/null <"$ram_nw_dir/address"
				[ "$ram_nw_mac" = "$RAM_NET_MAC" ] && RAM_NICS=${ram_nw_dir##*/}
			elif [ -e "$ram_nw_dir/device" ]; then
				RAM_NICS="$RAM_NICS${RAM_NICS:+ }${ram_nw_dir##*/}"
			fi
		done
		[ -z "$RAM_NICS" ] || return 0
		ram_now
		[ "$RAM_NOW" -lt "$ram_nw_end" ] || break
		sleep 0.1
	done
	ram_fmt "$RAM_NIC_WAIT_CS"
	[ -z "$RAM_NET_MAC" ] || [ -n "$1" ] ||
		ram_die "net: no network interface has the MAC $RAM_NET_MAC of BOOTIF=$RAM_BOOTIF after ${RAM_FMT}s (there are:${ram_nw_all:- none})"
	ram_die "net: no network interface${1:+ named $1} after ${RAM_FMT}s (there are:${ram_nw_all:- none}; is the NIC's driver in the initrd? ramboot initrd --explain lists them; Mellanox ConnectX needs --hook mellanox)"
}

# RAM_NET_MAC = BOOTIF= as a lowercase aa:bb:cc:dd:ee:ff, when no device was named ($1).
ram_net_bootif() {
	RAM_NET_MAC=
	[ -z "$1" ] && [ -n "${RAM_BOOTIF:-}" ] || return 0
	ram_nb_mac=${RAM_BOOTIF#01-}
	case $ram_nb_mac in
	*[A-F]*) ram_nb_mac=$(printf %s "$ram_nb_mac" | tr A-F a-f) ;;
	esac
	while :; do
		case $ram_nb_mac in
		*-*) ram_nb_mac=${ram_nb_mac%%-*}:${ram_nb_mac#*-} ;;
		*) break ;;
		esac
	done
	case $ram_nb_mac in
	[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]) RAM_NET_MAC=$ram_nb_mac ;;
	*) ram_die "net: BOOTIF=$RAM_BOOTIF is not a MAC address (01-aa-bb-cc-dd-ee-ff, as PXE gives it)" ;;
	esac
}

ram_net_dhcp() {
	ram_net_wait_nics "$1"
	ram_net_race udhcpc "$RAM_NETDIR"
	[ -n "$RAM_LEASE_FILE" ] ||
		ram_die "net: no DHCP lease on $RAM_NICS within $((RAM_DHCP_TRIES * RAM_DHCP_GAP))s (is a DHCP server answering on that network? cable, switch port?)$RAM_NET_SAID"
	ram_read_lease "$RAM_LEASE_FILE"
	RAM_NET_HOW=dhcp
	ram_net_apply
}

# Run DHCP client $1 (udhcpc, or udhcpc6 for lib/net-ipv6.sh) on every NIC at once, with
# lib/udhcpc.sh writing its leases into directory $2: RAM_LEASE_FILE = the first lease, or empty
# once every client has exited (given up, or could not start: udhcpc6 without a link-local
# address leaves at once and runs no script) or the deadline passed. With no lease, RAM_NET_SAID
# holds each client's last line of its own ("; eth0: udhcpc6: ..."), which tells "heard nothing"
# from "could not start". No client may live on into the real root; without -R a killed one
# leaves its lease alone.
ram_net_race() {
	ram_nrc_pids=
	for ram_nrc_nic in $RAM_NICS; do
		RAM_NETDIR=$2 "$1" -f -q -n -t "$RAM_DHCP_TRIES" -T "$RAM_DHCP_GAP" \
			-i "$ram_nrc_nic" -s "$RAM_LIBDIR/udhcpc.sh" >"$2/$ram_nrc_nic.log" 2>&1 &
		ram_nrc_pids="$ram_nrc_pids $!"
	done
	ram_now
	ram_nrc_end=$((RAM_NOW + (RAM_DHCP_TRIES * RAM_DHCP_GAP + 5) * 100))
	RAM_LEASE_FILE=
	while :; do
		# Who is still running is taken before the leases are looked at: a client that writes
		# its lease and exits in between is then still seen.
		ram_nrc_running=
		for ram_nrc_pid in $ram_nrc_pids; do
			! kill -0 "$ram_nrc_pid" 2>/dev/null || ram_nrc_running=1
		done
		for ram_nrc_file in "$2"/*.lease; do
			[ -e "$ram_nrc_file" ] && RAM_LEASE_FILE=$ram_nrc_file && break 2
		done
		[ -n "$ram_nrc_running" ] || break
		ram_now
		[ "$RAM_NOW" -lt "$ram_nrc_end" ] || break
		sleep 0.05
	done
	# shellcheck disable=SC2086 # a list of pids
	kill $ram_nrc_pids 2>/dev/null
	# shellcheck disable=SC2086
	wait $ram_nrc_pids
	RAM_NET_SAID=
	[ -z "$RAM_LEASE_FILE" ] || return 0
	for ram_nrc_nic in $RAM_NICS; do
		ram_nrc_line=
		while IFS= read -r ram_nrc_l; do
			case $ram_nrc_l in
			"$1":*) ram_nrc_line=$ram_nrc_l ;;
			esac
		done <"$2/$ram_nrc_nic.log"
		# From the network's side of the client: printable ASCII only, as any logged value.
		ram_valid ' -~' "$ram_nrc_line" || ram_nrc_line=
		[ -z "$ram_nrc_line" ] || RAM_NET_SAID="$RAM_NET_SAID; $ram_nrc_nic: $ram_nrc_line"
	done
}

# The `key value` lines udhcpc.sh wrote -> RAM_NET_*. Nothing is evaluated: the values came
# from the network and ram_net_apply checks them.
ram_read_lease() {
	RAM_NET_IFACE='' RAM_NET_IP='' RAM_NET_PREFIX='' RAM_NET_ROUTER='' RAM_NET_DNS=''
	RAM_NET_SEARCH='' RAM_NET_HOSTNAME='' RAM_NET_MTU='' RAM_NET_SERVER='' RAM_NET_SERVERID=''
	RAM_NET_BOOTFILE='' RAM_NET_LEASE=''
	while read -r ram_rl_key ram_rl_value; do
		case $ram_rl_key in
		iface) RAM_NET_IFACE=$ram_rl_value ;;
		ip) RAM_NET_IP=$ram_rl_value ;;
		prefix) RAM_NET_PREFIX=$ram_rl_value ;;
		router) RAM_NET_ROUTER=${ram_rl_value%% *} ;;
		dns) RAM_NET_DNS=$ram_rl_value ;;
		search) RAM_NET_SEARCH=$ram_rl_value ;;
		hostname) RAM_NET_HOSTNAME=$ram_rl_value ;;
		mtu) RAM_NET_MTU=$ram_rl_value ;;
		server) RAM_NET_SERVER=$ram_rl_value ;;
		serverid) RAM_NET_SERVERID=$ram_rl_value ;;
		bootfile) RAM_NET_BOOTFILE=$ram_rl_value ;;
		lease) RAM_NET_LEASE=$ram_rl_value ;;
		esac
	done <"$1"
}

ram_net_static() {
	set -f
	ram_ns_ifs=$IFS
	IFS=:
	# shellcheck disable=SC2086 # the kernel's fields are colon-separated
	set -- $RAM_IP
	IFS=$ram_ns_ifs
	set +f
	RAM_NET_IP=$1 RAM_NET_ROUTER=${3:-} RAM_NET_PREFIX=${4:-} RAM_NET_HOSTNAME=${5:-}
	RAM_NET_DNS="${8:-} ${9:-}" RAM_NET_SEARCH='' RAM_NET_MTU='' RAM_NET_HOW=static
	RAM_NET_SERVER=${2:-} RAM_NET_SERVERID='' RAM_NET_BOOTFILE='' RAM_NET_LEASE=''
	ram_ns_dev=${6:-}
	case ${7:-} in
	dhcp | on | any | both | bootp)
		ram_net_dhcp "$ram_ns_dev"
		return 0
		;;
	auto6 | dhcp6)
		ram_net6_methods "$7" "$ram_ns_dev"
		return 0
		;;
	'' | off | none | static) ;;
	*) ram_die "net: ip=$RAM_IP: autoconf '$7' is not off, static, dhcp, dhcp6 or auto6" ;;
	esac
	[ -n "$RAM_NET_IP" ] || ram_die "net: ip=$RAM_IP has no client address and autoconf is off"
	ram_net_wait_nics "$ram_ns_dev"
	RAM_NET_IFACE=${RAM_NICS%% *}
	ram_must "net: $RAM_NET_IFACE: setting the link up" ip link set dev "$RAM_NET_IFACE" up
	ram_net_wait_link
	ram_net_apply
}

# udhcpc waits for the link by retrying; a static setup waits here, bounded.
ram_net_wait_link() {
	ram_now
	ram_wl_end=$((RAM_NOW + RAM_LINK_WAIT_CS))
	while :; do
		ram_wl_carrier=
		read -r ram_wl_carrier 2>/dev/null <"$RAM_PREFIX/sys/class/net/$RAM_NET_IFACE/carrier"
		[ "$ram_wl_carrier" = 1 ] && return 0
		ram_now
		[ "$RAM_NOW" -lt "$ram_wl_end" ] || break
		sleep 0.1
	done
	ram_fmt "$RAM_LINK_WAIT_CS"
	ram_die "net: $RAM_NET_IFACE has no link after ${RAM_FMT}s (cable, switch port?)"
}

# True when $2 is non-empty and made only of the characters in bracket expression $1.
ram_valid() {
	case $2 in
	'' | *[!$1]*) return 1 ;;
	esac
}

# RAM_NET_PREFIX as a prefix length, from a length, a dotted netmask or nothing (then classful,
# as the kernel does for ip=). Called after RAM_NET_IP passed ram_check_ipv4.
ram_net_prefix() {
	case $RAM_NET_PREFIX in
	'')
		ram_np_first=${RAM_NET_IP%%.*}
		if [ "$ram_np_first" -lt 128 ]; then RAM_NET_PREFIX=8; elif [ "$ram_np_first" -lt 192 ]; then RAM_NET_PREFIX=16; else RAM_NET_PREFIX=24; fi
		;;
	*.*)
		ram_check_ipv4 "$RAM_NET_PREFIX" || ram_die "net: $RAM_NET_IFACE: netmask $RAM_NET_PREFIX is not a netmask ($RAM_NET_HOW)"
		ram_np_mask=$RAM_NET_PREFIX
		ram_np_rest=$RAM_NET_PREFIX.
		RAM_NET_PREFIX=0
		# Ones, then zeros: after the first octet below 255 every octet must be 0.
		ram_np_open=1
		while [ -n "$ram_np_rest" ]; do
			ram_np_octet=${ram_np_rest%%.*}
			ram_np_rest=${ram_np_rest#*.}
			[ -n "$ram_np_open" ] || [ "$ram_np_octet" = 0 ] ||
				ram_die "net: $RAM_NET_IFACE: netmask $ram_np_mask is not a netmask ($RAM_NET_HOW)"
			case $ram_np_octet in
			255) RAM_NET_PREFIX=$((RAM_NET_PREFIX + 8)) ;;
			254) RAM_NET_PREFIX=$((RAM_NET_PREFIX + 7)) ;;
			252) RAM_NET_PREFIX=$((RAM_NET_PREFIX + 6)) ;;
			248) RAM_NET_PREFIX=$((RAM_NET_PREFIX + 5)) ;;
			240) RAM_NET_PREFIX=$((RAM_NET_PREFIX + 4)) ;;
			224) RAM_NET_PREFIX=$((RAM_NET_PREFIX + 3)) ;;
			192) RAM_NET_PREFIX=$((RAM_NET_PREFIX + 2)) ;;
			128) RAM_NET_PREFIX=$((RAM_NET_PREFIX + 1)) ;;
			0) ;;
			*) ram_die "net: $RAM_NET_IFACE: netmask $ram_np_mask is not a netmask ($RAM_NET_HOW)" ;;
			esac
			[ "$ram_np_octet" = 255 ] || ram_np_open=
		done
		;;
	*)
		ram_check_uint "$RAM_NET_PREFIX" 32 ||
			ram_die "net: $RAM_NET_IFACE: '$RAM_NET_PREFIX' is neither a netmask nor a prefix length 0..32 ($RAM_NET_HOW)"
		;;
	esac
}

# RAM_NET_DNS = the IPv4 addresses of the list $1, in order; anything else is dropped.
ram_net_dns() {
	RAM_NET_DNS=
	set -f
	# shellcheck disable=SC2086 # a blank-separated list
	set -- $1
	set +f
	for ram_nd_server; do
		ram_check_ipv4 "$ram_nd_server" && RAM_NET_DNS="$RAM_NET_DNS${RAM_NET_DNS:+ }$ram_nd_server"
	done
}

# Configure RAM_NET_IFACE from RAM_NET_* (a lease or the static fields): address, default route,
# the initrd's resolv.conf (busybox wget resolves through it) and the hostname. Addresses are
# dotted quads without leading zeros (ip reads 010.0.0.1 as octal, 8.0.0.1); an optional field
# that is not valid is dropped, a missing address or a bad netmask stops the boot.
ram_net_apply() {
	ram_check_ipv4 "$RAM_NET_IP" ||
		ram_die "net: $RAM_NET_IFACE: '$RAM_NET_IP' is not an IPv4 address ($RAM_NET_HOW)"
	ram_net_prefix
	ram_check_ipv4 "$RAM_NET_ROUTER" || RAM_NET_ROUTER=
	ram_net_dns "$RAM_NET_DNS"
	ram_valid 'A-Za-z0-9. -' "$RAM_NET_SEARCH" || RAM_NET_SEARCH=
	ram_valid 'A-Za-z0-9.-' "$RAM_NET_HOSTNAME" || RAM_NET_HOSTNAME=
	# RFC 791's least MTU to the largest an IPv4 packet can be.
	{ ram_check_uint "$RAM_NET_MTU" 65535 && [ "$RAM_NET_MTU" -ge 68 ]; } || RAM_NET_MTU=
	# The next-server and boot file only ever become part of a URL (relative rooturl=).
	ram_check_ipv4 "$RAM_NET_SERVER" || RAM_NET_SERVER=
	ram_check_ipv4 "$RAM_NET_SERVERID" || RAM_NET_SERVERID=
	ram_valid 'A-Za-z0-9./:_~%+=@-' "$RAM_NET_BOOTFILE" || RAM_NET_BOOTFILE=
	# A leased address carries the lease's lifetime, as a DHCP client in the root would set it:
	# the root's NetworkManager reads a dynamic address as DHCP's and renews the lease, where a
	# permanent one looks static to it and nobody would renew. 0xffffffff means forever.
	if [ "$RAM_NET_HOW" != dhcp ] || ! ram_check_uint "$RAM_NET_LEASE" 4294967294 || [ "$RAM_NET_LEASE" -eq 0 ]; then
		RAM_NET_LEASE=
	fi
	[ -z "$RAM_NET_MTU" ] ||
		ram_must "net: $RAM_NET_IFACE: mtu $RAM_NET_MTU" ip link set dev "$RAM_NET_IFACE" mtu "$RAM_NET_MTU"
	ram_must "net: $RAM_NET_IFACE: adding $RAM_NET_IP/$RAM_NET_PREFIX" \
		ip addr add "$RAM_NET_IP/$RAM_NET_PREFIX" dev "$RAM_NET_IFACE" \
		${RAM_NET_LEASE:+valid_lft "$RAM_NET_LEASE" preferred_lft "$RAM_NET_LEASE"}
	[ -z "$RAM_NET_ROUTER" ] ||
		ram_must "net: $RAM_NET_IFACE: default route via $RAM_NET_ROUTER" \
			ip route add default via "$RAM_NET_ROUTER" dev "$RAM_NET_IFACE"
	[ -z "$RAM_NET_DNS" ] || ram_net_resolv >"$RAM_PREFIX/etc/resolv.conf"
	[ -z "$RAM_NET_HOSTNAME" ] || hostname "$RAM_NET_HOSTNAME"
	ram_json "$RAM_NET_IFACE"
	ram_report net "{\"iface\": $RAM_JSON, \"ip\": \"$RAM_NET_IP/$RAM_NET_PREFIX\", \"how\": \"$RAM_NET_HOW\"}"
	ram_log "net: $RAM_NET_IFACE $RAM_NET_IP/$RAM_NET_PREFIX${RAM_NET_ROUTER:+ via $RAM_NET_ROUTER}${RAM_NET_DNS:+ dns $RAM_NET_DNS}${RAM_NET_HOSTNAME:+ host $RAM_NET_HOSTNAME} ($RAM_NET_HOW)"
}

ram_net_resolv() {
	echo "# Written by ramboot from the $RAM_NET_HOW setup of $RAM_NET_IFACE."
	[ -z "$RAM_NET_SEARCH" ] || echo "search $RAM_NET_SEARCH"
	for ram_nr_server in $RAM_NET_DNS; do
		echo "nameserver $ram_nr_server"
	done
}
