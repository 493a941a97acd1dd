# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# IPv6 for the network stage, in dracut's ip= words (dracut.cmdline(7), "ip="):
#   ip=auto6       SLAAC: the kernel forms the address from a router advertisement; we wait for
#                  it to leave duplicate address detection and read it back.
#   ip=dhcp6       DHCPv6 with busybox udhcpc6, when the initrd's busybox has it (Debian 12's
#                  busybox-static 1.35 has not: the boot says so; Debian 13's 1.37 has).
#   ip=dhcp,auto6  a comma list: each method in turn (dual stack: an IPv4 lease, then SLAAC).
#   ip=[addr]:[peer]:[gw]:prefix:host:dev:autoconf:[dns0]:[dns1]  the static form, IPv6
#                  addresses in brackets; autoconf none/off/static, or auto6/dhcp6 on dev.
# Addresses read back from the kernel (formed from an RA) and a DHCPv6 lease came from the
# network: each is checked by ram_check_ipv6 before it reaches ip(8) or resolv.conf. The IPv4
# globals (RAM_NET_*) stay the IPv4 setup's, so fixups never hand an IPv6 address to a v4 keyfile.

# How long a NIC may take to get a router advertisement and finish DAD, in centiseconds.
RAM_RA_WAIT_CS=${RAM_RA_WAIT_CS:-2000}

# True for an IPv6 address in text form: hex groups of at most 4 digits, at most one "::",
# 8 groups without it (7 when the last is a dotted quad), at most 45 characters.
ram_check_ipv6() {
	case $1 in
	'' | *[!0-9A-Fa-f:.]* | *:::* | *::*::* | :[!:]* | *[!:]:) return 1 ;;
	*:*) ;;
	*) return 1 ;;
	esac
	[ "${#1}" -le 45 ] || return 1
	ram_c6_rest=$1:
	ram_c6_groups=0
	while [ -n "$ram_c6_rest" ]; do
		ram_c6_group=${ram_c6_rest%%:*}
		ram_c6_rest=${ram_c6_rest#*:}
		ram_c6_groups=$((ram_c6_groups + 1))
		case $ram_c6_group in
		*.*)
			[ -z "$ram_c6_rest" ] && ram_check_ipv4 "$ram_c6_group" || return 1
			ram_c6_groups=$((ram_c6_groups + 1))
			;;
		?????*) return 1 ;;
		esac
	done
	case $1 in
	*::*) [ "$ram_c6_groups" -le 9 ] ;;
	*) [ "$ram_c6_groups" -eq 8 ] ;;
	esac
}

# RAM_IP6_SHORT = the address $1 (checked by ram_check_ipv6) in the short form ip(8) prints (RFC 5952):
# leading zeros dropped, the longest run of two or more zero groups as "::". udhcpc6 hands over
# every group in full (fd77:0000:0000:0000:0000:0000:0000:01cb). A form with "::" or a dotted
# quad is left as it is.
ram_ipv6_compact() {
	RAM_IP6_SHORT=$1
	case $1 in
	*::* | *.*) return 0 ;;
	esac
	ram_i6c_rest=$1:
	set --
	while [ -n "$ram_i6c_rest" ]; do
		ram_i6c_g=${ram_i6c_rest%%:*}
		ram_i6c_rest=${ram_i6c_rest#*:}
		while :; do
			case $ram_i6c_g in
			0?*) ram_i6c_g=${ram_i6c_g#0} ;;
			*) break ;;
			esac
		done
		set -- "$@" "$ram_i6c_g"
	done
	[ $# -eq 8 ] || return 0
	# The first of the longest runs of "0" groups: ram_i6c_len groups from group ram_i6c_at.
	ram_i6c_i=0 ram_i6c_run=0 ram_i6c_len=1 ram_i6c_at=0
	for ram_i6c_g; do
		ram_i6c_i=$((ram_i6c_i + 1))
		if [ "$ram_i6c_g" = 0 ]; then
			ram_i6c_run=$((ram_i6c_run + 1))
			if [ "$ram_i6c_run" -gt "$ram_i6c_len" ]; then
				ram_i6c_len=$ram_i6c_run
				ram_i6c_at=$((ram_i6c_i - ram_i6c_run + 1))
			fi
		else
			ram_i6c_run=0
		fi
	done
	RAM_IP6_SHORT=
	ram_i6c_i=0
	for ram_i6c_g; do
		ram_i6c_i=$((ram_i6c_i + 1))
		if [ "$ram_i6c_at" -gt 0 ] && [ "$ram_i6c_i" -ge "$ram_i6c_at" ] && [ "$ram_i6c_i" -lt $((ram_i6c_at + ram_i6c_len)) ]; then
			[ "$ram_i6c_i" -ne "$ram_i6c_at" ] || RAM_IP6_SHORT="$RAM_IP6_SHORT::"
			continue
		fi
		case $RAM_IP6_SHORT in
		'' | *::) RAM_IP6_SHORT=$RAM_IP6_SHORT$ram_i6c_g ;;
		*) RAM_IP6_SHORT=$RAM_IP6_SHORT:$ram_i6c_g ;;
		esac
	done
}

# ip=LIST with the device $2 ('' = the NICs ram_net_wait_nics picks): each method in turn.
ram_net6_methods() {
	ram_nm6_list=$1,
	while [ -n "$ram_nm6_list" ]; do
		ram_nm6_word=${ram_nm6_list%%,*}
		ram_nm6_list=${ram_nm6_list#*,}
		case $ram_nm6_word in
		dhcp | on | any | both | bootp) ram_net_dhcp "$2" ;;
		auto6) ram_net6_slaac "$2" ;;
		dhcp6) ram_net6_dhcp "$2" ;;
		*) ram_die "net: ip=$RAM_IP: '$ram_nm6_word' is not dhcp, dhcp6 or auto6" ;;
		esac
	done
}

# Let the kernel do IPv6 on NIC $1 (a sysctl default must not leave it off) and accept router
# advertisements (routes, on-link prefixes), forming SLAAC addresses from them when $2 is 1 (a
# static address alone when 0), then raise the link.
ram_net6_up() {
	ram_n6u_conf=$RAM_PREFIX/proc/sys/net/ipv6/conf/$1
	if [ -d "$ram_n6u_conf" ]; then
		echo 0 >"$ram_n6u_conf/disable_ipv6"
		echo 1 >"$ram_n6u_conf/accept_ra"
		echo "$2" >"$ram_n6u_conf/autoconf"
	fi
	ram_must "net: $1: setting the link up" ip link set dev "$1" up
}

# RAM_NET6_IP/RAM_NET6_PREFIX = the first global IPv6 address on NIC $1 that has passed DAD
# (not tentative), checked; false while there is none.
ram_net6_read_addr() {
	RAM_NET6_IP='' RAM_NET6_PREFIX=''
	ip -6 addr show dev "$1" >"$RAM_NETDIR/$1.addr6" 2>/dev/null || return 1
	while read -r ram_n6r_word ram_n6r_addr ram_n6r_rest; do
		[ "$ram_n6r_word" = inet6 ] || continue
		case " $ram_n6r_rest " in
		*" scope global "*) ;;
		*) continue ;;
		esac
		case " $ram_n6r_rest " in
		*" tentative "* | *" dadfailed "*) continue ;;
		esac
		ram_check_ipv6 "${ram_n6r_addr%/*}" || continue
		ram_check_uint "${ram_n6r_addr#*/}" 128 || continue
		RAM_NET6_IP=${ram_n6r_addr%/*}
		RAM_NET6_PREFIX=${ram_n6r_addr#*/}
		return 0
	done <"$RAM_NETDIR/$1.addr6"
	return 1
}

# Poll the NICs $RAM_NICS until one has a usable global address; RAM_NET6_IFACE = that NIC.
ram_net6_wait_addr() {
	ram_now
	ram_n6w_end=$((RAM_NOW + RAM_RA_WAIT_CS))
	while :; do
		for ram_n6w_nic in $RAM_NICS; do
			ram_net6_read_addr "$ram_n6w_nic" && RAM_NET6_IFACE=$ram_n6w_nic && return 0
		done
		ram_now
		[ "$RAM_NOW" -lt "$ram_n6w_end" ] || return 1
		sleep 0.1
	done
}

# An address we added is tentative until duplicate address detection ends (about a second), and
# a connection from it fails before: wait, bounded, until no address on RAM_NET6_IFACE is.
ram_net6_wait_dad() {
	ram_now
	ram_n6a_end=$((RAM_NOW + RAM_RA_WAIT_CS))
	while :; do
		ram_n6a_busy=
		if ip -6 addr show dev "$RAM_NET6_IFACE" >"$RAM_NETDIR/$RAM_NET6_IFACE.addr6" 2>/dev/null; then
			while read -r ram_n6a_word ram_n6a_addr ram_n6a_rest; do
				[ "$ram_n6a_word" = inet6 ] || continue
				case " $ram_n6a_rest " in
				*" dadfailed "*) ram_die "net: $RAM_NET6_IFACE: ${ram_n6a_addr%/*} is already in use on the network: duplicate address detection failed ($1)" ;;
				*" tentative "*) ram_n6a_busy=1 ;;
				esac
			done <"$RAM_NETDIR/$RAM_NET6_IFACE.addr6"
		fi
		[ -n "$ram_n6a_busy" ] || return 0
		ram_now
		[ "$RAM_NOW" -lt "$ram_n6a_end" ] || break
		sleep 0.1
	done
	ram_fmt "$RAM_RA_WAIT_CS"
	ram_die "net: $RAM_NET6_IFACE: $RAM_NET6_IP still tentative (duplicate address detection) after ${RAM_FMT}s ($1)"
}

# udhcpc6 sends from the NIC's link-local address and gives up at once when it has none yet
# (busybox 1.37: "can't get link-local IPv6 address", with no leasefail event): the kernel adds
# it only once the link has carrier, and it stays tentative for DAD's second. RAM_NICS = the
# NICs of RAM_NICS that have a usable one, waited for (bounded) until at least one has.
ram_net6_wait_linklocal() {
	ram_now
	ram_n6l_end=$((RAM_NOW + RAM_RA_WAIT_CS))
	while :; do
		ram_n6l_ready=
		for ram_n6l_nic in $RAM_NICS; do
			ip -6 addr show dev "$ram_n6l_nic" >"$RAM_NETDIR/$ram_n6l_nic.addr6" 2>/dev/null || continue
			while read -r ram_n6l_word ram_n6l_addr ram_n6l_rest; do
				[ "$ram_n6l_word" = inet6 ] || continue
				case "$ram_n6l_addr $ram_n6l_rest " in
				*" tentative "* | *" dadfailed "*) ;;
				fe80:*" scope link "*)
					ram_n6l_ready="$ram_n6l_ready${ram_n6l_ready:+ }$ram_n6l_nic"
					break
					;;
				esac
			done <"$RAM_NETDIR/$ram_n6l_nic.addr6"
		done
		# Every NIC ready, or some once the wait is over.
		[ "$ram_n6l_ready" != "$RAM_NICS" ] || break
		ram_now
		[ "$RAM_NOW" -lt "$ram_n6l_end" ] || break
		sleep 0.1
	done
	ram_fmt "$RAM_RA_WAIT_CS"
	[ -n "$ram_n6l_ready" ] ||
		ram_die "net: no IPv6 link-local address on $RAM_NICS after ${RAM_FMT}s, which DHCPv6 sends from (no carrier? IPv6 disabled, ipv6.disable=1?)"
	RAM_NICS=$ram_n6l_ready
}

ram_net6_slaac() {
	RAM_NET6_ROUTER='' RAM_NET6_DNS=''
	ram_net_wait_nics "$1"
	for ram_n6s_nic in $RAM_NICS; do
		ram_net6_up "$ram_n6s_nic" 1
	done
	ram_fmt "$RAM_RA_WAIT_CS"
	ram_net6_wait_addr ||
		ram_die "net: no IPv6 address from a router advertisement on $RAM_NICS within ${RAM_FMT}s (does a router send RAs with an autonomous prefix? ip=auto6)"
	ram_net6_done auto6
}

# RAM_NET6_HOW = auto6, dhcp6 or static6: how lib/fixups.sh hands the NIC's IPv6 to the root.
ram_net6_done() {
	RAM_NET6_HOW=$1
	ram_json "$RAM_NET6_IFACE"
	ram_report net6 "{\"iface\": $RAM_JSON, \"ip\": \"$RAM_NET6_IP/$RAM_NET6_PREFIX\", \"how\": \"$1\"}"
	ram_log "net: $RAM_NET6_IFACE $RAM_NET6_IP/$RAM_NET6_PREFIX${RAM_NET6_ROUTER:+ via $RAM_NET6_ROUTER}${RAM_NET6_DNS:+ dns $RAM_NET6_DNS} ($1)"
}

# DHCPv6: one udhcpc6 per NIC, the first lease wins (ram_net_race, as for IPv4). udhcpc6
# runs lib/udhcpc.sh too; its leases go to their own directory so an IPv4 run's files of the
# same NIC do not count.
ram_net6_dhcp() {
	command -v udhcpc6 >/dev/null 2>&1 ||
		ram_die "net: ip=dhcp6 needs busybox's udhcpc6, which this initrd's busybox lacks (Debian 12's busybox-static has none): use ip=auto6 (SLAAC), or build with --busybox FILE naming one that has it, such as Debian 13's busybox-static (README \"IPv6\")"
	RAM_NET6_ROUTER=''
	ram_net_wait_nics "$1"
	ram_n6d_dir=$RAM_NETDIR/dhcp6
	mkdir -p "$ram_n6d_dir" || ram_die "cannot create $ram_n6d_dir"
	for ram_n6d_nic in $RAM_NICS; do
		ram_net6_up "$ram_n6d_nic" 1
	done
	ram_net6_wait_linklocal
	ram_net_race udhcpc6 "$ram_n6d_dir"
	ram_n6d_lease=$RAM_LEASE_FILE
	[ -n "$ram_n6d_lease" ] ||
		ram_die "net: no DHCPv6 lease on $RAM_NICS within $((RAM_DHCP_TRIES * RAM_DHCP_GAP))s (is a DHCPv6 server answering? routers must send RAs with the M flag)$RAM_NET_SAID"
	RAM_NET6_IFACE='' RAM_NET6_IP='' RAM_NET6_DNS='' RAM_NET6_SEARCH='' ram_n6d_lft=''
	while read -r ram_n6d_key ram_n6d_value; do
		case $ram_n6d_key in
		iface) RAM_NET6_IFACE=$ram_n6d_value ;;
		ipv6) RAM_NET6_IP=$ram_n6d_value ;;
		lease) ram_n6d_lft=$ram_n6d_value ;;
		dns) RAM_NET6_DNS=$ram_n6d_value ;;
		search) RAM_NET6_SEARCH=$ram_n6d_value ;;
		esac
	done <"$ram_n6d_lease"
	ram_check_ipv6 "$RAM_NET6_IP" ||
		ram_die "net: $RAM_NET6_IFACE: DHCPv6 address '$RAM_NET6_IP' is not an IPv6 address (dhcp6)"
	ram_ipv6_compact "$RAM_NET6_IP"
	RAM_NET6_IP=$RAM_IP6_SHORT
	# A DHCPv6 address comes without a prefix length: the on-link prefix is the router
	# advertisement's business (RFC 8415 section 21.6), so the address alone is /128.
	RAM_NET6_PREFIX=128
	# The lease's lifetime (udhcpc6's lease=, the address's valid lifetime), as for an IPv4 lease
	# (lib/net.sh): the root's network manager then sees a DHCP address to renew, not a static one.
	{ ram_check_uint "$ram_n6d_lft" 4294967294 && [ "$ram_n6d_lft" -gt 0 ]; } || ram_n6d_lft=
	ram_must "net: $RAM_NET6_IFACE: adding $RAM_NET6_IP/128" ip -6 addr add "$RAM_NET6_IP/128" dev "$RAM_NET6_IFACE" \
		${ram_n6d_lft:+valid_lft "$ram_n6d_lft" preferred_lft "$ram_n6d_lft"}
	ram_net6_dns "$RAM_NET6_DNS"
	ram_net6_resolv
	RAM_NICS=$RAM_NET6_IFACE
	ram_net6_wait_dad dhcp6
	ram_net6_done dhcp6
}

# RAM_NET6_DNS = the IPv6 and IPv4 addresses of the list $1; anything else is dropped.
ram_net6_dns() {
	RAM_NET6_DNS=
	set -f
	# shellcheck disable=SC2086 # a blank-separated list
	set -- $1
	set +f
	for ram_n6n_server; do
		if ram_check_ipv6 "$ram_n6n_server"; then
			ram_ipv6_compact "$ram_n6n_server"
			ram_n6n_server=$RAM_IP6_SHORT
		else
			ram_check_ipv4 "$ram_n6n_server" || continue
		fi
		RAM_NET6_DNS="$RAM_NET6_DNS${RAM_NET6_DNS:+ }$ram_n6n_server"
	done
	ram_valid 'A-Za-z0-9. -' "${RAM_NET6_SEARCH:-}" || RAM_NET6_SEARCH=
}

# The IPv6 DNS servers go after any the IPv4 setup wrote (dual stack keeps both).
ram_net6_resolv() {
	[ -n "$RAM_NET6_DNS" ] || return 0
	ram_net6_resolv_text >>"$RAM_PREFIX/etc/resolv.conf"
}

# The resolv.conf lines of the IPv6 setup, to follow the IPv4 setup's (ram_net_resolv) if any;
# lib/fixups.sh writes the same into the new root.
ram_net6_resolv_text() {
	[ -n "${RAM_NET_DNS:-}" ] || echo "# Written by ramboot from the IPv6 setup of $RAM_NET6_IFACE."
	[ -z "${RAM_NET6_SEARCH:-}" ] || [ -n "${RAM_NET_SEARCH:-}" ] || echo "search $RAM_NET6_SEARCH"
	for ram_n6r_server in $RAM_NET6_DNS; do
		echo "nameserver $ram_n6r_server"
	done
}

# RAM_N6_F1..RAM_N6_F9 = the colon-separated fields of $1, where a field in brackets may hold
# colons (an IPv6 address); the brackets are dropped.
ram_net6_fields() {
	ram_n6f_rest=$1
	for ram_n6f_i in 1 2 3 4 5 6 7 8 9; do
		case $ram_n6f_rest in
		\[*)
			ram_n6f_rest=${ram_n6f_rest#\[}
			case $ram_n6f_rest in
			*\]*) ;;
			*) ram_die "net: ip=$RAM_IP: a '[' without its ']'" ;;
			esac
			ram_n6f_field=${ram_n6f_rest%%\]*}
			ram_n6f_rest=${ram_n6f_rest#*\]}
			case $ram_n6f_rest in
			'') ;;
			:*) ram_n6f_rest=${ram_n6f_rest#:} ;;
			*) ram_die "net: ip=$RAM_IP: ']' must end a field (then ':')" ;;
			esac
			;;
		*:*)
			ram_n6f_field=${ram_n6f_rest%%:*}
			ram_n6f_rest=${ram_n6f_rest#*:}
			;;
		*)
			ram_n6f_field=$ram_n6f_rest
			ram_n6f_rest=
			;;
		esac
		case $ram_n6f_i in
		1) RAM_N6_F1=$ram_n6f_field ;;
		2) RAM_N6_F2=$ram_n6f_field ;;
		3) RAM_N6_F3=$ram_n6f_field ;;
		4) RAM_N6_F4=$ram_n6f_field ;;
		5) RAM_N6_F5=$ram_n6f_field ;;
		6) RAM_N6_F6=$ram_n6f_field ;;
		7) RAM_N6_F7=$ram_n6f_field ;;
		8) RAM_N6_F8=$ram_n6f_field ;;
		9) RAM_N6_F9=$ram_n6f_field ;;
		esac
	done
	[ -z "$ram_n6f_rest" ] || ram_die "net: ip=$RAM_IP has more than 9 fields"
}

# ip=[client]:[server]:[gw]:prefix:host:dev:autoconf:[dns0]:[dns1]
ram_net6_static() {
	ram_net6_fields "$RAM_IP"
	ram_n6t_dev=$RAM_N6_F6
	case $RAM_N6_F7 in
	auto6 | dhcp6 | dhcp | on | any) ram_net6_methods "$RAM_N6_F7" "$ram_n6t_dev" && return 0 ;;
	'' | none | off | static) ;;
	*) ram_die "net: ip=$RAM_IP: autoconf '$RAM_N6_F7' is not none, static, auto6 or dhcp6" ;;
	esac
	ram_check_ipv6 "$RAM_N6_F1" || ram_die "net: ip=$RAM_IP: client '$RAM_N6_F1' is not an IPv6 address in [brackets]"
	RAM_NET6_IP=$RAM_N6_F1
	RAM_NET6_PREFIX=${RAM_N6_F4:-64}
	ram_check_uint "$RAM_NET6_PREFIX" 128 || ram_die "net: ip=$RAM_IP: '$RAM_N6_F4' is not a prefix length 0..128"
	RAM_NET6_ROUTER=
	if [ -n "$RAM_N6_F3" ]; then
		ram_check_ipv6 "$RAM_N6_F3" || ram_die "net: ip=$RAM_IP: gateway '$RAM_N6_F3' is not an IPv6 address"
		RAM_NET6_ROUTER=$RAM_N6_F3
	fi
	ram_valid 'A-Za-z0-9.-' "$RAM_N6_F5" && hostname "$RAM_N6_F5"
	RAM_NET6_SEARCH=
	ram_net6_dns "$RAM_N6_F8 $RAM_N6_F9"
	ram_net_wait_nics "$ram_n6t_dev"
	RAM_NET6_IFACE=${RAM_NICS%% *}
	RAM_NICS=$RAM_NET6_IFACE
	ram_net6_up "$RAM_NET6_IFACE" 0
	ram_n6t_v4=${RAM_NET_IFACE:-}
	RAM_NET_IFACE=$RAM_NET6_IFACE
	ram_net_wait_link
	RAM_NET_IFACE=$ram_n6t_v4
	ram_must "net: $RAM_NET6_IFACE: adding $RAM_NET6_IP/$RAM_NET6_PREFIX" \
		ip -6 addr add "$RAM_NET6_IP/$RAM_NET6_PREFIX" dev "$RAM_NET6_IFACE"
	[ -z "$RAM_NET6_ROUTER" ] ||
		ram_must "net: $RAM_NET6_IFACE: default route via $RAM_NET6_ROUTER" \
			ip -6 route add default via "$RAM_NET6_ROUTER" dev "$RAM_NET6_IFACE"
	ram_net6_resolv
	ram_net6_wait_dad static6
	ram_net6_done static6
}
