# shellcheck shell=sh disable=SC2034 # RAM_* globals are read by the other lib files
# Compressed swap on zram, zram_size_pct percent of RAM split over zram_devices= devices, set up
# before the switch so it is the first swap: the kernel gives later swaps lower priorities, so a
# disk swap the root adds only takes what zram cannot (busybox swapon has no -p).

ram_stage_zram() {
	if [ "$RAM_ZRAM_SIZE_PCT" -eq 0 ]; then
		ram_log "zram: off (zram_size_pct=0)"
		ram_report zram '"off"'
		return 0
	fi
	ram_zram_count
	ram_zr_sys=$RAM_PREFIX/sys/block
	if [ ! -d "$ram_zr_sys/zram0" ]; then
		ram_must "zram: loading the zram module" modprobe zram "num_devices=$RAM_ZRAM_N"
	fi
	# zram built in or loaded before: add the missing devices through zram-control.
	ram_zr_i=0
	while [ "$ram_zr_i" -lt "$RAM_ZRAM_N" ]; do
		if [ ! -d "$ram_zr_sys/zram$ram_zr_i" ] &&
			! { cat "$RAM_PREFIX/sys/class/zram-control/hot_add" >/dev/null 2>"$RAM_ERR" && [ -d "$ram_zr_sys/zram$ram_zr_i" ]; }; then
			ram_die "zram: cannot add /dev/zram$ram_zr_i (zram_devices=$RAM_ZRAM_DEVICES)"
		fi
		ram_zr_i=$((ram_zr_i + 1))
	done
	ram_zram_algo "$ram_zr_sys/zram0/comp_algorithm"
	ram_meminfo MemTotal
	ram_zr_kb=$((RAM_VALUE * RAM_ZRAM_SIZE_PCT / 100 / RAM_ZRAM_N))
	ram_zr_i=0
	ram_zr_devs=
	while [ "$ram_zr_i" -lt "$RAM_ZRAM_N" ]; do
		ram_zram_device "zram$ram_zr_i" "$ram_zr_kb"
		ram_zr_devs="$ram_zr_devs${ram_zr_devs:+ }/dev/zram$ram_zr_i"
		ram_zr_i=$((ram_zr_i + 1))
	done
	ram_log "zram: $((ram_zr_kb * RAM_ZRAM_N >> 10)) MiB of swap on $ram_zr_devs ($RAM_ZRAM_USED, $RAM_ZRAM_SIZE_PCT% of RAM)"
	ram_report zram "{\"devices\": $RAM_ZRAM_N, \"algorithm\": \"$RAM_ZRAM_USED\", \"kib_each\": $ram_zr_kb}"
}

# RAM_ZRAM_N = how many devices zram_devices= asks for; cores is one per CPU. Since Linux 4.7
# one device already compresses on every CPU at once, so more devices matter mostly on older
# kernels.
ram_zram_count() {
	case $RAM_ZRAM_DEVICES in
	cores)
		RAM_ZRAM_N=0
		while read -r ram_zc_key _; do
			[ "$ram_zc_key" = processor ] && RAM_ZRAM_N=$((RAM_ZRAM_N + 1))
		done <"$RAM_PREFIX/proc/cpuinfo"
		[ "$RAM_ZRAM_N" -gt 0 ] || RAM_ZRAM_N=1
		;;
	[1-9] | [1-9][0-9] | [1-9][0-9][0-9]) RAM_ZRAM_N=$RAM_ZRAM_DEVICES ;;
	*) ram_die "zram_devices=$RAM_ZRAM_DEVICES: not a number of devices (1-999) or cores" ;;
	esac
}

# RAM_ZRAM_USED = the compressor the swap gets. The choices are zram_algo='s values in the
# table's order (RAM_ZRAM_ALGO_VALUES, from /etc/ram.conf), the kernel's own zram default first.
# Left at its default, the first of them the kernel offers is taken without a word: Debian 13's
# 6.12 cloud kernel builds no lzo-rle backend into zram, and a default is no mistake to warn
# about. A zram_algo= given on the command line that the kernel lacks falls back the same way,
# with a warning. The compressor may be a module (lzo-rle is, on Debian 12) or built in, so a
# failed modprobe means nothing; comp_algorithm lists what the kernel can use, the current one in [].
ram_zram_algo() {
	modprobe -q "$RAM_ZRAM_ALGO" 2>/dev/null
	RAM_ZRAM_USED=$RAM_ZRAM_ALGO
	ram_za_list=$(cat "$1" 2>/dev/null)
	case " $ram_za_list " in
	"  " | *" $RAM_ZRAM_ALGO "* | *" [$RAM_ZRAM_ALGO] "*) return 0 ;;
	esac
	for ram_za_algo in $RAM_ZRAM_ALGO_VALUES; do
		[ "$ram_za_algo" != "$RAM_ZRAM_ALGO" ] || continue
		modprobe -q "$ram_za_algo" 2>/dev/null
		ram_za_list=$(cat "$1" 2>/dev/null)
		case " $ram_za_list " in
		*" $ram_za_algo "* | *" [$ram_za_algo] "*)
			RAM_ZRAM_USED=$ram_za_algo
			case " $RAM_PARAM_GIVEN " in
			*" ZRAM_ALGO "*) ram_warn "zram: this kernel has no $RAM_ZRAM_ALGO compressor (zram_algo=; it offers: $ram_za_list); using $ram_za_algo" ;;
			esac
			return 0
			;;
		esac
	done
	ram_die "zram: this kernel offers none of $RAM_ZRAM_ALGO $RAM_ZRAM_ALGO_VALUES for zram (it lists: $ram_za_list)"
}

# Device $1 (zram0, ...): compressor, then size (the order zram requires), header, swapon.
ram_zram_device() {
	echo "$RAM_ZRAM_USED" 2>"$RAM_ERR" >"$ram_zr_sys/$1/comp_algorithm" ||
		ram_die "zram: the kernel has no $RAM_ZRAM_USED compressor (zram_algo=$RAM_ZRAM_ALGO; is its module in the initrd?)"
	echo "${2}K" 2>"$RAM_ERR" >"$ram_zr_sys/$1/disksize" ||
		ram_die "zram: /dev/$1 refused a size of $2 KiB with $RAM_ZRAM_USED (its compressor module missing? see dmesg)"
	ram_zram_swap_header "$1" $(($2 * 1024))
	ram_must "zram: swapon /dev/$1" swapon "$RAM_PREFIX/dev/$1"
}

# The swap header, written directly instead of by mkswap: mkswap reads /dev/urandom for a UUID,
# and before the kernel's random pool is ready (no RDRAND, e.g. QEMU's default CPU) that read
# spends about a second making entropy. The fresh device reads as zeros, so the header is the
# version (1) and last page at byte 1024 and SWAPSPACE2 closing the first page
# (include/linux/swap.h, union swap_header); zram's physical block size is the page size.
# Little-endian always: swapon byte-swaps a header written on the other endianness.
ram_zram_swap_header() {
	read -r ram_sh_page <"$RAM_PREFIX/sys/block/$1/queue/physical_block_size"
	ram_sh_last=$(($2 / ram_sh_page - 1))
	ram_sh_bytes='\001\000\000\000'
	for ram_sh_shift in 0 8 16 24; do
		ram_sh_byte=$((ram_sh_last >> ram_sh_shift & 255))
		ram_sh_bytes="$ram_sh_bytes\\$((ram_sh_byte >> 6))$((ram_sh_byte >> 3 & 7))$((ram_sh_byte & 7))"
	done
	# shellcheck disable=SC2059 # the format is the octal escapes just built
	if ! printf "$ram_sh_bytes" | dd of="$RAM_PREFIX/dev/$1" bs=1024 seek=1 conv=notrunc 2>"$RAM_ERR" ||
		! printf SWAPSPACE2 | dd of="$RAM_PREFIX/dev/$1" bs=1 seek=$((ram_sh_page - 10)) conv=notrunc 2>"$RAM_ERR"; then
		ram_tail "$RAM_ERR"
		ram_die "zram: cannot write the swap header to /dev/$1: $RAM_TAIL"
	fi
}
